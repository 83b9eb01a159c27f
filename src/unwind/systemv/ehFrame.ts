/**
 * `.eh_frame` as Wasmtime writes it (reference §1.3–1.5): one CIE, one FDE
 * per function with SystemV unwind info in text order, 8-byte pc-relative
 * FDE addresses that assume `.eh_frame` starts right after the page-padded
 * text, each entry padded with DW_CFA_nop to a multiple of 8, and a u32 zero
 * terminator. Planned (every size known) before a byte is written.
 *
 * Speed (docs/performance.md): an FDE is 40 bytes for 3–4 instructions, so
 * per-FDE overhead is the cost. The plan keeps parallel arrays (no object per
 * FDE); a program equal (the same object) to the previous FDE's is checked
 * and sized once — the fast decoder hands out one object for a run of equal
 * unwind records — and its bytes are copied from the previous FDE instead of
 * being encoded again.
 */
import * as Either from "../../result.js";
import { runsOf, type Run } from "../../bytes/runs.js";
import { type ByteWriter, slebSize, ulebSize } from "../../bytes/writer.js";
import type { ObjfoldError } from "../../errors.js";
import type { FunctionColumns } from "../../layout/plan.js";
import type { SystemVUnwind, Unwind } from "../../schema/records.js";
import { type Cie } from "./cie.js";
import { instructionSize, programSize, writeInstruction, writeProgram } from "./cfi.js";
import { DW_EH_PE_pcrel } from "./dwarf.js";

/** One function's unwind entry: where its code is and what its program says. */
export interface FdeSource {
  readonly item: number;
  readonly name: string;
  readonly textOffset: number;
  readonly unwind: SystemVUnwind;
}

export interface EhFramePlan {
  readonly cie: Cie;
  readonly cieSize: number;
  /** How many FDEs. */
  readonly count: number;
  /** Text offset of each FDE's function (the functions' own column when every function has an FDE: no copy). */
  readonly textOffsets: ArrayLike<number>;
  /** Each FDE's program (likewise the functions' own list when every function has one). */
  readonly unwinds: ReadonlyArray<SystemVUnwind | Unwind | undefined>;
  /**
   * Size of each FDE's instructions, before padding. FDE k is
   * `pad8(FDE_FIXED + programSizes[k])` bytes and starts where the one
   * before it ends (the first right after the CIE): the offsets are summed
   * as the section is written, not kept (8 bytes an FDE at 10⁶ functions).
   */
  readonly programSizes: Uint32Array;
  /** Whole section, terminator included. */
  readonly size: number;
}

const pad8 = (n: number): number => (n + 7) & ~7;

/** Bytes of the CIE body before the instructions: id, version, "zR\0", factors, RA, augmentation data. */
const cieFixedSize = (cie: Cie): number => 4 + 1 + 3 + ulebSize(cie.codeAlign) + slebSize(cie.dataAlign) + ulebSize(cie.returnAddressRegister) + 2;

const cieSizeOf = (cie: Cie): number => {
  let n = 4 + cieFixedSize(cie);
  for (const i of cie.initialInstructions) n += instructionSize(i, cie);
  return pad8(n);
};

/** Length field (4) + CIE pointer (4) + pc_begin (8) + pc_range (8) + augmentation length (1). */
const FDE_FIXED = 4 + 4 + 8 + 8 + 1;

/**
 * Plan from `n` FDEs: their text offsets and programs, and (for errors) the
 * item and name of FDE k's function given by accessors.
 */
const planOf = (
  cie: Cie,
  n: number,
  textOffsets: ArrayLike<number>,
  unwinds: ReadonlyArray<SystemVUnwind | Unwind | undefined>,
  itemOf: (k: number) => number,
  nameOf: (k: number) => string,
): Either.Either<EhFramePlan, ObjfoldError> => {
  const cieSize = cieSizeOf(cie);
  const programSizes = new Uint32Array(n);
  let pos = cieSize;
  let last: SystemVUnwind | undefined;
  let lastSize = 0;
  for (let k = 0; k < n; k++) {
    const u = unwinds[k] as SystemVUnwind;
    if (u !== last) {
      // Checked against the CIE once per distinct program: the same object gives the same answer.
      const size = programSize(u, cie, itemOf(k), nameOf(k));
      if (Either.isLeft(size)) return Either.left(size.left);
      last = u;
      lastSize = size.right;
    }
    programSizes[k] = lastSize;
    pos += pad8(FDE_FIXED + lastSize);
  }
  return Either.right({ cie, cieSize, count: n, textOffsets, unwinds, programSizes, size: pos + 4 });
};

