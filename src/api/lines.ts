/**
 * A line-at-a-time front end over the pure fold: decode each JSON Lines line
 * as it comes, step the fold, and collect every decoding problem. Holds no
 * input text beyond the current line.
 */
import { Either } from "effect";
import { type DecodeIssue, errorItem, type ObjfoldError } from "../errors.js";
import { finishBytes } from "../encode.js";
import { begin, type LayoutState, step } from "../layout/fold.js";
import { decodeHeaderLine, decodeItemLine } from "../schema/decode.js";

/** The outcome of a JSON Lines encode, with the line each item came from (for error reports). */
export interface StreamResult {
  readonly result: Either.Either<Uint8Array, ObjfoldError>;
  /** 1-based input line of item `i`. */
  readonly lineOfItem: (item: number) => number | undefined;
  readonly functions: number;
}

export interface LineFold {
  /** Feed one line of text (without its line end; `\r` is dropped). */
  push(line: string): void;
  end(): StreamResult;
}

/**
 * The fold over lines. It owns its state; callers see only `push` and `end`.
 * Decoding goes on after the first problem so every problem is reported.
 */
export const encodeFold = (): LineFold => {
  let lineNo = 0;
  let state: LayoutState | undefined;
  let headerSeen = false;
  const issues: DecodeIssue[] = [];
  const itemLines: number[] = [];
  let functions = 0;
  return {
    push(raw: string) {
      lineNo++;
      const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (text.trim().length === 0) return;
      if (!headerSeen) {
        headerSeen = true;
        const h = decodeHeaderLine(text, lineNo);
        if (Either.isLeft(h)) issues.push(...h.left);
        else state = begin(h.right);
        return;
      }
      const r = decodeItemLine(text, lineNo);
      if (Either.isLeft(r)) {
        issues.push(...r.left);
        return;
      }
      if (issues.length > 0 || state === undefined) return; // keep decoding to report every problem
      itemLines.push(lineNo);
      if (r.right.type === "function") functions++;
      state = step(state, r.right);
    },
    end() {
      const lineOfItem = (i: number) => itemLines[i];
      if (!headerSeen) issues.push({ line: 1, path: [], message: "empty module: the first line must be the header" });
      if (issues.length > 0) return { result: Either.left({ _tag: "DecodeError", issues }), lineOfItem, functions };
      return { result: finishBytes(state!), lineOfItem, functions };
    },
  };
};

/** Render an error as lines of text, each with its input line where known. */
export const errorLines = (e: ObjfoldError, lineOfItem: (item: number) => number | undefined, describe: (e: ObjfoldError) => string): string[] => {
  if (e._tag === "DecodeError")
    return e.issues.map((i) => `${i.line !== undefined ? `line ${i.line}: ` : ""}${i.path.length > 0 ? i.path.join(".") + ": " : ""}${i.message}`);
  const item = errorItem(e);
  const line = item === undefined ? undefined : lineOfItem(item);
  return [`${line !== undefined ? `line ${line}: ` : e._tag === "UnsupportedTarget" ? "line 1: " : ""}${describe(e)}`];
};
