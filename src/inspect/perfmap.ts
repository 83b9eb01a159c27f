/**
 * `perf` JIT symbol maps (`/tmp/perf-PID.map`, Linux `tools/perf/Documentation/jit-interface.txt`):
 * one line per code range, `START SIZE name`, START and SIZE in hexadecimal
 * without a `0x` prefix, the name running to the end of the line.
 *
 * The image is the object file mapped as-is at `base` (as Wasmtime's
 * `CodeMemory` maps it), so a function at text offset `o` runs at
 * `base + .text file offset + o`. Functions with a body get a line (perf
 * ignores empty ranges); each aarch64 veneer gets one too, named
 * `veneer→<target>`, so samples in an island are attributed to the call they
 * serve. Names have control characters escaped (one entry per line).
 *
 * @example
 *   perfMap(inspection, 0x7f0000000000n)
 *   // Right(["7f0000001000 12 mix", "7f0000001020 d rotl", …])
 */
import { Either } from "effect";
import type { Inspection } from "./model.js";
import { printable } from "./text.js";

const U64_END = 1n << 64n;

export interface PerfMapEntry {
  readonly start: bigint;
  readonly size: number;
  readonly name: string;
}

/** The entries, by ascending start; Left with a sentence when the image does not fit a 64-bit address space. */
export const perfMapEntries = (d: Inspection, base: bigint): Either.Either<PerfMapEntry[], string> => {
  if (base < 0n || base >= U64_END) return Either.left(`base address ${base} is outside the 64-bit address space`);
  const text = base + BigInt(d.text.fileOffset);
  const out: PerfMapEntry[] = [];
  for (const f of d.functions) if (f.size > 0) out.push({ start: text + BigInt(f.offset), size: f.size, name: printable(f.name) });
  for (const i of d.islands)
    for (const v of i.veneers) out.push({ start: text + BigInt(v.offset), size: v.size, name: `veneer→${v.function === null ? `0x${v.target.toString(16)}` : printable(v.function)}` });
  out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const last = out[out.length - 1];
  if (last !== undefined && last.start + BigInt(last.size) > U64_END)
    return Either.left(`an image at 0x${base.toString(16)} does not fit the 64-bit address space (its code ends at 0x${(last.start + BigInt(last.size)).toString(16)})`);
  return Either.right(out);
};

/** The map's lines (no trailing newline on each). */
export const perfMap = (d: Inspection, base: bigint): Either.Either<string[], string> =>
  Either.map(perfMapEntries(d, base), (es) => es.map((e) => `${e.start.toString(16)} ${e.size.toString(16)} ${e.name}`));

/**
 * Parse an address: `0x…` hexadecimal, otherwise decimal digits. Undefined
 * when it is neither (or negative, or past 2^64 − 1).
 */
export const parseAddress = (s: string): bigint | undefined => {
  const t = s.trim();
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = BigInt(t);
  else if (/^[0-9]+$/.test(t)) v = BigInt(t);
  else return undefined;
  return v < U64_END ? v : undefined;
};
