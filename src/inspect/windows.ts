/**
 * Decoders of the Windows unwind tables objfold writes (docs/windows-unwind.md;
 * Microsoft's "x64 exception handling" and "ARM64 exception handling" pages):
 * `.pdata` entries, x64 `UNWIND_INFO` and ARM64 `.xdata` records, back to the
 * records' `windowsX64` / `windowsArm64` codes in prologue order.
 *
 * Every read is bounds-checked; a problem is a one-sentence string the caller
 * turns into a `MalformedObject` (the bytes do not hold what they claim) or
 * an `UnsupportedObject` (a valid encoding objfold never writes and the
 * record format cannot express: handlers, chained info, packed data, codes
 * such as `save_next`).
 */
import type { WinArm64Code, WinX64Code } from "../schema/records.js";

export type Problem = { readonly _tag: "MalformedObject" | "UnsupportedObject"; readonly reason: string };

const malformed = (reason: string): Problem => ({ _tag: "MalformedObject", reason });
const unsupported = (reason: string): Problem => ({ _tag: "UnsupportedObject", reason });
export const isProblem = (x: object): x is Problem => "_tag" in x;

const hex = (n: number): string => `0x${n.toString(16)}`;
const u16le = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
export const u32le = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

// MS-X64 names (the encoder's constants are not imported: this side reads the format).
const UWOP_PUSH_NONVOL = 0;
const UWOP_ALLOC_LARGE = 1;
const UWOP_ALLOC_SMALL = 2;
const UWOP_SET_FPREG = 3;
const UWOP_SAVE_NONVOL = 4;
const UWOP_SAVE_NONVOL_FAR = 5;
const UWOP_SAVE_XMM128 = 8;
const UWOP_SAVE_XMM128_FAR = 9;
const UWOP_PUSH_MACHFRAME = 10;

export interface X64UnwindInfo {
  readonly flags: number;
  readonly prologueSize: number;
  readonly frameRegister: number | null;
  readonly frameRegisterOffset: number;
  readonly codes: ReadonlyArray<WinX64Code>;
  /** Bytes of the record, the even padding slot included. */
  readonly size: number;
}

