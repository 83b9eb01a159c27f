/**
 * The displacement a RISC-V branch or jump already holds (RISC-V Unprivileged
 * ISA, "Conditional Branches", "Unconditional Jumps", and the RVC CB/CJ
 * formats). gas fills these in for targets in the same section but still
 * emits a relocation; the importer compares the two so that a field left for
 * a relaxing linker is refused rather than copied as a wrong branch.
 */
import type { BranchFormat } from "./arch.js";

const bit = (v: number, n: number): number => (v >>> n) & 1;
const bits = (v: number, hi: number, lo: number): number => (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
/** Sign-extend `v` whose sign bit is `top`. */
const signed = (v: number, top: number): number => (v << (31 - top)) >> (31 - top);

/** Bytes the instruction of a format occupies. */
export const branchSize = (f: BranchFormat): number => (f === "CB" || f === "CJ" ? 2 : 4);

/**
 * The byte displacement encoded in the little-endian instruction at `at`,
 * or undefined when the instruction does not fit inside `code`.
 */
export const encodedDisplacement = (code: Uint8Array, at: number, f: BranchFormat): number | undefined => {
  if (at < 0 || at + branchSize(f) > code.length) return undefined;
  const half = code[at]! | (code[at + 1]! << 8);
  const word = (half | (((code[at + 2] ?? 0) << 16) | ((code[at + 3] ?? 0) << 24))) >>> 0;
  switch (f) {
    case "B":
      return signed((bit(word, 31) << 12) | (bit(word, 7) << 11) | (bits(word, 30, 25) << 5) | (bits(word, 11, 8) << 1), 12);
    case "J":
      return signed((bit(word, 31) << 20) | (bits(word, 19, 12) << 12) | (bit(word, 20) << 11) | (bits(word, 30, 21) << 1), 20);
    case "CB":
      return signed((bit(half, 12) << 8) | (bits(half, 11, 10) << 3) | (bits(half, 6, 5) << 6) | (bits(half, 4, 3) << 1) | (bit(half, 2) << 5), 8);
    case "CJ":
      return signed(
        (bit(half, 12) << 11) |
          (bit(half, 11) << 4) |
          (bits(half, 10, 9) << 8) |
          (bit(half, 8) << 10) |
          (bit(half, 7) << 6) |
          (bit(half, 6) << 7) |
          (bits(half, 5, 3) << 1) |
          (bit(half, 2) << 5),
        11,
      );
  }
};