/** Plan `.eh_frame` for these FDEs, in order; an invalid program is an error that names its function. */
export const planEhFrame = (cie: Cie, fdes: ReadonlyArray<FdeSource>): Either.Either<EhFramePlan, ObjfoldError> =>
  planOf(
    cie,
    fdes.length,
    Float64Array.from(fdes, (f) => f.textOffset),
    fdes.map((f) => f.unwind),
    (k) => fdes[k]!.item,
    (k) => fdes[k]!.name,
  );

/**
 * Plan `.eh_frame` for the placed functions that have unwind info (assumed
 * SystemV: the caller checked the target's unwind ABI), in text order.
 */
export const planEhFrameOfFunctions = (cie: Cie, fns: FunctionColumns): Either.Either<EhFramePlan, ObjfoldError> => {
  const unwind = fns.unwind;
  let n = 0;
  for (let k = 0; k < fns.count; k++) if (unwind[k] !== undefined) n++;
  // Every function has an FDE (the usual case): the functions' own columns, no copy.
  if (n === fns.count) return planOf(cie, n, fns.offset, unwind, (k) => fns.item[k]!, (k) => fns.nameOf(k));
  // Function index of the k-th FDE.
  const rows = new Int32Array(n);
  n = 0;
  for (let k = 0; k < fns.count; k++) if (unwind[k] !== undefined) rows[n++] = k;
  return planOf(
    cie,
    n,
    Uint32Array.from(rows, (k) => fns.offset[k]!),
    Array.from(rows, (k) => unwind[k]),
    (k) => fns.item[rows[k]!]!,
    (k) => fns.nameOf(rows[k]!),
  );
};

/**
 * Write the planned section, or the FDEs `[from, to)` of it, at the writer's
 * position: the CIE comes with the first FDE (or alone when there are none)
 * and the terminator with the last. `textSize` is the page-padded `.text`
 * size S: an FDE for code at text offset `o`, whose pc_begin field sits at
 * `p` in `.eh_frame`, stores `(o − S) − p`.
 */
export const writeEhFrame = (w: ByteWriter, plan: EhFramePlan, textSize: number, from = 0, to = plan.count, fromOffset = plan.cieSize): void => {
  const { cie, textOffsets, unwinds, programSizes } = plan;
  const n = plan.count;
  const start = from === 0 ? 0 : fromOffset;
  const base = w.pos - start; // writer position of the section's offset 0
  if (from === 0) {
    w.u32(plan.cieSize - 4);
    w.u32(0);
    w.u8(1);
    w.u8(0x7a); // 'z'
    w.u8(0x52); // 'R'
    w.u8(0);
    w.uleb(cie.codeAlign);
    w.sleb(cie.dataAlign);
    w.uleb(cie.returnAddressRegister);
    w.u8(1);
    w.u8(DW_EH_PE_pcrel);
    for (const i of cie.initialInstructions) writeInstruction(w, i, cie);
    w.pos = base + plan.cieSize; // DW_CFA_nop padding is zero
  }
  const buf = w.buf;
  // The first FDE of a run encodes its program; later ones copy the one before when it is the same.
  let last: SystemVUnwind | undefined;
  let lastProgram = 0;
  let at = fromOffset; // FDE k's offset in the section
  for (let k = from; k < to; k++) {
    const u = unwinds[k] as SystemVUnwind;
    const programSize = programSizes[k]!;
    const size = pad8(FDE_FIXED + programSize);
    w.expect(base + at, "FDE start");
    w.u32(size - 4);
    w.u32(at + 4); // back to the CIE at offset 0
    w.i64(textOffsets[k]! - textSize - (at + 8));
    w.i64(u.length);
    w.u8(0);
    const program = w.pos;
    if (u === last) {
      // The same program as the FDE before: its bytes, copied (short programs byte by byte).
      if (programSize > 32) buf.copyWithin(program, lastProgram, lastProgram + programSize);
      else for (let i = 0; i < programSize; i++) buf[program + i] = buf[lastProgram + i]!;
      w.pos = program + programSize;
    } else writeProgram(w, u, cie);
    last = u;
    lastProgram = program;
    w.expect(base + at + FDE_FIXED + programSize, "FDE program end");
    at += size;
    w.pos = base + at;
  }
  if (to === n) {
    w.u32(0);
    w.expect(base + plan.size, ".eh_frame end");
  }
};

/** The section cut into runs of whole FDEs of about `bytes` bytes (the CIE goes with the first, the terminator with the last). */
export const ehFrameRuns = (plan: EhFramePlan, bytes: number): Run[] => {
  const programSizes = plan.programSizes;
  return runsOf(plan.count, plan.cieSize, 4, (k) => pad8(FDE_FIXED + programSizes[k]!), bytes, plan.size);
};
