/**
 * Streaming for plain Node (no Effect runtime): fold items as they arrive,
 * or JSON Lines text in chunks split anywhere. Results are fp-ts `Either`s,
 * as in the rest of the package root.
 */
import { Either } from "effect";
import type * as FE from "fp-ts/lib/Either.js";
import { finishBytes } from "../encode.js";
import type { ObjfoldError } from "../errors.js";
import { begin, type LayoutState, step } from "../layout/fold.js";
import type { Header, Item } from "../schema/records.js";
import { fromEffectEither } from "./fpts.js";
import { type Located, locateEither } from "./located.js";
import { LineDecoder, LineSplitter } from "./text.js";

/** A module whose items arrive over time: the header, then the items in text order. */
export interface ItemSource {
  readonly header: Header;
  readonly items: AsyncIterable<Item> | Iterable<Item>;
}

const isAsync = <A>(xs: AsyncIterable<A> | Iterable<A>): xs is AsyncIterable<A> => Symbol.asyncIterator in xs;

/**
 * Encode items as they arrive (an async generator, a `Readable` in object
 * mode, or any iterable). Takes the same `{ header, items }` shape as
 * `encode`, so a `Module` is also an `ItemSource`; only `items` may be
 * asynchronous, because the header decides how every item is placed.
 *
 * Stops pulling at the first error (the iterator's `return` runs, which
 * closes a `Readable`); holds the fold's state, never the items' JSON.
 */
export const encodeAsync = async (source: ItemSource): Promise<FE.Either<ObjfoldError, Uint8Array>> => {
  let s = begin(source.header);
  const items = source.items;
  if (isAsync(items)) {
    for await (const item of items) {
      s = step(s, item);
      if (s.failure !== undefined) break;
    }
  } else {
    for (const item of items) {
      s = step(s, item);
      if (s.failure !== undefined) break;
    }
  }
  return fromEffectEither(finishBytes(s));
};

/** Text chunks: strings, or UTF-8 bytes (`Buffer`), as a Node `Readable` yields them. */
export type TextSource = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

/**
 * Encode a JSON Lines module read in chunks split anywhere (inside a line,
 * a `\r\n`, or a UTF-8 character): a `Readable` from `fs.createReadStream`
 * or `process.stdin`, an HTTP body, an array of strings.
 *
 * Holds no more of the text than the current line. Decoding goes on to the
 * end so that a `DecodeError` lists every bad line; an encoding error
 * carries `line`, the input line of the item it names.
 */
export const encodeText = async (source: TextSource): Promise<FE.Either<Located, Uint8Array>> => {
  const splitter = new LineSplitter();
  const decoder = new LineDecoder();
  const lines: string[] = [];
  const itemLines: number[] = [];
  let state: LayoutState | undefined;
  let headerLine: number | undefined;
  const feed = (): void => {
    for (const l of lines) {
      const d = decoder.next(l);
      if (d === undefined) continue;
      if (d._tag === "Header") {
        state = begin(d.header);
        headerLine = d.line;
      } else if (state !== undefined) {
        itemLines.push(d.line);
        state = step(state, d.item);
      }
    }
    lines.length = 0;
  };
  for await (const chunk of source) {
    splitter.push(chunk, lines);
    feed();
  }
  splitter.end(lines);
  feed();
  const bad = decoder.end();
  if (bad !== undefined) return fromEffectEither(Either.left<Located>(bad));
  // `end` reports an input without a header, so here the header was seen.
  if (state === undefined) throw new Error("objfold defect: text decoded without a header");
  return fromEffectEither(locateEither(finishBytes(state), { lineOfItem: (i) => itemLines[i], headerLine }));
};
