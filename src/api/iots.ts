/**
 * io-ts codecs derived from the Effect schemas (schema/records.ts stays the
 * one source of truth): `validate` runs the schema's decoder, `encode` its
 * encoder, `is` its type guard. Schema issues become io-ts `ValidationError`s
 * whose context walks the issue's field path, so io-ts tooling
 * (`PathReporter`, `fold` over `Errors`) works on them.
 */
import { Either, ParseResult, Schema as S } from "effect";
import * as t from "io-ts";
import { issuesOf } from "../schema/decode.js";
import { Header, type HeaderJson, Item, type ItemJson, Module, type ModuleJson } from "../schema/records.js";
import { fromEffectEither } from "./fpts.js";

/** The value at `path` inside `u`, or undefined where the path leaves the value. */
const valueAt = (u: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let v = u;
  for (const k of path) {
    if (typeof v !== "object" || v === null || !(k in v)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
};

/** Issues as objfold's decoders word them (one place renders schema errors: `issuesOf`). */
const toErrors = (e: ParseResult.ParseError, input: unknown, context: t.Context): t.Errors =>
  issuesOf(e, undefined).map((issue): t.ValidationError => {
    const path = issue.path;
    const entries: t.ContextEntry[] = path.map((k, i) => ({ key: String(k), type: t.unknown, actual: valueAt(input, path.slice(0, i + 1)) }));
    return {
      value: valueAt(input, path),
      context: [...context, ...entries],
      message: `${path.length > 0 ? path.map(String).join(".") + ": " : ""}${issue.message}`,
    };
  });

/**
 * An io-ts `Type` for an Effect schema without requirements. Decoding
 * reports every issue and refuses excess properties, as `decodeModule` does.
 *
 * @example
 * const HeaderCodec = codecFromSchema(Header, "objfold.Header");
 * HeaderCodec.decode({ format: "objfold/v1", target: "pulley64" }); // right({ ..., forceVeneers: false, symbols: true })
 */
export const codecFromSchema = <A, I>(schema: S.Schema<A, I, never>, name: string): t.Type<A, I, unknown> => {
  const decode = S.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" });
  const encode = S.encodeSync(schema);
  const is = S.is(schema);
  return new t.Type<A, I, unknown>(
    name,
    (u): u is A => is(u),
    (u, context) => fromEffectEither(Either.mapLeft(decode(u), (e) => toErrors(e, u, context))),
    (a) => encode(a),
  );
};

/** io-ts codec of a whole module `{ header, items }` (bodies as base64 in JSON, `Uint8Array` decoded). */
export const ModuleCodec: t.Type<Module, ModuleJson, unknown> = codecFromSchema(Module, "objfold.Module");
/** io-ts codec of a header line's value. */
export const HeaderCodec: t.Type<Header, HeaderJson, unknown> = codecFromSchema(Header, "objfold.Header");
/** io-ts codec of an item line's value (function or padding). */
export const ItemCodec: t.Type<Item, ItemJson, unknown> = codecFromSchema(Item, "objfold.Item");
