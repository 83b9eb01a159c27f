/**
 * Decoding the records: from JSON values and from JSON Lines text. Every
 * problem is reported at once, each with its line and field path; nothing
 * throws on any input.
 */
import { Either, ParseResult, Schema as S } from "effect";
import type { DecodeIssue, ObjfoldError } from "../errors.js";
import { Header, Item, Module } from "./records.js";

const OPTIONS = { errors: "all", onExcessProperty: "error" } as const;
const decodeHeaderValue = S.decodeUnknownEither(Header, OPTIONS);
const decodeItemValue = S.decodeUnknownEither(Item, OPTIONS);
const decodeModuleValue = S.decodeUnknownEither(Module, OPTIONS);

const issuesOf = (e: ParseResult.ParseError, line: number | undefined): DecodeIssue[] =>
  ParseResult.ArrayFormatter.formatErrorSync(e).map((i) =>
    line === undefined ? { path: i.path as Array<string | number>, message: i.message } : { line, path: i.path as Array<string | number>, message: i.message },
  );

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

export const decodeItemLine = (text: string, line: number): Either.Either<Item, DecodeIssue[]> =>
  Either.flatMap(parseJson(text, line), (v) => Either.mapLeft(decodeItemValue(v), (e) => issuesOf(e, line)));

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
  for (let k = 1; k < lines.length; k++) {
    const l = lines[k]!;
    const r = decodeItemLine(l.text, l.line);
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
