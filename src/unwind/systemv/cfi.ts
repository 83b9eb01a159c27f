/**
 * Call-frame instructions as gimli's `CallFrameInstruction::write` encodes
 * them (reference §1.2): a size/write pair per instruction, plus the advance
 * codes. Validation (factoring, order) happens in `checkProgram`, so sizing
 * and writing never fail.
 */
import * as Either from "../../result.js";
import { type ByteWriter, slebSize, ulebSize } from "../../bytes/writer.js";
import type { ObjfoldError } from "../../errors.js";
import type { CfaInstruction, SystemVUnwind } from "../../schema/records.js";
import type { Cie } from "./cie.js";
import * as D from "./dwarf.js";

/** gimli factors with Rust's truncating division and refuses a remainder. */
const factored = (x: number, f: number): number => Math.trunc(x / f);

export const instructionSize = (i: CfaInstruction, cie: Cie): number => {
  switch (i.op) {
    case "cfa":
      return i.offset < 0
        ? 1 + ulebSize(i.register) + slebSize(factored(i.offset, cie.dataAlign))
        : 1 + ulebSize(i.register) + ulebSize(i.offset);
    case "cfaRegister":
    case "undefined":
    case "sameValue":
      return 1 + ulebSize(i.register);
    case "cfaOffset":
      return i.offset < 0 ? 1 + slebSize(factored(i.offset, cie.dataAlign)) : 1 + ulebSize(i.offset);
    case "restore":
      return i.register < 0x40 ? 1 : 1 + ulebSize(i.register);
    case "offset": {
      const n = factored(i.offset, cie.dataAlign);
      if (n < 0) return 1 + ulebSize(i.register) + slebSize(n);
      return i.register < 0x40 ? 1 + ulebSize(n) : 1 + ulebSize(i.register) + ulebSize(n);
    }
    case "valOffset": {
      const n = factored(i.offset, cie.dataAlign);
      return 1 + ulebSize(i.register) + (n < 0 ? slebSize(n) : ulebSize(n));
    }
    case "register":
      return 1 + ulebSize(i.register) + ulebSize(i.fromRegister);
    case "rememberState":
    case "restoreState":
      return 1;
    case "argsSize":
      return 1 + ulebSize(i.size);
    case "aarch64SetPointerAuth":
      return 4; // val_expression, reg 34, length 1, DW_OP_lit0/1
  }
};

export const writeInstruction = (w: ByteWriter, i: CfaInstruction, cie: Cie): void => {
  switch (i.op) {
    case "cfa":
      if (i.offset < 0) {
        w.u8(D.DW_CFA_def_cfa_sf);
        w.uleb(i.register);
        w.sleb(factored(i.offset, cie.dataAlign));
      } else {
        w.u8(D.DW_CFA_def_cfa);
        w.uleb(i.register);
        w.uleb(i.offset);
      }
      return;
    case "cfaRegister":
      w.u8(D.DW_CFA_def_cfa_register);
      w.uleb(i.register);
      return;
    case "cfaOffset":
      if (i.offset < 0) {
        w.u8(D.DW_CFA_def_cfa_offset_sf);
        w.sleb(factored(i.offset, cie.dataAlign));
      } else {
        w.u8(D.DW_CFA_def_cfa_offset);
        w.uleb(i.offset);
      }
      return;
    case "restore":
      if (i.register < 0x40) w.u8(D.DW_CFA_restore | i.register);
      else {
        w.u8(D.DW_CFA_restore_extended);
        w.uleb(i.register);
      }
      return;
    case "undefined":
      w.u8(D.DW_CFA_undefined);
      w.uleb(i.register);
      return;
    case "sameValue":
      w.u8(D.DW_CFA_same_value);
      w.uleb(i.register);
      return;
    case "offset": {
      const n = factored(i.offset, cie.dataAlign);
      if (n < 0) {
        w.u8(D.DW_CFA_offset_extended_sf);
        w.uleb(i.register);
        w.sleb(n);
      } else if (i.register < 0x40) {
        w.u8(D.DW_CFA_offset | i.register);
        w.uleb(n);
      } else {
        w.u8(D.DW_CFA_offset_extended);
        w.uleb(i.register);
        w.uleb(n);
      }
      return;
    }
    case "valOffset": {
      const n = factored(i.offset, cie.dataAlign);
      if (n < 0) {
        w.u8(D.DW_CFA_val_offset_sf);
        w.uleb(i.register);
        w.sleb(n);
      } else {
        w.u8(D.DW_CFA_val_offset);
        w.uleb(i.register);
        w.uleb(n);
      }
      return;
    }
    case "register":
      w.u8(D.DW_CFA_register);
      w.uleb(i.register);
      w.uleb(i.fromRegister);
      return;
    case "rememberState":
      w.u8(D.DW_CFA_remember_state);
      return;
    case "restoreState":
      w.u8(D.DW_CFA_restore_state);
      return;
    case "argsSize":
      w.u8(D.DW_CFA_GNU_args_size);
      w.uleb(i.size);
      return;
    case "aarch64SetPointerAuth":
      w.u8(D.DW_CFA_val_expression);
      w.u8(D.AARCH64_RA_SIGN_STATE);
      w.u8(1);
      w.u8(i.returnAddresses ? D.DW_OP_lit1 : D.DW_OP_lit0);
      return;
  }
};

