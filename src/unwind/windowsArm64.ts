/**
 * Windows ARM64 `.xdata` records (reference §4, with the corrections of §13),
 * as Microsoft's "ARM64 exception handling" documentation defines them:
 *
 * ```
 * word 0   Function Length / 4 (18 bits) | Vers (2, = 0) | X (1, = 0) | E (1)
 *          | Epilog Count (5) | Code Words (5)
 * word 1   only when Epilog Count and Code Words are both 0:
 *          Extended Epilog Count (16) | Extended Code Words (8)
 * then     Code Words × 4 bytes of unwind codes, big-endian each, the last
 *          prologue instruction's code first, ended by `end` (0xE4) and
 *          padded with `nop` (0xE3)
 * ```
 *
 * No epilog scopes are written (as upstream: Cranelift gives no epilogue
 * information), so the codes describe the prologue and, from the body, the
 * whole frame.
 *
 * A function longer than the 18-bit length field can describe (1 MiB − 4)
 * is split into fragments, as the documentation's "Large functions" section
 * asks: the first fragment carries the prologue; every later one is a
 * "no prologue, no epilogue" fragment whose codes are the same sequence
 * bracketed by `end_c` … `end` (a phantom prologue of size zero), with E = 1
 * and the packed epilog index pointing at `end_c` (LLVM's encoding of the
 * same case). Each fragment gets its own `.pdata` and `.xdata` entry.
 *
 * Example: `[saveFpLrPair 16, setFp]` on a 20-byte function gives
 * `05 00 00 08  E1 81 E4 E3`.
 */
import type { ByteWriter } from "../bytes/writer.js";
import type { ObjfoldError } from "../errors.js";
import type { WindowsArm64Unwind, WinArm64Code } from "../schema/records.js";
import { outOfRange, type UnwindSource } from "./windowsX64.js";

// ---------------------------------------------------------------- wire constants (MS-A64 names)

/** Fixed one-byte codes. */
export const UWOP_ARM64_SET_FP = 0xe1; // set_fp: mov x29, sp
export const UWOP_ARM64_NOP = 0xe3; // nop
export const UWOP_ARM64_END = 0xe4; // end
export const UWOP_ARM64_END_C = 0xe5; // end_c: end of the codes of the current (chained) scope
export const UWOP_ARM64_PAC_SIGN_LR = 0xfc; // pac_sign_lr: pacibsp

/** Code prefixes (the value bits are or-ed in). */
export const UWOP_ARM64_ALLOC_S = 0x00; // 000xxxxx
export const UWOP_ARM64_SAVE_FPLR = 0x40; // 01zzzzzz
export const UWOP_ARM64_SAVE_FPLR_X = 0x80; // 10zzzzzz
export const UWOP_ARM64_ALLOC_M = 0xc000; // 11000xxx'xxxxxxxx
export const UWOP_ARM64_SAVE_REGP_X = 0xcc00; // 110011xx'xxzzzzzz
export const UWOP_ARM64_SAVE_REG_X = 0xd400; // 1101010x'xxxzzzzz
export const UWOP_ARM64_SAVE_FREGP_X = 0xda00; // 1101101x'xxzzzzzz
export const UWOP_ARM64_SAVE_FREG_X = 0xde00; // 11011110'xxxzzzzz
export const UWOP_ARM64_ALLOC_L = 0xe0000000; // 11100000'xxxxxxxx'xxxxxxxx'xxxxxxxx
export const UWOP_ARM64_ADD_FP = 0xe200; // 11100010'xxxxxxxx

/** Header bit positions. */
const FUNCTION_LENGTH_BITS = 18;
const E_BIT = 1 << 21;
const CODE_WORDS_SHIFT = 27;
/** Largest Code Words value the first header word holds; more needs the extension word. */
export const MAX_HEADER_CODE_WORDS = 31;
/** Largest Extended Code Words value (8 bits). */
export const MAX_EXTENDED_CODE_WORDS = 255;
/** Largest fragment: the 18-bit length field counts 4-byte instructions. */
export const MAX_FRAGMENT_LENGTH = ((1 << FUNCTION_LENGTH_BITS) - 1) * 4;

// ---------------------------------------------------------------- validation

const fits = (v: number, min: number, max: number, step = 1): boolean => Number.isSafeInteger(v) && v >= min && v <= max && v % step === 0;

/** Bytes of one code. */
const codeBytes = (c: WinArm64Code): number => {
  switch (c.op) {
    case "saveFpLrPair":
    case "allocS":
    case "pacSignLr":
    case "setFp":
      return 1;
    case "saveReg":
    case "saveFReg":
    case "allocM":
    case "addFp":
      return 2;
    case "allocL":
      return 4;
  }
};

