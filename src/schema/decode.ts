/**
 * Decoding the records: from JSON values and from JSON Lines text. Every
 * problem is reported at once, each with its line and field path; nothing
 * throws on any input.
 */
import { Either, ParseResult, Schema as S } from "effect";
import type { DecodeIssue, ObjfoldError } from "../errors.js";
import { ItemScanner } from "./fast.js";
import { Header, Item, Module } from "./records.js";

const OPTIONS = { errors: "all", onExcessProperty: "error" } as const;
const decodeHeaderValue = S.decodeUnknownEither(Header, OPTIONS);
const decodeItemValue = S.decodeUnknownEither(Item, OPTIONS);
const decodeModuleValue = S.decodeUnknownEither(Module, OPTIONS);

const EXPECTED = /^Expected ((?:"[^"]*"(?: \| )?)+), actual (.*)$/s;
const UNDEFINED = /^Expected undefined, actual /;
const DISCRIMINANTS = new Set(["kind", "type", "op"]);
const SCHEMA_DUMP = /^Expected [({].*, actual (.*)$/s;
const samePath = (a: ReadonlyArray<PropertyKey>, b: ReadonlyArray<PropertyKey>): boolean => a.length === b.length && a.every((k, i) => k === b[i]);
const isPrefix = (a: ReadonlyArray<PropertyKey>, b: ReadonlyArray<PropertyKey>): boolean => a.length < b.length && a.every((k, i) => k === b[i]);

/**
 * Effect's formatter reports a union member by member. Make that one readable
 * issue per field: literal alternatives at one path merge into "expected one
 * of …", and the "expected undefined" of an optional field is dropped when
 * the field's own problems are reported below it.
 */
export const issuesOf = (e: ParseResult.ParseError, line: number | undefined): DecodeIssue[] => {
  const raw = ParseResult.ArrayFormatter.formatErrorSync(e);
  const noUndefined = raw.filter((i) => !(UNDEFINED.test(i.message) && raw.some((j) => isPrefix(i.path, j.path))));
  // A member whose discriminant did not match says so; when the member whose
  // discriminant did match reports problems in the same object, those are the
  // real ones and the mismatches are noise.
  const kept = noUndefined.filter((i) => {
    const last = i.path[i.path.length - 1];
    if (typeof last !== "string" || !DISCRIMINANTS.has(last) || !EXPECTED.test(i.message)) return true;
    const parent = i.path.slice(0, -1);
    return !noUndefined.some((j) => isPrefix(parent, j.path) && j.path[parent.length] !== last);
  });
  const out: DecodeIssue[] = [];
  const merged = new Map<number, { alternatives: string[]; actual: string }>();
  for (const i of kept) {
    const m = EXPECTED.exec(i.message);
    if (m !== null) {
      const k = out.findIndex((o, n) => merged.has(n) && samePath(o.path, i.path));
      const alts = m[1]!.split(" | ");
      if (k >= 0) {
        merged.get(k)!.alternatives.push(...alts);
        continue;
      }
      merged.set(out.length, { alternatives: alts, actual: m[2]! });
    }
    // A whole value of the wrong kind: say so instead of printing the schema.
    const whole = i.path.length === 0 && m === null ? SCHEMA_DUMP.exec(i.message) : null;
    const message = whole !== null ? `expected a JSON object, got ${whole[1]}` : i.message;
    out.push({ ...(line === undefined ? {} : { line }), path: i.path as Array<string | number>, message });
  }
  for (const [k, { alternatives, actual }] of merged) {
    const alts = [...new Set(alternatives)];
    out[k] = { ...out[k]!, message: alts.length === 1 ? `expected ${alts[0]}, got ${actual}` : `expected one of ${alts.join(", ")}; got ${actual}` };
  }
  return out;
};

/** JSON.parse, with its exception turned into an issue. */
const parseJson = (text: string, line: number): Either.Either<unknown, DecodeIssue[]> => {
  try {
    return Either.right(JSON.parse(text) as unknown);
  } catch (e) {
    return Either.left([{ line, path: [], message: `not valid JSON: ${(e as Error).message}` }]);
  }
};

export const decodeHeaderLine = (text: string, line: number): Either.Either<Header, DecodeIssue[]> =>
  Either.flatMap(parseJson(text, line), (v) => Either.mapLeft(decodeHeaderValue(v), (e) => issuesOf(e, line)));

/** The schema's decoder for one item line: `JSON.parse`, then Effect Schema (every problem, with its path). */
export const decodeItemLineBySchema = (text: string, line: number): Either.Either<Item, DecodeIssue[]> =>
  Either.flatMap(parseJson(text, line), (v) => Either.mapLeft(decodeItemValue(v), (e) => issuesOf(e, line)));

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
// A scratch buffer for a line's UTF-8 bytes: rewritten by each call and never
// seen outside it (the scanner copies bodies out), so it carries nothing between calls.
let scratch = new Uint8Array(4096);

/**
 * The fast path on a line of text: its UTF-8 bytes, when the line is ASCII
 * (only an ASCII line can take the fast path), through `scanner`.
 */
const fastItemOfText = (text: string, scanner: ItemScanner): Item | undefined => {
  const n = text.length;
  if (scratch.length < n) scratch = new Uint8Array(Math.max(n, 2 * scratch.length));
  const r = utf8.encodeInto(text, scratch);
  // Every ASCII unit is one byte and any other at least two: all read in as many bytes means ASCII.
  const item = r.read === n && r.written === n ? scanner.item(scratch, 0, n) : undefined;
  if (scratch.length > 1 << 20) scratch = new Uint8Array(4096); // don't keep a huge line's buffer
  return item;
};

/**
 * Decode one item line. The fast path (`fast.ts`) takes the shapes it knows
 * and gives the value the schema would give; anything else, every error
 * included, goes to the schema decoder.
 */
export const decodeItemLine = (text: string, line: number, scanner?: ItemScanner): Either.Either<Item, DecodeIssue[]> => {
  // The fast path keeps state (body slabs, recent names, the last unwind record)
  // that must not outlive one decoding pass: without a pass's own scanner, the schema decodes.
  const fast = scanner === undefined ? undefined : fastItemOfText(text, scanner);
  return fast !== undefined ? Either.right(fast) : decodeItemLineBySchema(text, line);
};

/**
 * Decode one item line given as UTF-8 bytes `bytes[start, end)` (no line
 * end): the fast path on the bytes themselves, else the text through the
 * schema. `scanner` is the pass's fast-path state (a fresh one by default).
 */
export const decodeItemBytes = (
  bytes: Uint8Array,
  start: number,
  end: number,
  line: number,
  scanner: ItemScanner = new ItemScanner(),
): Either.Either<Item, DecodeIssue[]> => {
  const fast = scanner.item(bytes, start, end);
  return fast !== undefined ? Either.right(fast) : decodeItemLineBySchema(utf8Decoder.decode(bytes.subarray(start, end)), line);
};

/** A module decoded from JSON Lines, with the input line of each item. */
export interface LinedModule {
  readonly header: Header;
  readonly items: ReadonlyArray<Item>;
  /** `lines[i]` is the 1-based input line of item `i`. */
  readonly lines: ReadonlyArray<number>;
}

/** Split text into its non-blank lines with their 1-based numbers (`\n` or `\r\n`). */
export const splitLines = (text: string): Array<{ text: string; line: number }> => {
  const out: Array<{ text: string; line: number }> = [];
  let start = 0;
  let line = 1;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    let s = text.slice(start, end);
    if (s.endsWith("\r")) s = s.slice(0, -1);
    if (s.trim().length > 0) out.push({ text: s, line });
    start = end + 1;
    line++;
  }
  return out;
};

/** Decode a whole JSON Lines module: the header line, then one item per line. */
export const parseModule = (text: string): Either.Either<LinedModule, ObjfoldError> => {
  const lines = splitLines(text);
  const first = lines[0];
  if (first === undefined) return Either.left({ _tag: "DecodeError", issues: [{ line: 1, path: [], message: "empty module: the first line must be the header" }] });
  const issues: DecodeIssue[] = [];
  const header = decodeHeaderLine(first.text, first.line);
  if (Either.isLeft(header)) issues.push(...header.left);
  const items: Item[] = [];
  const itemLines: number[] = [];
  const scanner = new ItemScanner(); // this pass's own fast-path state
  for (let k = 1; k < lines.length; k++) {
    const l = lines[k]!;
    const r = decodeItemLine(l.text, l.line, scanner);
    if (Either.isLeft(r)) issues.push(...r.left);
    else {
      items.push(r.right);
      itemLines.push(l.line);
    }
  }
  if (issues.length > 0 || Either.isLeft(header)) return Either.left({ _tag: "DecodeError", issues });
  return Either.right({ header: header.right, items, lines: itemLines });
};

/** Decode a JSON value `{ header, items }` in the record shapes (bodies as base64). */
export const decodeModule = (value: unknown): Either.Either<S.Schema.Type<typeof Module>, ObjfoldError> =>
  Either.mapLeft(decodeModuleValue(value), (e) => ({ _tag: "DecodeError", issues: issuesOf(e, undefined) }) as const);
