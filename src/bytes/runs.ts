/**
 * Cutting a section of consecutive entries into runs of about a window's
 * size, each written on its own (`objectParts`, docs/performance.md,
 * "Memory"): `.eh_frame`'s FDEs, `.strtab`'s names, `.symtab`'s symbols.
 */

import type { ByteWriter } from "./writer.js";

/** A run of a section: its bytes `[offset, offset + size)`, written by `write` from the writer's position (zeros there). */
export interface SectionRun {
  readonly offset: number;
  readonly size: number;
  readonly write: (w: ByteWriter) => void;
}

/** Entries `[from, to)`: section bytes `[offset, offset + size)`, the first entry at `entriesAt`. */
export interface Run {
  readonly from: number;
  readonly to: number;
  readonly offset: number;
  readonly size: number;
  readonly entriesAt: number;
}

/**
 * Runs of whole entries, each at least `bytes` bytes but the last: `n`
 * entries of `sizeOf(k)` bytes laid one after another from section offset
 * `head` on, `size` bytes in all. The first run also holds the `head` bytes
 * before the entries (a CIE, a leading NUL, the null symbol), the last the
 * `tail` after them (a terminator); with no entries, one run holds both. A
 * `bytes` of at least `size` gives one run, the whole section, without a
 * walk over the entries (10⁶ FDEs: 15–60 ms; docs/performance.md, "Sixth
 * round").
 */
export const runsOf = (n: number, head: number, tail: number, sizeOf: (k: number) => number, bytes: number, size: number): Run[] => {
  if (bytes >= size) return [{ from: 0, to: n, offset: 0, size, entriesAt: head }];
  const runs: Run[] = [];
  let from = 0;
  let offset = 0; // where the current run starts
  let at = head; // where entry k starts
  for (let k = 0; k < n; k++) {
    at += sizeOf(k); // now entry k + 1's start, or the tail's
    if (k + 1 < n && at - offset < bytes) continue;
    const end = k + 1 === n ? at + tail : at;
    runs.push({ from, to: k + 1, offset, size: end - offset, entriesAt: from === 0 ? head : offset });
    from = k + 1;
    offset = end;
  }
  if (n === 0) runs.push({ from: 0, to: 0, offset: 0, size: head + tail, entriesAt: head });
  return runs;
};