const checkCode = (src: UnwindSource, c: WinArm64Code, i: number): ObjfoldError | undefined => {
  switch (c.op) {
    case "saveReg":
      if (c.isPair) {
        // save_regp_x: stp x(19+X), x(20+X), [sp, #-(Z+1)*8]!
        if (!fits(c.register, 19, 29)) return outOfRange(src, i, "saveReg", "register", c.register, "19..29 for a pair (x19…x29 with the next register)");
        if (!fits(c.stackOffset, 8, 512, 8)) return outOfRange(src, i, "saveReg", "stackOffset", c.stackOffset, "a multiple of 8 from 8 to 512 (save_regp_x)");
      } else {
        // save_reg_x: str x(19+X), [sp, #-(Z+1)*8]!
        if (!fits(c.register, 19, 30)) return outOfRange(src, i, "saveReg", "register", c.register, "19..30 (x19…x30)");
        if (!fits(c.stackOffset, 8, 256, 8)) return outOfRange(src, i, "saveReg", "stackOffset", c.stackOffset, "a multiple of 8 from 8 to 256 (save_reg_x)");
      }
      return undefined;
    case "saveFReg":
      if (c.isPair) {
        // save_fregp_x: stp d(8+X), d(9+X), [sp, #-(Z+1)*8]!
        if (!fits(c.register, 8, 14)) return outOfRange(src, i, "saveFReg", "register", c.register, "8..14 for a pair (d8…d14 with the next register)");
        if (!fits(c.stackOffset, 8, 512, 8)) return outOfRange(src, i, "saveFReg", "stackOffset", c.stackOffset, "a multiple of 8 from 8 to 512 (save_fregp_x)");
      } else {
        // save_freg_x: str d(8+X), [sp, #-(Z+1)*8]!
        if (!fits(c.register, 8, 15)) return outOfRange(src, i, "saveFReg", "register", c.register, "8..15 (d8…d15)");
        if (!fits(c.stackOffset, 8, 256, 8)) return outOfRange(src, i, "saveFReg", "stackOffset", c.stackOffset, "a multiple of 8 from 8 to 256 (save_freg_x)");
      }
      return undefined;
    case "saveFpLrPair":
      // 0: save_fplr (stp x29, lr, [sp]); otherwise save_fplr_x (stp x29, lr, [sp, #-(Z+1)*8]!)
      if (c.stackOffset !== 0 && !fits(c.stackOffset, 8, 512, 8))
        return outOfRange(src, i, "saveFpLrPair", "stackOffset", c.stackOffset, "0 (save_fplr) or a multiple of 8 from 8 to 512 (save_fplr_x)");
      return undefined;
    case "allocS":
      if (!fits(c.size, 0, 496, 16)) return outOfRange(src, i, "allocS", "size", c.size, "a multiple of 16 below 512 (alloc_s holds size/16 in 5 bits)");
      return undefined;
    case "allocM":
      if (!fits(c.size, 0, 32752, 16)) return outOfRange(src, i, "allocM", "size", c.size, "a multiple of 16 below 32768 (alloc_m holds size/16 in 11 bits)");
      return undefined;
    case "allocL":
      if (!fits(c.size, 0, 0xffffff0, 16)) return outOfRange(src, i, "allocL", "size", c.size, "a multiple of 16 below 268435456 (alloc_l holds size/16 in 24 bits)");
      return undefined;
    case "addFp":
      if (!fits(c.offset, 0, 2040, 8)) return outOfRange(src, i, "addFp", "offset", c.offset, "a multiple of 8 from 0 to 2040 (add_fp holds offset/8 in 8 bits)");
      return undefined;
    case "pacSignLr":
    case "setFp":
      return undefined;
  }
};

/** One `.pdata`/`.xdata` pair: a piece of a function, from `offset` for `length` bytes. */
export interface Arm64Fragment {
  /** Offset from the function start. */
  readonly offset: number;
  readonly length: number;
  /** The first fragment has the prologue; the others start their codes with `end_c`. */
  readonly hasPrologue: boolean;
  /** Unwind-code words (codes, `end_c`, `end`, `nop` padding). */
  readonly codeWords: number;
  /** Bytes of this fragment's `.xdata` record. */
  readonly size: number;
}

export interface Arm64UnwindPlan {
  readonly unwind: WindowsArm64Unwind;
  /** Bytes of the codes themselves, without `end_c`/`end`/padding. */
  readonly codeBytes: number;
  readonly fragments: ReadonlyArray<Arm64Fragment>;
}

const xdataSize = (codeWords: number): number => (codeWords > MAX_HEADER_CODE_WORDS ? 8 : 4) + 4 * codeWords;

/**
 * Validate a record for a function of `length` bytes and plan its
 * fragments, or return the first problem.
 */
