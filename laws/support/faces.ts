/**
 * Runners for the face laws: every way the package can encode one module,
 * with the chunk boundaries of the item stream and of the text drawn as
 * parameters, and plain comparisons of their outcomes.
 */
import { Readable } from "node:stream";
import { Chunk, Effect, Either as EffectEither, Stream } from "effect";
import * as E from "fp-ts/lib/Either.js";
import { pipe } from "fp-ts/lib/function.js";
import { begin, decodeModule, encode, encodeAsync, encodeText, finish, type Item, type Module, ModuleCodec, type ObjfoldError, parseModule, step, stepAll, stringifyModule } from "../../src/index.js";
import { decodeTextSource, encodeEffect, encodeSink, encodeTextStream } from "../../src/effect.js";
import { encodeChunks, encodeLines } from "../../src/cli/encodeStream.js";
import { type ObjectPlan, objectParts } from "../../src/elf/object.js";

/** A face's outcome, reduced to what the laws compare. */
export type Outcome = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly error: ObjfoldError };

const fromFp = (r: E.Either<ObjfoldError, Uint8Array>): Outcome => (E.isRight(r) ? { ok: true, bytes: r.right } : { ok: false, error: r.left });
const fromEffect = (r: EffectEither.Either<Uint8Array, ObjfoldError>): Outcome => (EffectEither.isRight(r) ? { ok: true, bytes: r.right } : { ok: false, error: r.left });

/** What the CLI writes: the plan's object in parts of about `window` bytes, joined. */
export const partsJoined = (plan: ObjectPlan, window: number): Uint8Array => Buffer.concat([...objectParts(plan, window)]);
const fromPlan = (r: EffectEither.Either<ObjectPlan, ObjfoldError>, window: number): Outcome => fromEffect(EffectEither.map(r, (p) => partsJoined(p, window)));

/** Cut points (any naturals) → sorted distinct positions inside [0, n]. */
const positions = (n: number, cuts: ReadonlyArray<number>): number[] => [...new Set(cuts.map((c) => c % (n + 1)))].sort((a, b) => a - b);

/** Split an array into consecutive pieces at the cuts (empty pieces allowed: a stream may emit empty chunks). */
export const pieces = <A>(xs: ReadonlyArray<A>, cuts: ReadonlyArray<number>): A[][] => {
  const out: A[][] = [];
  let from = 0;
  for (const p of positions(xs.length, cuts)) {
    out.push(xs.slice(from, p));
    from = p;
  }
  out.push(xs.slice(from));
  return out;
};

/** Split text at the cuts (may split a `\r\n` or a surrogate pair). */
export const textPieces = (s: string, cuts: ReadonlyArray<number>): string[] => {
  const out: string[] = [];
  let from = 0;
  for (const p of positions(s.length, cuts)) {
    out.push(s.slice(from, p));
    from = p;
  }
  out.push(s.slice(from));
  return out;
};

/** Split UTF-8 bytes at the cuts (may split a multi-byte character). */
export const bytePieces = (b: Uint8Array, cuts: ReadonlyArray<number>): Uint8Array[] => {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of positions(b.length, cuts)) {
    out.push(b.subarray(from, p));
    from = p;
  }
  out.push(b.subarray(from));
  return out;
};

async function* slowly<A>(chunks: ReadonlyArray<ReadonlyArray<A>>): AsyncGenerator<A> {
  for (const c of chunks) {
    await new Promise<void>((r) => setImmediate(r));
    yield* c;
  }
}

/** Where to cut the item stream and the text. */
export interface Cuts {
  readonly items: ReadonlyArray<number>;
  readonly text: ReadonlyArray<number>;
}

/** Every face, by name. Text faces read `stringifyModule(m)` cut at `cuts.text`. */
export const faces = async (m: Module, cuts: Cuts, opts: { readonly text?: boolean } = {}): Promise<Record<string, Outcome>> => {
  const itemChunks = pieces(m.items, cuts.items);
  const out: Record<string, Outcome> = {};
  out["fp-ts encode"] = fromFp(encode(m));
  out["fp-ts pipe(step…)"] = fromFp(pipe(m.items.reduce((s, i: Item) => step(i)(s), begin(m.header)), finish));
  out["fp-ts stepAll"] = fromFp(pipe(begin(m.header), stepAll(m.items), finish));
  out["io-ts codec"] = fromFp(pipe(ModuleCodec.decode(ModuleCodec.encode(m)), E.mapLeft(() => ({ _tag: "DecodeError", issues: [] }) as ObjfoldError), E.flatMap(encode)));
  out["decodeModule"] = fromFp(pipe(decodeModule(ModuleCodec.encode(m)), E.flatMap(encode)));
  out["Effect encodeEffect"] = fromEffect(Effect.runSync(Effect.either(encodeEffect(m))));
  out["Effect Sink"] = fromEffect(
    await Effect.runPromise(Effect.either(Stream.run(Stream.fromChunks(...itemChunks.map((c) => Chunk.fromIterable(c))), encodeSink(m.header)))),
  );
  out["encodeAsync"] = fromFp(await encodeAsync({ header: m.header, items: slowly(itemChunks) }));
  if (opts.text !== false) {
    const text = stringifyModule(m);
    const bytes = new TextEncoder().encode(text);
    const strings = textPieces(text, cuts.text);
    const buffers = bytePieces(bytes, cuts.text).map((b) => Buffer.from(b));
    out["parseModule+encode"] = fromFp(pipe(parseModule(text), E.flatMap(encode)));
    // The CLI writes the object in parts: small windows here, drawn from the cuts, so a module has many.
    const window = 1 + ((cuts.text[0] ?? 0) % 256);
    out["CLI (encodeChunks over bytes, parts)"] = fromPlan((await encodeChunks(Readable.from(buffers))).result, window);
    out["line fold (encodeLines, parts)"] = fromPlan((await encodeLines(Readable.from(text.split("\n")))).result, 1 << 20);
    out["Effect text stream"] = fromEffect(await Effect.runPromise(Effect.either(encodeTextStream(Stream.fromIterable(strings)))));
    out["Effect text stream (bytes)"] = fromEffect(await Effect.runPromise(Effect.either(encodeTextStream(Stream.fromIterable(buffers)))));
    out["Effect decodeTextSource+Sink"] = fromEffect(
      await Effect.runPromise(
        Effect.either(Effect.scoped(Effect.flatMap(decodeTextSource(Stream.fromIterable(strings)), ({ header, items }) => Stream.run(items, encodeSink(header))))),
      ),
    );
    out["Node encodeText (Buffers)"] = fromFp(await encodeText(Readable.from(buffers)));
    out["Node encodeText (strings)"] = fromFp(await encodeText(strings));
  }
  return out;
};

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Names of the faces whose outcome differs from the first face's (bytes, or error tag and item). */
export const disagreeing = (outcomes: Record<string, Outcome>): string[] => {
  const entries = Object.entries(outcomes);
  const [, first] = entries[0]!;
  return entries
    .filter(([, o]) => {
      if (o.ok !== first.ok) return true;
      if (o.ok && first.ok) return !sameBytes(o.bytes, first.bytes);
      if (!o.ok && !first.ok) return o.error._tag !== first.error._tag || ("item" in o.error ? o.error.item : -1) !== ("item" in first.error ? first.error.item : -1);
      return false;
    })
    .map(([k, o]) => `${k}: ${o.ok ? `${o.bytes.length} bytes` : JSON.stringify(o.error).slice(0, 200)}`);
};