/** Advance from code offset `prev` to `at` (gimli `write_advance_loc`): 0 bytes when equal. */
export const advanceSize = (delta: number): number => (delta === 0 ? 0 : delta < 0x40 ? 1 : delta < 0x100 ? 2 : delta < 0x10000 ? 3 : 5);

export const writeAdvance = (w: ByteWriter, delta: number): void => {
  if (delta === 0) return;
  if (delta < 0x40) w.u8(D.DW_CFA_advance_loc | delta);
  else if (delta < 0x100) {
    w.u8(D.DW_CFA_advance_loc1);
    w.u8(delta);
  } else if (delta < 0x10000) {
    w.u8(D.DW_CFA_advance_loc2);
    w.u16(delta);
  } else {
    w.u8(D.DW_CFA_advance_loc4);
    w.u32(delta);
  }
};

/** Offsets that gimli factors by the data-alignment factor. */
const factoredOffset = (i: CfaInstruction): number | undefined => {
  switch (i.op) {
    case "offset":
    case "valOffset":
      return i.offset;
    case "cfa":
    case "cfaOffset":
      return i.offset < 0 ? i.offset : undefined;
    default:
      return undefined;
  }
};

/**
 * Check a function's program against its CIE and return the size of the
 * encoded instructions (advances included). Errors name the instruction.
 */
export const programSize = (u: SystemVUnwind, cie: Cie, item: number, fn: string): Either.Either<number, ObjfoldError> => {
  let size = 0;
  let prev = 0;
  const ins = u.instructions;
  for (let k = 0; k < ins.length; k++) {
    const i = ins[k]!;
    if (i.at < prev) return Either.left({ _tag: "UnwindOutOfOrder", item, function: fn, index: k, at: i.at, previous: prev });
    if (i.at > u.length) return Either.left({ _tag: "UnwindBeyondLength", item, function: fn, index: k, at: i.at, length: u.length });
    const d = i.at - prev;
    if (d % cie.codeAlign !== 0)
      return Either.left({ _tag: "UnwindNotFactored", item, function: fn, index: k, field: "at", value: i.at, factor: cie.codeAlign });
    const off = factoredOffset(i);
    if (off !== undefined && off % cie.dataAlign !== 0)
      return Either.left({ _tag: "UnwindNotFactored", item, function: fn, index: k, field: "offset", value: off, factor: cie.dataAlign });
    size += advanceSize(d / cie.codeAlign) + instructionSize(i, cie);
    prev = i.at;
  }
  return Either.right(size);
};

/** Write a checked program (see `programSize`). */
export const writeProgram = (w: ByteWriter, u: SystemVUnwind, cie: Cie): void => {
  let prev = 0;
  const ins = u.instructions;
  for (let k = 0; k < ins.length; k++) {
    const i = ins[k]!;
    writeAdvance(w, (i.at - prev) / cie.codeAlign);
    writeInstruction(w, i, cie);
    prev = i.at;
  }
};
