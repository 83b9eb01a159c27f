/**
 * A line-at-a-time front end over the pure fold: decode each JSON Lines line
 * as it comes, step the fold, and collect every decoding problem. Holds no
 * input text beyond the current line.
 *
 * Lines come as text (`push`) or as UTF-8 bytes (`pushBytes`, the CLI's
 * path): bytes go through the fast path (`schema/fast.ts`) first. This module
 * does not import the schema decoders (`schema/decode.ts`, which loads
 * Effect Schema: ~300 ms of module loading, most of a small encode); the
 * caller hands them over when a line needs them (docs/performance.md).
 */
import * as Either from "../result.js";
import { type DecodeIssue, errorItem, type ObjfoldError } from "../errors.js";
import type { ObjectPlan } from "../elf/object.js";
import { finishPlan } from "../encode.js";
import { u32 } from "../layout/columns.js";
import { begin, Stepper } from "../layout/fold.js";
import { ItemScanner } from "../schema/fast.js";
import type { Header, Item } from "../schema/records.js";
import type { FunctionRows } from "../schema/rows.js";

/** The schema's line decoders: `schema/decode.ts` (its module namespace will do). */
export interface LineDecoders {
  readonly decodeHeaderLine: (text: string, line: number) => Either.Either<Header, DecodeIssue[]>;
  readonly decodeItemLine: (text: string, line: number) => Either.Either<Item, DecodeIssue[]>;
}

/** The outcome of a JSON Lines encode, with the line each item came from (for error reports). */
export interface StreamResult {
  /** The object's plan: `writeObject` renders it whole, `objectParts` in parts (what the CLI writes). */
  readonly result: Either.Either<ObjectPlan, ObjfoldError>;
  /** 1-based input line of item `i`. */
  readonly lineOfItem: (item: number) => number | undefined;
  /** 1-based input line of the header (blank lines may come first). */
  readonly headerLine: number | undefined;
  readonly functions: number;
}

export interface LineFold {
  /** Feed one line of text (without its line end; `\r` is dropped). Needs the schema decoders. */
  push(line: string): void;
  /**
   * Feed one line as UTF-8 bytes `bytes[start, end)` (without its `\n`; a
   * final `\r` is dropped). Returns false, having done nothing, when the line
   * needs the schema decoders and the fold has none yet: hand them over with
   * `useSchema` and push the line again.
   */
  pushBytes(bytes: Uint8Array, start: number, end: number): boolean;
  useSchema(decoders: LineDecoders): void;
  end(): StreamResult;
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Items after which the line fold sizes itself for the rest of the input (`reserveRest`), when it knows the input's size. */
const RESERVE_AFTER = 2048;
/** The most items it sizes itself for (4 Mi: ~16 MB a column): a guess, so not without bound. */
const RESERVE_MOST = 1 << 22;

/** What the line fold may know of its input before it reads it: a hint, never a change to the object. */
export interface InputSizing {
  /** The whole input's size in bytes (a file's). */
  readonly inputBytes: number;
  /** Items to read before the estimate (2048; the laws try small ones). */
  readonly reserveAfter?: number;
}

/** Blank for `String.prototype.trim` and ASCII: tab, LF, VT, FF, CR, space. Other lines, non-ASCII blanks included, go as text. */
const isAsciiBlank = (b: Uint8Array, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c !== 0x20 && (c < 0x09 || c > 0x0d)) return false;
  }
  return true;
};

/**
 * The fold over lines. It owns its state; callers see only `push`,
 * `pushBytes` and `end`. Decoding goes on after the first problem so every
 * problem is reported.
 */
