/**
 * `.eh_frame` as Wasmtime writes it (reference §1.3–1.5): one CIE, one FDE
 * per function with SystemV unwind info in text order, 8-byte pc-relative
 * FDE addresses that assume `.eh_frame` starts right after the page-padded
 * text, each entry padded with DW_CFA_nop to a multiple of 8, and a u32 zero
 * terminator. Planned (every size known) before a byte is written.
 */
import { Either } from "effect";
import { type ByteWriter, slebSize, ulebSize } from "../../bytes/writer.js";
import type { ObjfoldError } from "../../errors.js";
import type { SystemVUnwind } from "../../schema/records.js";
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
  readonly fdes: ReadonlyArray<FdeSource>;
  /** Offset of each FDE inside `.eh_frame`. */
  readonly fdeOffsets: Float64Array;
  /** Size of each FDE's instructions (before padding). */
  readonly programSizes: Float64Array;
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

export const planEhFrame = (cie: Cie, fdes: ReadonlyArray<FdeSource>): Either.Either<EhFramePlan, ObjfoldError> => {
  const cieSize = cieSizeOf(cie);
  const fdeOffsets = new Float64Array(fdes.length);
  const programSizes = new Float64Array(fdes.length);
  let pos = cieSize;
  for (let k = 0; k < fdes.length; k++) {
    const f = fdes[k]!;
    const size = programSize(f.unwind, cie, f.item, f.name);
    if (Either.isLeft(size)) return Either.left(size.left);
    fdeOffsets[k] = pos;
    programSizes[k] = size.right;
    pos += pad8(FDE_FIXED + size.right);
  }
  return Either.right({ cie, cieSize, fdes, fdeOffsets, programSizes, size: pos + 4 });
};

/**
 * Write the planned section at the writer's position. `textSize` is the
 * page-padded `.text` size S: an FDE for code at text offset `o`, whose
 * pc_begin field sits at `p` in `.eh_frame`, stores `(o − S) − p`.
 */
export const writeEhFrame = (w: ByteWriter, plan: EhFramePlan, textSize: number): void => {
  const base = w.pos;
  const { cie } = plan;
  // CIE
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
  // FDEs
  const { fdes, fdeOffsets, programSizes } = plan;
  for (let k = 0; k < fdes.length; k++) {
    const f = fdes[k]!;
    const at = fdeOffsets[k]!;
    const size = pad8(FDE_FIXED + programSizes[k]!);
    w.expect(base + at, "FDE start");
    w.u32(size - 4);
    w.u32(at + 4); // back to the CIE at offset 0
    w.i64(f.textOffset - textSize - (at + 8));
    w.i64(f.unwind.length);
    w.u8(0);
    writeProgram(w, f.unwind, cie);
    w.expect(base + at + FDE_FIXED + programSizes[k]!, "FDE program end");
    w.pos = base + at + size;
  }
  w.u32(0);
  w.expect(base + plan.size, ".eh_frame end");
};
