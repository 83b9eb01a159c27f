/**
 * Windows x64 `UNWIND_INFO` (reference §3, with the corrections of §13), as
 * Microsoft's "x64 exception handling" documentation defines it:
 *
 * ```
 * byte 0   Version (3 bits, = 1) | Flags (5 bits, = 0 here)
 * byte 1   SizeOfProlog
 * byte 2   CountOfCodes             (16-bit slots, not codes)
 * byte 3   FrameRegister (4 bits) | FrameOffset (4 bits, offset / 16)
 * then     CountOfCodes slots, last prologue instruction first,
 *          padded with one zero slot to an even count
 * ```
 *
 * Each slot is `[offset in prolog, op | info << 4]`, followed by the code's
 * extra slots (little-endian u16 / u32 values).
 *
 * `checkX64Unwind` validates one record and returns its slot count;
 * `x64UnwindInfoSize` and `writeX64UnwindInfo` then never fail and agree
 * byte for byte (both decide the form of a code with the same `formOf`).
 *
 * Example: `pushRegister rbp @1, setFpRegister @4, stackAlloc 32 @8` with
 * `frameRegister: 5` gives `01 08 03 05  08 32 04 03 01 50 00 00`.
 */
import type { ByteWriter } from "../bytes/writer.js";
import type { ObjfoldError } from "../errors.js";
import type { WindowsX64Unwind, WinX64Code } from "../schema/records.js";

// ---------------------------------------------------------------- wire constants (MS-X64 names)

/** `UNWIND_INFO.Version`: the only version defined. */
export const UNW_VERSION = 1;
export const UNW_FLAG_NHANDLER = 0;
export const UNW_FLAG_EHANDLER = 1;
export const UNW_FLAG_UHANDLER = 2;
export const UNW_FLAG_CHAININFO = 4;

export const UWOP_PUSH_NONVOL = 0;
export const UWOP_ALLOC_LARGE = 1;
export const UWOP_ALLOC_SMALL = 2;
export const UWOP_SET_FPREG = 3;
export const UWOP_SAVE_NONVOL = 4;
export const UWOP_SAVE_NONVOL_FAR = 5;
export const UWOP_SAVE_XMM128 = 8;
export const UWOP_SAVE_XMM128_FAR = 9;
export const UWOP_PUSH_MACHFRAME = 10;

/** Largest value of a u8 field (prologue size, offsets in the prologue, slot count). */
const U8_MAX = 0xff;
const U16_MAX = 0xffff;

/** Bytes of the fixed `UNWIND_INFO` header. */
export const UNWIND_INFO_HEADER_SIZE = 4;

// ---------------------------------------------------------------- forms

/**
 * The encoding a code gets: the op, and how many 16-bit slots it takes.
 * Decided once, here, for both the size and the bytes.
 */
interface Form {
  readonly op: number;
  readonly slots: 1 | 2 | 3;
}

const PUSH: Form = { op: UWOP_PUSH_NONVOL, slots: 1 };
const SET_FP: Form = { op: UWOP_SET_FPREG, slots: 1 };
const ALLOC_SMALL: Form = { op: UWOP_ALLOC_SMALL, slots: 1 };
const ALLOC_LARGE_16: Form = { op: UWOP_ALLOC_LARGE, slots: 2 };
const ALLOC_LARGE_32: Form = { op: UWOP_ALLOC_LARGE, slots: 3 };
const SAVE_NONVOL: Form = { op: UWOP_SAVE_NONVOL, slots: 2 };
const SAVE_NONVOL_FAR: Form = { op: UWOP_SAVE_NONVOL_FAR, slots: 3 };
const SAVE_XMM128: Form = { op: UWOP_SAVE_XMM128, slots: 2 };
const SAVE_XMM128_FAR: Form = { op: UWOP_SAVE_XMM128_FAR, slots: 3 };

/**
 * The form of a (valid) code. The short forms hold the offset scaled by 8
 * (`UWOP_SAVE_NONVOL`, `UWOP_ALLOC_LARGE` info 0) or 16 (`UWOP_SAVE_XMM128`)
 * in one u16; when the scaled value does not fit, the far form holds the
 * unscaled value as a u32 in two slots. Microsoft asks for the shortest form.
 */
