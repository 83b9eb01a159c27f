/**
 * JSON Lines text, a chunk at a time: the line splitter and the line decoder
 * that the Node face (`encodeText`) and the Effect face (`decodeText`) share,
 * and the printer that turns a module back into text.
 *
 * Both classes are transient builders owned by one pass over one input (a
 * `for await` loop, or a `Stream.suspend`); they never cross the API. They
 * hold no input text beyond the unfinished line.
 *
 * The line rules are those of records.md and `parseModule`: lines end at
 * `\n`; one `\r` before it (or at the end of the input) is dropped; lines
 * that are blank after `String.prototype.trim` are skipped but counted; the
 * first non-blank line is the header.
 */
import { bytesToBase64 } from "../bytes/base64.js";
import { Either } from "effect";
import type { DecodeIssue } from "../errors.js";
import { decodeHeaderLine, decodeItemLine } from "../schema/decode.js";
import { ItemScanner } from "../schema/fast.js";
import { renderJsonLines } from "../importer/jsonl.js";
import type { Header, Item, ItemJson, Module } from "../schema/records.js";
import type { DecodeError } from "./located.js";

/** One decoded line: the header (first non-blank line) or an item, with its 1-based line number. */
export type Decoded =
  | { readonly _tag: "Header"; readonly line: number; readonly header: Header }
  | { readonly _tag: "Item"; readonly line: number; readonly item: Item };

/**
 * Splits text chunks into lines. Chunks may be strings or UTF-8 bytes (a
 * Node `Readable` without an encoding yields `Buffer`s), split anywhere,
 * even inside a line end or a multi-byte character. A byte-order mark is
 * kept, as `parseModule` keeps it (and JSON.parse then refuses it).
 */
export class LineSplitter {
  private carry = "";
  private utf8: InstanceType<typeof TextDecoder> | undefined = undefined;

  /** Append the lines this chunk completes to `out` (without their `\n`). */
  push(chunk: string | Uint8Array, out: string[]): void {
    const text = typeof chunk === "string" ? this.flushBytes() + chunk : (this.utf8 ??= new TextDecoder("utf-8", { ignoreBOM: true })).decode(chunk, { stream: true });
    let nl = text.indexOf("\n");
    if (nl < 0) {
      this.carry += text;
      return;
    }
    out.push(this.carry + text.slice(0, nl));
    let start = nl + 1;
    while ((nl = text.indexOf("\n", start)) >= 0) {
      out.push(text.slice(start, nl));
      start = nl + 1;
    }
    this.carry = text.slice(start);
  }

  /** The input ended: append the last, unterminated line, if any. */
  end(out: string[]): void {
    const rest = this.carry + this.flushBytes();
    this.carry = "";
    if (rest.length > 0) out.push(rest);
  }

  /** Whatever an incomplete UTF-8 sequence left in the decoder (U+FFFD), when text switches to strings or ends. */
  private flushBytes(): string {
    const d = this.utf8;
    if (d === undefined) return "";
    this.utf8 = undefined;
    return d.decode();
  }
}

const EMPTY: DecodeIssue = { line: 1, path: [], message: "empty module: the first line must be the header" };

/**
 * Decodes lines one at a time, with the rules of `parseModule` (the same
 * decoders, so the same messages). After the first problem it yields no
 * more items but keeps decoding, so that `end` reports every problem.
 */
export class LineDecoder {
  /** This decoder's own fast-path state (see `decodeItemLine`). */
  private readonly scanner = new ItemScanner();
  private lineNo = 0;
  private headerSeen = false;
  private readonly issues: DecodeIssue[] = [];

  /** Decode the next line (without its `\n`); `undefined` for a blank line or once a problem was found. */
  next(raw: string): Decoded | undefined {
    const line = ++this.lineNo;
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim().length === 0) return undefined;
    if (!this.headerSeen) {
      this.headerSeen = true;
      const h = decodeHeaderLine(text, line);
      if (Either.isLeft(h)) {
        for (const i of h.left) this.issues.push(i);
        return undefined;
      }
      return { _tag: "Header", line, header: h.right };
    }
    const r = decodeItemLine(text, line, this.scanner);
    if (Either.isLeft(r)) {
      for (const i of r.left) this.issues.push(i);
      return undefined;
    }
    return this.issues.length > 0 ? undefined : { _tag: "Item", line, item: r.right };
  }

  /** The input ended: every problem found, or `undefined` if the text decoded. */
  end(): DecodeError | undefined {
    if (!this.headerSeen) {
      this.headerSeen = true;
      this.issues.push(EMPTY);
    }
    return this.issues.length > 0 ? { _tag: "DecodeError", issues: this.issues.slice() } : undefined;
  }
}

/**
 * Printing never fails: the only transformation is bodies to base64, done
 * here directly rather than through the schema's encoder (which validates and
 * would throw on a module built by hand with an out-of-range value; such a
 * module prints, and decoding the text reports the value).
 */
const printable = (item: Item): ItemJson => (item.type === "function" ? { ...item, body: bytesToBase64(item.body) } : item);

/**
 * A module as JSON Lines text (records.md): the header line, then one line
 * per item, each ending in `\n`. `parseModule(stringifyModule(m))` gives `m`
 * back.
 */
export const stringifyModule = (m: Module): string => renderJsonLines({ header: m.header, items: m.items.map(printable) });
