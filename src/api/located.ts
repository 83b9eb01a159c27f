/**
 * Errors with their input line, for the faces that know where an item came
 * from (JSON Lines text, or a module from `parseModule`).
 *
 * Encoding errors carry `item`, the 0-based item index (errors.ts). A face
 * that read the items from lines adds `line`, the 1-based input line of
 * that item (of the header, for `UnsupportedTarget`). The value stays the
 * same plain tagged object with one more field, so `_tag` matching,
 * `Effect.catchTag` and `describe` work on it unchanged.
 */
import { Either } from "effect";
import { encodeModule } from "../encode.js";
import { describe, type DecodeIssue, errorItem, type ObjfoldError } from "../errors.js";
import type { LinedModule } from "../schema/decode.js";
import type { Module } from "../schema/records.js";

/** The error of a decoder: every problem found, each with its line (for text) and field path. */
export type DecodeError = Extract<ObjfoldError, { readonly _tag: "DecodeError" }>;

/** The error with tag `T`. */
export type ErrorOf<T extends ObjfoldError["_tag"]> = Extract<ObjfoldError, { readonly _tag: T }>;

/**
 * An error that may know the input line it is about. `line` is absent for
 * `DecodeError` (its issues carry their own lines) and for errors that name
 * no item (`TextTooLarge`).
 */
export type Located<E extends ObjfoldError = ObjfoldError> = E & { readonly line?: number };

/** Where items came from: item `i` was on line `lineOfItem(i)`; the header on `headerLine`. */
export interface LineMap {
  readonly lineOfItem: (item: number) => number | undefined;
  readonly headerLine: number | undefined;
}

/** Add the input line to an encoding error, where the map knows it. */
export const locate = (e: ObjfoldError, lines: LineMap): Located => {
  if (e._tag === "DecodeError") return e;
  const line = e._tag === "UnsupportedTarget" ? lines.headerLine : (() => {
    const item = errorItem(e);
    return item === undefined ? undefined : lines.lineOfItem(item);
  })();
  return line === undefined ? e : { ...e, line };
};

/** `locate` over an Effect `Either` (the faces convert afterwards). */
export const locateEither = <A>(r: Either.Either<A, ObjfoldError>, lines: LineMap): Either.Either<A, Located> =>
  Either.isLeft(r) ? Either.left(locate(r.left, lines)) : Either.right(r.right);

/**
 * The line map of a module decoded from JSON Lines text (`LinedModule`). It
 * records item lines only; the header is the first non-blank line, whose
 * number it does not keep, so `UnsupportedTarget` stays without a line.
 */
export const lineMapOf = (lines: ReadonlyArray<number>): LineMap => ({ lineOfItem: (i) => lines[i], headerLine: undefined });

const issueLine = (i: DecodeIssue): string =>
  `${i.line !== undefined ? `line ${i.line}: ` : ""}${i.path.length > 0 ? i.path.join(".") + ": " : ""}${i.message}`;

/**
 * Render an error as lines of text, one per problem, each prefixed with its
 * input line where known (the same shape as the CLI's messages, without the
 * `objfold: ` prefix).
 *
 * @example report({ _tag: "DuplicateName", item: 3, name: "f", firstItem: 0, line: 5 })
 *          // ["line 5: duplicate function name \"f\" (first defined by item 0)"]
 */
export const report = (e: Located): ReadonlyArray<string> => {
  if (e._tag === "DecodeError") return e.issues.map(issueLine);
  return [`${e.line !== undefined ? `line ${e.line}: ` : ""}${describe(e)}`];
};

/**
 * The decoders only ever fail with `DecodeError`; the core types say
 * `ObjfoldError`. Anything else is a defect, not a user error.
 */
export const asDecodeError = (e: ObjfoldError): DecodeError => {
  if (e._tag !== "DecodeError") throw new Error(`objfold defect: a decoder failed with ${e._tag}`);
  return e;
};

/**
 * Encode a module; when it came from `parseModule` (a `LinedModule`, which
 * keeps the line of every item), the error carries that line too.
 */
export const encodeLocated = (m: Module | LinedModule): Either.Either<Uint8Array, Located> => {
  const r = encodeModule(m);
  return "lines" in m ? locateEither(r, lineMapOf(m.lines)) : r;
};