const formOf = (c: WinX64Code): Form => {
  switch (c.op) {
    case "pushRegister":
      return PUSH;
    case "setFpRegister":
      return SET_FP;
    case "stackAlloc":
      return c.size <= 128 ? ALLOC_SMALL : c.size / 8 <= U16_MAX ? ALLOC_LARGE_16 : ALLOC_LARGE_32;
    case "saveReg":
      return c.stackOffset / 8 <= U16_MAX ? SAVE_NONVOL : SAVE_NONVOL_FAR;
    case "saveXmm":
      return c.stackOffset / 16 <= U16_MAX ? SAVE_XMM128 : SAVE_XMM128_FAR;
  }
};

// ---------------------------------------------------------------- validation

/** Where a record comes from, for error values. */
export interface UnwindSource {
  readonly item: number;
  readonly name: string;
}

/** An `UnwindValueOutOfRange` naming the function, the code and the field (shared by both Windows encoders). */
export const outOfRange = (src: UnwindSource, index: number, code: string, field: string, value: number, allowed: string): ObjfoldError => ({
  _tag: "UnwindValueOutOfRange",
  item: src.item,
  function: src.name,
  index,
  code,
  field,
  value,
  allowed,
});

const isInt = (v: number): boolean => Number.isSafeInteger(v);

/** A value that is an integer in `[min, max]` and a multiple of `step`. */
const fits = (v: number, min: number, max: number, step = 1): boolean => isInt(v) && v >= min && v <= max && v % step === 0;

/** Check one code's own fields (not its position). */
const checkCode = (src: UnwindSource, u: WindowsX64Unwind, c: WinX64Code, i: number): ObjfoldError | undefined => {
  switch (c.op) {
    case "pushRegister":
      if (!fits(c.register, 0, 15)) return outOfRange(src, i, c.op, "register", c.register, "0..15 (rax … r15)");
      return undefined;
    case "saveReg":
      if (!fits(c.register, 0, 15)) return outOfRange(src, i, c.op, "register", c.register, "0..15 (rax … r15)");
      if (!fits(c.stackOffset, 0, 0xfffffff8, 8))
        return outOfRange(src, i, c.op, "stackOffset", c.stackOffset, "a multiple of 8 from 0 to 4294967288 (UWOP_SAVE_NONVOL holds offset/8 in a u16, UWOP_SAVE_NONVOL_FAR the offset in a u32)");
      return undefined;
    case "saveXmm":
      if (!fits(c.register, 0, 15)) return outOfRange(src, i, c.op, "register", c.register, "0..15 (xmm0 … xmm15)");
      if (!fits(c.stackOffset, 0, 0xfffffff0, 16))
        return outOfRange(src, i, c.op, "stackOffset", c.stackOffset, "a multiple of 16 from 0 to 4294967280 (UWOP_SAVE_XMM128 holds offset/16 in a u16, UWOP_SAVE_XMM128_FAR the offset in a u32)");
      return undefined;
    case "stackAlloc":
      if (!fits(c.size, 8, 0xfffffff8, 8))
        return outOfRange(src, i, c.op, "size", c.size, "a multiple of 8 from 8 to 4294967288 (UWOP_ALLOC_SMALL up to 128, UWOP_ALLOC_LARGE beyond)");
      return undefined;
    case "setFpRegister":
      // UWOP_SET_FPREG sets the header's FrameRegister; 0 there means "no frame register".
      if (u.frameRegister === null) return outOfRange(src, i, c.op, "frameRegister", 0, "a frame register (1..15) in the header: frameRegister is null");
      return undefined;
  }
};

/**
 * Validate a record and return the number of 16-bit slots its codes take
 * (the `CountOfCodes` byte, before the even padding), or the first problem.
 */
