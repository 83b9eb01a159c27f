/**
 * objfold/effect: the Effect face. The record schemas (the one source of
 * truth, schema/records.ts), encoding as an `Effect`, a `Sink` that folds a
 * `Stream<Item>` into the object, and a decoder from a `Stream<string>` of
 * JSON Lines text chunks. docs/guide-effect.md shows each at work.
 *
 * Errors are the plain tagged values of `ObjfoldError` (no classes): the
 * failure channel carries them unchanged, so `Effect.catchTag("CallOutOfRange", …)`
 * and `Effect.catchTags({ … })` select them by `_tag`, and the value caught
 * is the same object the fp-ts face returns.
 *
 * @example
 * import { Effect, Stream } from "effect";
 * import { encodeTextStream } from "objfold/effect";
 *
 * const program = encodeTextStream(Stream.make(text)).pipe(
 *   Effect.catchTag("DecodeError", (e) => Effect.fail(`bad input: ${e.issues.length} problems`)),
 * );
 */
import { Chunk, Effect, Either, Option, type Scope, Sink, Stream } from "effect";
import { finishBytes } from "./encode.js";
import type { ObjfoldError } from "./errors.js";
import { begin, type LayoutState, step } from "./layout/fold.js";
import { asDecodeError, type DecodeError, encodeLocated, type Located, locateEither } from "./api/located.js";
import { type Decoded, LineDecoder, LineSplitter } from "./api/text.js";
import * as decode from "./schema/decode.js";
import type { LinedModule } from "./schema/decode.js";
import type { Header, Item, Module } from "./schema/records.js";

export * from "./schema/records.js";
export type { LinedModule } from "./schema/decode.js";
export type { DecodeIssue, ObjfoldError, ObjfoldErrorTag } from "./errors.js";
export type { DecodeError, ErrorOf, Located } from "./api/located.js";
export type { Decoded } from "./api/text.js";
export { describe } from "./errors.js";
export { report } from "./api/located.js";
export { stringifyModule } from "./api/text.js";

const fromEither = <A, E>(r: Either.Either<A, E>): Effect.Effect<A, E> => (Either.isLeft(r) ? Effect.fail(r.left) : Effect.succeed(r.right));

// ------------------------------------------------------------------ whole modules

/** Decode JSON Lines text (see the root's `parseModule`); fails with every problem, each with its line. */
export const parseModuleEffect = (text: string): Effect.Effect<LinedModule, DecodeError> =>
  Effect.suspend(() => fromEither(Either.mapLeft(decode.parseModule(text), asDecodeError)));

/** Decode a JSON value `{ header, items }` (bodies as base64); fails with every problem. */
export const decodeModuleEffect = (json: unknown): Effect.Effect<Module, DecodeError> =>
  Effect.suspend(() => fromEither(Either.mapLeft(decode.decodeModule(json), asDecodeError)));

/**
 * Encode a module into an ELF object. Fails with the first error, a plain
 * `ObjfoldError` (plus `line` for a module from `parseModuleEffect`).
 *
 * @example encodeEffect(module).pipe(Effect.catchTag("CallOutOfRange", (e) => Effect.succeed(e.distance)))
 */
export const encodeEffect = (module: Module | LinedModule): Effect.Effect<Uint8Array, Located> => Effect.suspend(() => fromEither(encodeLocated(module)));

/** Close a fold state (from the root's `begin`/`step`) into an object. */
export const finishEffect = (state: LayoutState): Effect.Effect<Uint8Array, ObjfoldError> => Effect.suspend(() => fromEither(finishBytes(state)));

// ------------------------------------------------------------------ streams of items

/**
 * A sink that folds a `Stream<Item>` into the object: `step` per item in a
 * plain loop over each chunk (no Effect per item), `finish` at the end.
 * Stops pulling at the first error, which it fails with.
 *
 * @example Stream.run(items, encodeSink(header))
 */
export const encodeSink = (header: Header): Sink.Sink<Uint8Array, Item, never, ObjfoldError> =>
  Sink.foldChunks(
    begin(header),
    (s: LayoutState) => s.failure === undefined,
    (s: LayoutState, chunk: Chunk.Chunk<Item>) => {
      for (const item of chunk) {
        s = step(s, item);
        if (s.failure !== undefined) break;
      }
      return s;
    },
  ).pipe(Sink.mapEffect(finishEffect));

// ------------------------------------------------------------------ streams of text