/** The `UNWIND_INFO` at offset `at` of `.xdata`. */
export const decodeX64UnwindInfo = (xdata: Uint8Array, at: number): X64UnwindInfo | Problem => {
  const where = `UNWIND_INFO at .xdata+${hex(at)}`;
  if (at < 0 || at + 4 > xdata.length) return malformed(`${where}: the 4-byte header lies outside the ${xdata.length}-byte .xdata`);
  const b0 = xdata[at]!;
  const version = b0 & 7;
  const flags = b0 >> 3;
  if (version !== 1) return unsupported(`${where}: version ${version} (objfold writes version 1)`);
  if (flags !== 0) return unsupported(`${where}: flags ${hex(flags)} (handlers and chained unwind info are not written by objfold)`);
  const prologueSize = xdata[at + 1]!;
  const count = xdata[at + 2]!;
  const b3 = xdata[at + 3]!;
  const size = 4 + 2 * (count + (count & 1));
  if (at + size > xdata.length) return malformed(`${where}: ${count} unwind code slots run past the end of the ${xdata.length}-byte .xdata`);
  const slots = at + 4;
  const stored: WinX64Code[] = [];
  for (let k = 0; k < count; ) {
    const s = slots + 2 * k;
    const off = xdata[s]!;
    const op = xdata[s + 1]! & 0x0f;
    const info = xdata[s + 1]! >> 4;
    const need = (n: number): Problem | undefined =>
      k + n > count ? malformed(`${where}: code at slot ${k} (op ${op}) needs ${n} slots, only ${count - k} left`) : undefined;
    let n = 1;
    switch (op) {
      case UWOP_PUSH_NONVOL:
        stored.push({ op: "pushRegister", at: off, register: info });
        break;
      case UWOP_ALLOC_LARGE:
        if (info === 0) {
          n = 2;
          const p = need(n);
          if (p !== undefined) return p;
          stored.push({ op: "stackAlloc", at: off, size: u16le(xdata, s + 2) * 8 });
        } else if (info === 1) {
          n = 3;
          const p = need(n);
          if (p !== undefined) return p;
          stored.push({ op: "stackAlloc", at: off, size: u32le(xdata, s + 2) });
        } else return malformed(`${where}: UWOP_ALLOC_LARGE at slot ${k} with operation info ${info} (0 or 1)`);
        break;
      case UWOP_ALLOC_SMALL:
        stored.push({ op: "stackAlloc", at: off, size: (info + 1) * 8 });
        break;
      case UWOP_SET_FPREG:
        stored.push({ op: "setFpRegister", at: off });
        break;
      case UWOP_SAVE_NONVOL:
      case UWOP_SAVE_XMM128: {
        n = 2;
        const p = need(n);
        if (p !== undefined) return p;
        const xmm = op === UWOP_SAVE_XMM128;
        stored.push({ op: xmm ? "saveXmm" : "saveReg", at: off, register: info, stackOffset: u16le(xdata, s + 2) * (xmm ? 16 : 8) });
        break;
      }
      case UWOP_SAVE_NONVOL_FAR:
      case UWOP_SAVE_XMM128_FAR: {
        n = 3;
        const p = need(n);
        if (p !== undefined) return p;
        stored.push({ op: op === UWOP_SAVE_XMM128_FAR ? "saveXmm" : "saveReg", at: off, register: info, stackOffset: u32le(xdata, s + 2) });
        break;
      }
      case UWOP_PUSH_MACHFRAME:
        return unsupported(`${where}: UWOP_PUSH_MACHFRAME at slot ${k} (not written by objfold)`);
      default:
        return unsupported(`${where}: unwind operation ${op} at slot ${k} (objfold writes 0-5, 8 and 9)`);
    }
    k += n;
  }
  const frame = b3 & 0x0f;
  return {
    flags,
    prologueSize,
    frameRegister: frame === 0 ? null : frame,
    frameRegisterOffset: (b3 >> 4) * 16,
    codes: stored.reverse(),
    size,
  };
};

// ---------------------------------------------------------------- ARM64

export interface Arm64Xdata {
  readonly functionLength: number;
  readonly hasPrologue: boolean;
  readonly codeWords: number;
  readonly codes: ReadonlyArray<WinArm64Code>;
  readonly size: number;
}

/** MS-A64 unwind code names, for the messages about codes objfold never writes. */
const arm64CodeName = (b: number): string => {
  if (b >= 0x20 && b < 0x40) return "save_r19r20_x";
  if (b >= 0x40 && b < 0x80) return "save_fplr with an offset";
  if (b >= 0xc8 && b < 0xcc) return "save_regp";
  if (b >= 0xd0 && b < 0xd4) return "save_reg";
  if (b === 0xd6 || b === 0xd7) return "save_lrpair";
  if (b === 0xd8 || b === 0xd9) return "save_fregp";
  if (b === 0xdc || b === 0xdd) return "save_freg";
  if (b === 0xe3) return "nop before end";
  if (b === 0xe5) return "end_c inside the codes";
  if (b === 0xe6) return "save_next";
  return `reserved code ${hex(b)}`;
};

