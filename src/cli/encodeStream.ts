/**
 * The JSON Lines edge for plain Node: fold a stream of text lines, or of
 * UTF-8 byte chunks, into an object, holding no more of the input text than
 * the current line (and the chunk it is in).
 */
import { readSync } from "node:fs";
import { encodeFold, type InputSizing, type LineDecoders, type LineFold, type StreamResult } from "../api/lines.js";

export type { StreamResult };

/** The schema decoders, loaded on first need: Effect Schema costs ~300 ms to load (docs/performance.md). */
const schema = (): Promise<LineDecoders> => import("../schema/decode.js");

/** Fold an async iterable of lines (as `readline` yields them) into ELF bytes. */
export const encodeLines = async (lines: AsyncIterable<string>): Promise<StreamResult> => {
  const fold = encodeFold(await schema());
  for await (const l of lines) fold.push(l);
  return fold.end();
};

/** Push a line's bytes, handing the fold the schema decoders first if it asks for them. */
const pushLine = async (fold: LineFold, bytes: Uint8Array, start: number, end: number): Promise<void> => {
  if (fold.pushBytes(bytes, start, end)) return;
  fold.useSchema(await schema());
  fold.pushBytes(bytes, start, end);
};

/**
 * Every line reaches the scanner in a `Buffer`: one kind of byte array, so
 * its code stays specialized to one map (a `Uint8Array` line among `Buffer`
 * chunks deoptimized every scanner method once; docs/performance.md).
 */
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const concat = (parts: ReadonlyArray<Uint8Array>): Buffer => Buffer.concat(parts);

/**
 * Fold UTF-8 chunks, split anywhere, into ELF bytes: lines end at `\n` (a
 * `\r` before it is dropped), as `readline` with `crlfDelay: Infinity` reads
 * them except that a lone `\r` does not end a line (records.md: `\n` or
 * `\r\n`). Lines are handed to the fold as bytes, so those the fast path
 * takes are never turned into strings. `onLine` sees every line (progress).
 *
 * A chunk may be the source's own buffer, filled again after the next one
 * is asked for (`readChunks`): nothing of it is kept past its lines but a
 * copy of the line it ends inside. `sizing`, when the source's size is known
 * (a file), lets the fold size itself once (`encodeFold`).
 */
export const encodeChunks = async (
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onLine?: (bytes: Uint8Array, start: number, end: number) => void,
  sizing?: InputSizing,
): Promise<StreamResult> => {
  const fold = encodeFold(undefined, sizing);
  let partial: Uint8Array[] = [];
  for await (const raw of chunks) {
    const chunk = asBuffer(raw);
    let start = 0;
    let nl = chunk.indexOf(0x0a);
    if (partial.length > 0) {
      if (nl < 0) {
        partial.push(Buffer.from(chunk));
        continue;
      }
      partial.push(chunk.subarray(0, nl));
      const line = concat(partial);
      partial = [];
      onLine?.(line, 0, line.length);
      if (!fold.pushBytes(line, 0, line.length)) await pushLine(fold, line, 0, line.length);
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    while (nl >= 0) {
      onLine?.(chunk, start, nl);
      if (!fold.pushBytes(chunk, start, nl)) await pushLine(fold, chunk, start, nl);
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) partial.push(Buffer.from(chunk.subarray(start))); // a copy: the chunk may be refilled
  }
  if (partial.length > 0) {
    const line = concat(partial);
    onLine?.(line, 0, line.length);
    await pushLine(fold, line, 0, line.length);
  }
  return fold.end();
};

/**
 * A file's bytes, read into one buffer that is filled again for each chunk
 * (valid until the next is asked for; `encodeChunks` copies what it keeps).
 * A stream would hand out a fresh 1 MiB buffer per read, garbage the
 * collector frees late: at 10⁶ functions ~40 MB of read buffers were
 * waiting for it at the peak (docs/performance.md, "Memory").
 */
export function* readChunks(fd: number, size = 1 << 20): Generator<Buffer, void, undefined> {
  const buf = Buffer.allocUnsafe(size);
  for (;;) {
    const n = readSync(fd, buf, 0, size, null);
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}