export const planArm64Unwind = (src: UnwindSource, u: WindowsArm64Unwind, length: number): Arm64UnwindPlan | ObjfoldError => {
  if (!fits(length, 0, Number.MAX_SAFE_INTEGER, 4))
    return outOfRange(src, -1, "header", "functionLength", length, "a multiple of 4 (Function Length counts 4-byte instructions)");
  let bytes = 0;
  for (let i = 0; i < u.codes.length; i++) {
    const c = u.codes[i]!;
    const bad = checkCode(src, c, i);
    if (bad !== undefined) return bad;
    bytes += codeBytes(c);
  }
  const words = (withEndC: boolean): number => Math.ceil((bytes + 1 + (withEndC ? 1 : 0)) / 4);
  const fragments: Arm64Fragment[] = [];
  let offset = 0;
  do {
    const len = Math.min(length - offset, MAX_FRAGMENT_LENGTH);
    const hasPrologue = offset === 0;
    const codeWords = words(!hasPrologue);
    if (codeWords > MAX_EXTENDED_CODE_WORDS)
      return outOfRange(src, -1, "header", "codeWords", codeWords, `at most ${MAX_EXTENDED_CODE_WORDS} words of unwind codes (${4 * MAX_EXTENDED_CODE_WORDS} bytes, end code included)`);
    fragments.push({ offset, length: len, hasPrologue, codeWords, size: xdataSize(codeWords) });
    offset += len;
  } while (offset < length);
  return { unwind: u, codeBytes: bytes, fragments };
};

// ---------------------------------------------------------------- write

const le32 = (w: ByteWriter, v: number): void => {
  w.u8(v & 0xff);
  w.u8((v >>> 8) & 0xff);
  w.u8((v >>> 16) & 0xff);
  w.u8((v >>> 24) & 0xff);
};

const be16 = (w: ByteWriter, v: number): void => {
  w.u8((v >>> 8) & 0xff);
  w.u8(v & 0xff);
};

/** `x / 8 − 1`: the Z field of the pre-indexed saves ([sp, #-(Z+1)*8]!). */
const z = (offset: number): number => offset / 8 - 1;

const writeCode = (w: ByteWriter, c: WinArm64Code): void => {
  switch (c.op) {
    case "saveReg":
      if (c.isPair) be16(w, UWOP_ARM64_SAVE_REGP_X | ((c.register - 19) << 6) | z(c.stackOffset));
      else be16(w, UWOP_ARM64_SAVE_REG_X | ((c.register - 19) << 5) | z(c.stackOffset));
      return;
    case "saveFReg":
      if (c.isPair) be16(w, UWOP_ARM64_SAVE_FREGP_X | ((c.register - 8) << 6) | z(c.stackOffset));
      else be16(w, UWOP_ARM64_SAVE_FREG_X | ((c.register - 8) << 5) | z(c.stackOffset));
      return;
    case "saveFpLrPair":
      w.u8(c.stackOffset === 0 ? UWOP_ARM64_SAVE_FPLR : UWOP_ARM64_SAVE_FPLR_X | z(c.stackOffset));
      return;
    case "allocS":
      w.u8(UWOP_ARM64_ALLOC_S | (c.size / 16));
      return;
    case "allocM":
      be16(w, UWOP_ARM64_ALLOC_M | (c.size / 16));
      return;
    case "allocL": {
      const v = c.size / 16; // < 2^24
      w.u8(UWOP_ARM64_ALLOC_L >>> 24);
      w.u8((v >>> 16) & 0xff);
      w.u8((v >>> 8) & 0xff);
      w.u8(v & 0xff);
      return;
    }
    case "pacSignLr":
      w.u8(UWOP_ARM64_PAC_SIGN_LR);
      return;
    case "setFp":
      w.u8(UWOP_ARM64_SET_FP);
      return;
    case "addFp":
      be16(w, UWOP_ARM64_ADD_FP | (c.offset / 8));
      return;
  }
};

/** Write one planned fragment's `.xdata` record (exactly `fragment.size` bytes) at the writer's position. */
export const writeArm64Xdata = (w: ByteWriter, plan: Arm64UnwindPlan, fragment: Arm64Fragment): void => {
  const start = w.pos;
  const { codeWords } = fragment;
  const extended = codeWords > MAX_HEADER_CODE_WORDS;
  // E = 1 with Epilog Count (the packed epilog's start index) 0 → points at end_c.
  const e = fragment.hasPrologue ? 0 : E_BIT;
  le32(w, ((fragment.length / 4) | e | (extended ? 0 : codeWords << CODE_WORDS_SHIFT)) >>> 0);
  if (extended) le32(w, codeWords << 16);
  if (!fragment.hasPrologue) w.u8(UWOP_ARM64_END_C);
  const codes = plan.unwind.codes;
  for (let i = codes.length - 1; i >= 0; i--) writeCode(w, codes[i]!);
  w.u8(UWOP_ARM64_END);
  const end = start + fragment.size;
  while (w.pos < end) w.u8(UWOP_ARM64_NOP);
  w.expect(end, "ARM64 .xdata record end");
};