/** The `.xdata` record at offset `at` (ARM64). */
export const decodeArm64Xdata = (xdata: Uint8Array, at: number): Arm64Xdata | Problem => {
  const where = `.xdata record at .xdata+${hex(at)}`;
  if (at < 0 || at + 4 > xdata.length) return malformed(`${where}: the header word lies outside the ${xdata.length}-byte .xdata`);
  const w0 = u32le(xdata, at);
  const functionLength = (w0 & 0x3ffff) * 4;
  const vers = (w0 >>> 18) & 3;
  const x = (w0 >>> 20) & 1;
  const e = (w0 >>> 21) & 1;
  let epilogCount = (w0 >>> 22) & 31;
  let codeWords = w0 >>> 27;
  let pos = at + 4;
  if (vers !== 0) return unsupported(`${where}: version ${vers} (objfold writes 0)`);
  if (x !== 0) return unsupported(`${where}: exception data present (X = 1), which objfold never writes`);
  if (epilogCount === 0 && codeWords === 0) {
    if (pos + 4 > xdata.length) return malformed(`${where}: the extension word lies outside .xdata`);
    const w1 = u32le(xdata, pos);
    epilogCount = w1 & 0xffff;
    codeWords = (w1 >>> 16) & 0xff;
    pos += 4;
  }
  // With E = 0 the epilog scopes (one word each) come before the codes; objfold writes none but skipping them is the format.
  if (e === 0) pos += 4 * epilogCount;
  const end = pos + 4 * codeWords;
  if (end > xdata.length) return malformed(`${where}: ${codeWords} code words run past the end of the ${xdata.length}-byte .xdata`);
  const stored: WinArm64Code[] = [];
  let hasPrologue = true;
  let i = pos;
  if (i < end && xdata[i] === 0xe5) {
    hasPrologue = false; // end_c: a fragment without prologue, its codes a phantom prologue
    i++;
  }
  let ended = false;
  while (i < end && !ended) {
    const b = xdata[i]!;
    const take = (n: number): number | Problem => {
      if (i + n > end) return malformed(`${where}: the ${n}-byte code at +${i - at} runs past the code words`);
      let v = 0;
      for (let k = 0; k < n; k++) v = v * 256 + xdata[i + k]!;
      i += n;
      return v;
    };
    let v: number | Problem;
    if (b < 0x20) {
      v = take(1);
      stored.push({ op: "allocS", size: b * 16 });
    } else if (b === 0x40) {
      v = take(1);
      stored.push({ op: "saveFpLrPair", stackOffset: 0 });
    } else if (b >= 0x80 && b < 0xc0) {
      v = take(1);
      stored.push({ op: "saveFpLrPair", stackOffset: ((b & 0x3f) + 1) * 8 });
    } else if (b >= 0xc0 && b < 0xc8) {
      v = take(2);
      if (typeof v !== "number") return v;
      stored.push({ op: "allocM", size: (v & 0x7ff) * 16 });
    } else if (b >= 0xcc && b < 0xd0) {
      v = take(2);
      if (typeof v !== "number") return v;
      stored.push({ op: "saveReg", register: 19 + ((v >> 6) & 0xf), stackOffset: ((v & 0x3f) + 1) * 8, isPair: true });
    } else if (b === 0xd4 || b === 0xd5) {
      v = take(2);
      if (typeof v !== "number") return v;
      stored.push({ op: "saveReg", register: 19 + ((v >> 5) & 0xf), stackOffset: ((v & 0x1f) + 1) * 8, isPair: false });
    } else if (b === 0xda || b === 0xdb) {
      v = take(2);
      if (typeof v !== "number") return v;
      stored.push({ op: "saveFReg", register: 8 + ((v >> 6) & 7), stackOffset: ((v & 0x3f) + 1) * 8, isPair: true });
    } else if (b === 0xde) {
      v = take(2);
      if (typeof v !== "number") return v;
      stored.push({ op: "saveFReg", register: 8 + ((v >> 5) & 7), stackOffset: ((v & 0x1f) + 1) * 8, isPair: false });
    } else if (b === 0xe0) {
      v = take(4);
      if (typeof v !== "number") return v;
      stored.push({ op: "allocL", size: (v % 0x1000000) * 16 });
    } else if (b === 0xe1) {
      v = take(1);
      stored.push({ op: "setFp" });
    } else if (b === 0xe2) {
      v = take(2);
      if (typeof v !== "number") return v;
      stored.push({ op: "addFp", offset: (v & 0xff) * 8 });
    } else if (b === 0xfc) {
      v = take(1);
      stored.push({ op: "pacSignLr" });
    } else if (b === 0xe4) {
      i++;
      ended = true;
      continue;
    } else return unsupported(`${where}: unwind code ${arm64CodeName(b)} at +${i - at} (not one objfold writes)`);
    if (typeof v !== "number") return v;
  }
  return { functionLength, hasPrologue, codeWords, codes: stored.reverse(), size: end - at };
};