export const encodeFold = (decoders?: LineDecoders, sizing?: InputSizing): LineFold => {
  let schema = decoders;
  const inputBytes = sizing?.inputBytes;
  const reserveAfter = sizing?.reserveAfter ?? RESERVE_AFTER;
  /**
   * Bytes of the item lines so far (line ends included), and of their
   * functions' names: for `reserveRest`. (The header and blank lines are
   * not counted: a few bytes off an estimate.)
   */
  let itemBytes = 0;
  let nameBytes = 0;
  const scanner = new ItemScanner();
  let lineNo = 0;
  /** The fold, stepped in place (one state at the end, not one per line). */
  let state: Stepper | undefined;
  let headerSeen = false;
  let headerLine: number | undefined;
  const issues: DecodeIssue[] = [];
  /** Input line of each item: a column (an array of 10⁶ numbers was 8 MB and its copies as it grew). */
  const itemLines = u32();
  let functions = 0;
  const addItem = (item: Item | FunctionRows, lineBytes: number): void => {
    if (issues.length > 0 || state === undefined) return; // keep decoding to report every problem
    itemLines.push(lineNo);
    itemBytes += lineBytes;
    if (item.type !== "padding") {
      functions++;
      // UTF-16 units for a schema item's name: near enough for an estimate.
      nameBytes += item.type === "rows" && item.src !== undefined ? item.nameEnd - item.nameStart : item.name.length;
    }
    state.add(item); // decoded by the scanner or the schema just now: unguarded, see stepDecoded
    if (itemLines.length === reserveAfter && inputBytes !== undefined) reserveRest(inputBytes - itemBytes);
  };
  /**
   * Size the fold for the rest of the input, `rest` bytes, from the item
   * lines seen so far: their mean length gives how many are left, and the
   * share of their bytes that were names how many bytes of names (a
   * quarter more: names grow longer down a module, `f_999` after `f_1`).
   * Without it the CLI's fold grew every column, the name table and its
   * pool as it went: at 10⁵ functions ~30 ms of a ~430 ms run in copies and
   * rehashes (docs/performance.md, "Seventh round"). Done once, early; a
   * wrong guess costs room or a late growth, never a byte of the object.
   */
  const reserveRest = (rest: number): void => {
    if (!(rest > 0) || itemBytes === 0) return;
    // Capped: short lines first and long ones after would make the guess too large (the columns then grow past it as before).
    const items = Math.min(RESERVE_MOST, Math.ceil((rest / itemBytes) * itemLines.length * 1.02));
    const perItem = Math.max(64, (2 * nameBytes) / itemLines.length);
    state!.reserve(items, Math.min(items * perItem, Math.ceil((rest / itemBytes) * nameBytes * 1.25)));
    itemLines.reserve(itemLines.length + items);
  };
  /** A line without its line end, numbered already; `lineBytes`: its size in the input, line end included (0 when unknown). */
  const line = (text: string, d: LineDecoders, lineBytes: number): void => {
    if (text.trim().length === 0) return;
    if (!headerSeen) {
      headerSeen = true;
      headerLine = lineNo;
      const h = d.decodeHeaderLine(text, lineNo);
      if (Either.isLeft(h)) issues.push(...h.left);
      else state = new Stepper(begin(h.right));
      return;
    }
    const r = d.decodeItemLine(text, lineNo);
    if (Either.isLeft(r)) issues.push(...r.left);
    else addItem(r.right, lineBytes);
  };
  return {
    push(raw: string) {
      if (schema === undefined) throw new Error("objfold defect: LineFold.push before useSchema");
      lineNo++;
      line(raw.endsWith("\r") ? raw.slice(0, -1) : raw, schema, 0);
    },
    pushBytes(bytes: Uint8Array, start: number, end: number): boolean {
      const lineBytes = end - start + 1;
      if (end > start && bytes[end - 1] === 0x0d) end--;
      if (isAsciiBlank(bytes, start, end)) {
        lineNo++;
        return true;
      }
      if (!headerSeen) {
        const h = scanner.header(bytes, start, end);
        if (h !== undefined) {
          lineNo++;
          headerSeen = true;
          headerLine = lineNo;
          state = new Stepper(begin(h));
          return true;
        }
      } else {
        const item = scanner.scan(bytes, start, end); // a function as the scanner's rows: no item object
        if (item !== undefined) {
          lineNo++;
          addItem(item, lineBytes);
          return true;
        }
      }
      if (schema === undefined) return false;
      lineNo++;
      line(utf8.decode(bytes.subarray(start, end)), schema, lineBytes);
      return true;
    },
    useSchema(d: LineDecoders) {
      schema = d;
    },
    end() {
      const lineOfItem = (i: number) => (Number.isInteger(i) && i >= 0 && i < itemLines.length ? itemLines.data[i] : undefined);
      if (!headerSeen) issues.push({ line: 1, path: [], message: "empty module: the first line must be the header" });
      if (issues.length > 0) return { result: Either.left({ _tag: "DecodeError", issues }), lineOfItem, headerLine, functions };
      return { result: finishPlan(state!.state()), lineOfItem, headerLine, functions };
    },
  };
};

/** Render an error as lines of text, each with its input line where known. */
export const errorLines = (
  e: ObjfoldError,
  lineOfItem: (item: number) => number | undefined,
  describe: (e: ObjfoldError) => string,
  headerLine?: number,
): string[] => {
  if (e._tag === "DecodeError")
    return e.issues.map((i) => `${i.line !== undefined ? `line ${i.line}: ` : ""}${i.path.length > 0 ? i.path.join(".") + ": " : ""}${i.message}`);
  const item = errorItem(e);
  const line = e._tag === "UnsupportedTarget" ? headerLine : item === undefined ? undefined : lineOfItem(item);
  return [`${line !== undefined ? `line ${line}: ` : ""}${describe(e)}`];
};