/**
 * Decode a stream of JSON Lines text chunks, split anywhere (a line, its
 * `\r\n`, or, for byte chunks, a UTF-8 character may span chunks), into the
 * header and then the items, each with its line number. Holds no text
 * beyond the unfinished line.
 *
 * Decoding goes on past a bad line so that the failure lists every problem:
 * after the first one the stream emits nothing more, and at the end it fails
 * with one `DecodeError` whose issues carry their lines.
 *
 * Lines are split by the splitter the Node face uses rather than
 * `Stream.splitLines`, which drops a `\r` before a `\r\n` and a lone `\r`
 * at the end: the laws require every face to read a text as `parseModule`
 * does, and JSON.parse's messages name positions.
 */
export const decodeText = <E, R>(chunks: Stream.Stream<string | Uint8Array, E, R>): Stream.Stream<Decoded, E | DecodeError, R> =>
  Stream.suspend(() => {
    const splitter = new LineSplitter();
    const decoder = new LineDecoder();
    const decodeAll = (lines: ReadonlyArray<string>): Chunk.Chunk<Decoded> => {
      const out: Decoded[] = [];
      for (const l of lines) {
        const d = decoder.next(l);
        if (d !== undefined) out.push(d);
      }
      return Chunk.unsafeFromArray(out);
    };
    return chunks.pipe(
      Stream.mapChunks((texts) => {
        const lines: string[] = [];
        for (const t of texts) splitter.push(t, lines);
        return decodeAll(lines);
      }),
      Stream.concat(
        Stream.suspend(() => {
          const lines: string[] = [];
          splitter.end(lines);
          const last = decodeAll(lines);
          const bad = decoder.end();
          return bad === undefined ? Stream.fromChunk(last) : Stream.fail(bad);
        }),
      ),
    );
  });

/** A module whose items are still streaming: the shape `encodeSink` wants. */
export interface StreamSource<E, R> {
  readonly header: Header;
  readonly items: Stream.Stream<Item, E | DecodeError, R>;
}

/**
 * Read the header off a text stream and return it with the stream of the
 * items that follow (`Stream.peel`; the rest is consumed within the scope).
 *
 * @example
 * Effect.scoped(Effect.flatMap(decodeTextSource(chunks), ({ header, items }) => Stream.run(items, encodeSink(header))))
 */
export const decodeTextSource = <E, R>(chunks: Stream.Stream<string | Uint8Array, E, R>): Effect.Effect<StreamSource<E, R>, E | DecodeError, R | Scope.Scope> =>
  Effect.flatMap(Stream.peel(decodeText(chunks), Sink.head<Decoded>()), ([first, rest]) => {
    if (Option.isNone(first) || first.value._tag !== "Header") return Effect.die(new Error("objfold defect: decoded text did not start with its header"));
    const items = Stream.filterMap(rest, (d) => (d._tag === "Item" ? Option.some(d.item) : Option.none()));
    return Effect.succeed({ header: first.value.header, items });
  });

/**
 * Encode a stream of JSON Lines text chunks into the object. Like the CLI,
 * it decodes to the end and reports every bad line (`DecodeError`); else it
 * fails with the first encoding error, which carries the item's `line`.
 */
export const encodeTextStream = <E, R>(chunks: Stream.Stream<string | Uint8Array, E, R>): Effect.Effect<Uint8Array, E | Located, R> =>
  Stream.run(decodeText(chunks), textSink());

/** Folds decoded lines, remembering each item's line for the error. State is local to one run. */
const textSink = (): Sink.Sink<Uint8Array, Decoded, never, Located> =>
  Sink.suspend(() => {
    const itemLines: number[] = [];
    let headerLine: number | undefined;
    return Sink.foldLeftChunks(undefined as LayoutState | undefined, (s, chunk: Chunk.Chunk<Decoded>) => {
      for (const d of chunk) {
        if (d._tag === "Header") {
          headerLine = d.line;
          s = begin(d.header);
        } else if (s !== undefined) {
          itemLines.push(d.line);
          s = step(s, d.item);
        }
      }
      return s;
    }).pipe(
      Sink.mapEffect((s) =>
        s === undefined
          ? Effect.die(new Error("objfold defect: decoded text ended without its header"))
          : fromEither(locateEither(finishBytes(s), { lineOfItem: (i) => itemLines[i], headerLine })),
      ),
    );
  });