export const checkX64Unwind = (src: UnwindSource, u: WindowsX64Unwind): number | ObjfoldError => {
  if (u.flags !== 0)
    return outOfRange(src, -1, "header", "flags", u.flags, "0 (exception/termination handlers and chained unwind info are not supported)");
  if (!fits(u.prologueSize, 0, U8_MAX)) return outOfRange(src, -1, "header", "prologueSize", u.prologueSize, "0..255 (SizeOfProlog is a u8)");
  if (u.frameRegister === null) {
    if (u.frameRegisterOffset !== 0)
      return outOfRange(src, -1, "header", "frameRegisterOffset", u.frameRegisterOffset, "0 when frameRegister is null");
  } else {
    if (!fits(u.frameRegister, 1, 15))
      return outOfRange(src, -1, "header", "frameRegister", u.frameRegister, "1..15, or null for none (FrameRegister 0 means no frame register)");
    if (!fits(u.frameRegisterOffset, 0, 240, 16))
      return outOfRange(src, -1, "header", "frameRegisterOffset", u.frameRegisterOffset, "a multiple of 16 from 0 to 240 (FrameOffset holds offset/16 in 4 bits)");
  }
  let slots = 0;
  let previous = 0;
  for (let i = 0; i < u.codes.length; i++) {
    const c = u.codes[i]!;
    if (!fits(c.at, 0, U8_MAX)) return outOfRange(src, i, c.op, "at", c.at, "0..255 (the offset in the prologue is a u8)");
    if (c.at > u.prologueSize) return outOfRange(src, i, c.op, "at", c.at, `at most the prologue size ${u.prologueSize}`);
    if (c.at < previous) return { _tag: "UnwindOutOfOrder", item: src.item, function: src.name, index: i, at: c.at, previous };
    previous = c.at;
    const bad = checkCode(src, u, c, i);
    if (bad !== undefined) return bad;
    slots += formOf(c).slots;
  }
  if (slots > U8_MAX) return outOfRange(src, -1, "header", "countOfCodes", slots, "at most 255 16-bit slots (CountOfCodes is a u8)");
  return slots;
};

// ---------------------------------------------------------------- size / write

/** Bytes of a checked record's `UNWIND_INFO`: header, slots, even padding. Always a multiple of 4. */
export const x64UnwindInfoSize = (slots: number): number => UNWIND_INFO_HEADER_SIZE + 2 * (slots + (slots & 1));

const le16 = (w: ByteWriter, v: number): void => {
  w.u8(v & 0xff);
  w.u8((v >>> 8) & 0xff);
};

const le32 = (w: ByteWriter, v: number): void => {
  le16(w, v & 0xffff);
  le16(w, Math.floor(v / 0x10000));
};

const slot = (w: ByteWriter, at: number, op: number, info: number): void => {
  w.u8(at);
  w.u8(op | (info << 4));
};

const writeCode = (w: ByteWriter, c: WinX64Code): void => {
  const form = formOf(c);
  switch (c.op) {
    case "pushRegister":
      slot(w, c.at, form.op, c.register);
      return;
    case "setFpRegister":
      slot(w, c.at, form.op, 0); // the info nibble is reserved
      return;
    case "stackAlloc":
      if (form === ALLOC_SMALL) slot(w, c.at, form.op, c.size / 8 - 1);
      else if (form === ALLOC_LARGE_16) {
        slot(w, c.at, form.op, 0);
        le16(w, c.size / 8);
      } else {
        slot(w, c.at, form.op, 1);
        le32(w, c.size);
      }
      return;
    case "saveReg":
    case "saveXmm": {
      slot(w, c.at, form.op, c.register);
      if (form.slots === 2) le16(w, c.stackOffset / (c.op === "saveReg" ? 8 : 16));
      else le32(w, c.stackOffset);
      return;
    }
  }
};

/**
 * Write a checked record's `UNWIND_INFO` at the writer's position:
 * exactly `x64UnwindInfoSize(slots)` bytes, little-endian whatever the
 * writer's byte order (the format is little-endian).
 */
export const writeX64UnwindInfo = (w: ByteWriter, u: WindowsX64Unwind, slots: number): void => {
  const start = w.pos;
  w.u8(UNW_VERSION | (u.flags << 3));
  w.u8(u.prologueSize);
  w.u8(slots);
  w.u8(u.frameRegister === null ? 0 : ((u.frameRegisterOffset / 16) << 4) | u.frameRegister);
  // Codes are stored last prologue instruction first (descending offsets).
  for (let i = u.codes.length - 1; i >= 0; i--) writeCode(w, u.codes[i]!);
  if (slots & 1) le16(w, 0);
  w.expect(start + x64UnwindInfoSize(slots), "UNWIND_INFO end");
};
