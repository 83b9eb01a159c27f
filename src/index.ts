/**
 * objfold, the package root: decode a module (JSON Lines text or a JSON
 * value), encode it into an ELF object, or fold items in one at a time.
 * Results are fp-ts `Either<E, A>` values; the Effect face is
 * `objfold/effect`, the fast-check arbitraries are `objfold/arbitrary`.
 * docs/guide-fp-ts.md and docs/guide-node.md show each function at work
 * (their examples run in the test suite).
 *
 * @example
 * import { pipe } from "fp-ts/lib/function.js";
 * import * as E from "fp-ts/lib/Either.js";
 * import { encode, parseModule, report } from "objfold";
 *
 * const object = pipe(parseModule(text), E.flatMap(encode));
 * if (E.isLeft(object)) console.error(report(object.left).join("\n"));
 */
import { Either } from "effect";
import { dual } from "effect/Function";
import type * as FE from "fp-ts/lib/Either.js";
import { finishBytes } from "./encode.js";
import type { ObjfoldError } from "./errors.js";
import * as fold from "./layout/fold.js";
import { asDecodeError, type DecodeError, encodeLocated, type Located } from "./api/located.js";
import { fromEffectEither } from "./api/fpts.js";
import * as decode from "./schema/decode.js";
import type { LinedModule } from "./schema/decode.js";
import type { Header, Item, Module } from "./schema/records.js";

// ------------------------------------------------------------------ types

export type {
  CallRelocation,
  CallRelocationKind,
  CfaInstruction,
  CfaOp,
  FunctionItem,
  Header,
  HeaderJson,
  HostCallRelocation,
  Item,
  ItemJson,
  Module,
  ModuleJson,
  PaddingItem,
  Relocation,
  RelocationKind,
  SystemVUnwind,
  Unwind,
  WindowsArm64Unwind,
  WindowsX64Unwind,
  WinArm64Code,
  WinX64Code,
} from "./schema/records.js";
export type { LinedModule } from "./schema/decode.js";
export type { DecodeIssue, ObjfoldError, ObjfoldErrorTag } from "./errors.js";
export type { DecodeError, ErrorOf, Located } from "./api/located.js";
export type { ItemSource, TextSource } from "./api/node.js";

// ------------------------------------------------------------------ values re-exported

export { describe } from "./errors.js";
export { report } from "./api/located.js";
export { codecFromSchema, HeaderCodec, ItemCodec, ModuleCodec } from "./api/iots.js";
export { stringifyModule } from "./api/text.js";
export { encodeAsync, encodeText } from "./api/node.js";
export { fromEffectEither, toEffectEither } from "./api/fpts.js";
export { SUPPORTED_TRIPLES } from "./target.js";
export { VERSION } from "./version.js";

// ------------------------------------------------------------------ decode

/**
 * Decode JSON Lines text (records.md): the header line, then one item per
 * line. Every problem is reported, each with its line and field path. The
 * result keeps the line of each item, so that `encode` can name the line
 * of an encoding error too.
 */
export const parseModule = (text: string): FE.Either<DecodeError, LinedModule> => fromEffectEither(Either.mapLeft(decode.parseModule(text), asDecodeError));

/** Decode a JSON value `{ header, items }` in the record shapes (bodies as base64). Every problem is reported. */
export const decodeModule = (json: unknown): FE.Either<DecodeError, Module> => fromEffectEither(Either.mapLeft(decode.decodeModule(json), asDecodeError));

// ------------------------------------------------------------------ encode

/**
 * Encode a module into an ELF object. Stops at the first error; an error of
 * a module from `parseModule` also carries the item's input `line`.
 */
export const encode = (module: Module | LinedModule): FE.Either<Located, Uint8Array> => fromEffectEither(encodeLocated(module));

// ------------------------------------------------------------------ the fold

/**
 * The fold's state after some items: a persistent value. Stepping never
 * changes a state anyone holds, so a state can be kept and stepped again
 * (a fork) and gives the same bytes as a fresh fold of the same items.
 */
export type FoldState = fold.LayoutState;

/** The empty fold for a header (already failed if the target is unsupported). */
export const begin = (header: Header): FoldState => fold.begin(header);

/**
 * Fold one item in. Data-last for `pipe` (`step(item)`), or data-first
 * (`step(state, item)`) for loops and `Array.prototype.reduce`.
 *
 * @example pipe(begin(header), step(f0), step(f1), finish)
 */
export const step: {
  (item: Item): (state: FoldState) => FoldState;
  (state: FoldState, item: Item): FoldState;
} = dual(2, (state: FoldState, item: Item): FoldState => fold.step(state, item));

/** Fold several items in (data-last); stops looking at items after the first error. */
export const stepAll =
  (items: Iterable<Item>) =>
  (state: FoldState): FoldState => {
    let s = state;
    for (const item of items) {
      s = fold.step(s, item);
      if (s.failure !== undefined) break;
    }
    return s;
  };

/** Close the fold: resolve every call, place the last islands, and write the object. */
export const finish = (state: FoldState): FE.Either<ObjfoldError, Uint8Array> => fromEffectEither(finishBytes(state));
