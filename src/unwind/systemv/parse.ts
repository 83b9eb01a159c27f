/**
 * A pure `.eh_frame` parser (LSB "Exception Frames"; DWARF 5 §6.4) and the
 * unwind table a DWARF unwinder builds from it.
 *
 * It reads gcc's `.eh_frame` in relocatable objects (augmentation "zR",
 * `DW_EH_PE_pcrel|sdata4` pointers, CIE version 1 or 3) as well as
 * objfold's (`pcrel` with 8-byte fields, a zero terminator), and decodes the
 * call frame instructions into the record form of `records.md`: `at` and
 * every offset in bytes (factors applied), registers as DWARF numbers.
 *
 * Every read is bounds-checked: any bytes give a value or a
 * `MalformedObject` error, never an exception, and each loop advances
 * through an input of known size.
 *
 * @example
 *   parseEhFrame(bytes, { littleEndian: true })
 *   // Right({ cies: [{ augmentation: "zR", codeAlign: 1, dataAlign: -8, … }], fdes: [...], … })
 */
import { Either } from "effect";
import type { ObjfoldError } from "../../errors.js";
import type { CfaInstruction } from "../../schema/records.js";
import {
  AARCH64_RA_SIGN_STATE,
  DW_CFA_AARCH64_negate_ra_state,
  DW_CFA_GNU_args_size,
  DW_CFA_advance_loc,
  DW_CFA_advance_loc1,
  DW_CFA_advance_loc2,
  DW_CFA_advance_loc4,
  DW_CFA_def_cfa,
  DW_CFA_def_cfa_expression,
  DW_CFA_def_cfa_offset,
  DW_CFA_def_cfa_offset_sf,
  DW_CFA_def_cfa_register,
  DW_CFA_def_cfa_sf,
  DW_CFA_expression,
  DW_CFA_nop,
  DW_CFA_offset,
  DW_CFA_offset_extended,
  DW_CFA_offset_extended_sf,
  DW_CFA_register,
  DW_CFA_remember_state,
  DW_CFA_restore,
  DW_CFA_restore_extended,
  DW_CFA_restore_state,
  DW_CFA_same_value,
  DW_CFA_set_loc,
  DW_CFA_undefined,
  DW_CFA_val_expression,
  DW_CFA_val_offset,
  DW_CFA_val_offset_sf,
  DW_EH_PE_absptr,
  DW_EH_PE_pcrel,
  DW_OP_lit0,
  DW_OP_lit1,
} from "./dwarf.js";

// Spec names for what the writer side does not need.
export const DW_CFA_GNU_negative_offset_extended = 0x2f;
export const DW_EH_PE_omit = 0xff;
export const DW_EH_PE_uleb128 = 0x01;
export const DW_EH_PE_udata2 = 0x02;
export const DW_EH_PE_udata4 = 0x03;
export const DW_EH_PE_udata8 = 0x04;
export const DW_EH_PE_signed = 0x08;
export const DW_EH_PE_sleb128 = 0x09;
export const DW_EH_PE_sdata2 = 0x0a;
export const DW_EH_PE_sdata4 = 0x0b;
export const DW_EH_PE_sdata8 = 0x0c;
export const DW_EH_PE_indirect = 0x80;

/**
 * A decoded call frame instruction: the record form (`CfaInstruction`) plus
 * the DWARF instructions the record form has no field for. `at` is the byte
 * offset from the start of the FDE's range (0 in a CIE).
 */
export type ParsedCfaInstruction =
  | CfaInstruction
  | { readonly at: number; readonly op: "defCfaExpression"; readonly expression: Uint8Array }
  | { readonly at: number; readonly op: "expression"; readonly register: number; readonly expression: Uint8Array }
  | { readonly at: number; readonly op: "valExpression"; readonly register: number; readonly expression: Uint8Array }
  /** DW_CFA_AARCH64_negate_ra_state (0x2d; GNU_window_save on SPARC). */
  | { readonly at: number; readonly op: "negateRaState" };

const EXTRA_OPS: ReadonlySet<string> = new Set(["defCfaExpression", "expression", "valExpression", "negateRaState"]);

/** Is this instruction one the record format (`records.md`) can carry? */
export const isRecordInstruction = (i: ParsedCfaInstruction): i is CfaInstruction => !EXTRA_OPS.has(i.op);

export interface ParsedCie {
  /** Section offset of the entry's length field. */
  readonly offset: number;
  /** Bytes of the whole entry, the length field included. */
  readonly size: number;
  readonly format: "dwarf32" | "dwarf64";
  readonly version: number;
  readonly augmentation: string;
  readonly codeAlign: number;
  readonly dataAlign: number;
  readonly returnAddressRegister: number;
  /** The FDE pointer encoding ('R'), DW_EH_PE_absptr when absent. */
  readonly fdeEncoding: number;
  /** The LSDA pointer encoding ('L'), DW_EH_PE_omit when absent. */
  readonly lsdaEncoding: number;
  /** The personality routine ('P'): encoding, field offset and raw value. */
  readonly personality?: { readonly encoding: number; readonly field: number; readonly value: bigint };
  /** 'S': the CIE describes a signal frame. */
  readonly signalFrame: boolean;
  readonly augmentationData: Uint8Array;
  readonly initialInstructions: ReadonlyArray<ParsedCfaInstruction>;
}

export interface ParsedFde {
  readonly offset: number;
  readonly size: number;
  readonly format: "dwarf32" | "dwarf64";
  /** Section offset of the CIE this FDE uses. */
  readonly cieOffset: number;
  /** Section offset of the pc_begin field (where a relocation would apply). */
  readonly pcBeginField: number;
  /** The pc_begin field as stored, before its pointer application. */
  readonly pcBeginRaw: bigint;
  /** pc_begin with the application applied (for pcrel, `sectionAddress + pcBeginField + pcBeginRaw`), modulo the address space. */
  readonly pcBegin: bigint;
  readonly pcRangeField: number;
  readonly pcRange: number;
  readonly augmentationData: Uint8Array;
  /** The LSDA pointer (raw field value) when the CIE has 'L' and it is not omitted. */
  readonly lsda?: bigint;
  readonly instructions: ReadonlyArray<ParsedCfaInstruction>;
}

export interface EhFrame {
  readonly cies: ReadonlyArray<ParsedCie>;
  readonly fdes: ReadonlyArray<ParsedFde>;
  /** Section offset of the zero terminator, if the section has one. */
  readonly terminator?: number;
}

export interface EhFrameOptions {
  readonly littleEndian: boolean;
  /** Size of DW_EH_PE_absptr fields (8 for every objfold target). */
  readonly addressSize?: 4 | 8;
  /** Address of the section's first byte, the base of pcrel pointers (default 0). */
  readonly sectionAddress?: bigint;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

const hex = (n: number): string => `0x${n.toString(16)}`;
const latin1 = new TextDecoder("latin1");

/**
 * A bounds-checked cursor over `[pos, end)`. A read past `end` records the
 * first problem in `failed` and moves to `end`, so every loop that runs
 * while `pos < end` stops; callers check `failed` after each structure.
 * It never leaves the function that made it.
 */
class Cursor {
  failed: string | undefined;
  private readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
    public pos: number,
    public end: number,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(reason: string): 0 {
    if (this.failed === undefined) this.failed = reason;
    this.pos = this.end;
    return 0;
  }
  /** Start offset of the next `n` bytes, or -1 (and failed) when they are not all there. */
  private take(n: number, what: string): number {
    if (n > this.end - this.pos) {
      this.fail(`${what} at ${hex(this.pos)} runs past the end of its entry (${hex(this.end)})`);
      return -1;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(what = "byte"): number {
    const at = this.take(1, what);
    return at < 0 ? 0 : this.bytes[at]!;
  }
  u16(what = "u16"): number {
    const at = this.take(2, what);
    return at < 0 ? 0 : this.dv.getUint16(at, this.le);
  }
  u32(what = "u32"): number {
    const at = this.take(4, what);
    return at < 0 ? 0 : this.dv.getUint32(at, this.le);
  }
  u64(what = "u64"): bigint {
    const at = this.take(8, what);
    return at < 0 ? 0n : this.dv.getBigUint64(at, this.le);
  }
  signed(n: 2 | 4 | 8, what: string): bigint {
    const at = this.take(n, what);
    if (at < 0) return 0n;
    return n === 2 ? BigInt(this.dv.getInt16(at, this.le)) : n === 4 ? BigInt(this.dv.getInt32(at, this.le)) : this.dv.getBigInt64(at, this.le);
  }
  bytesOf(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return at < 0 ? new Uint8Array(0) : this.bytes.subarray(at, at + n);
  }
  /** ULEB128 as a bigint; bits beyond 64 must be zero. */
  ulebBig(what: string): bigint {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) {
        this.fail(`${what}: ULEB128 at ${hex(this.pos)} runs past the end of its entry`);
        return 0n;
      }
      const b = this.bytes[this.pos++]!;
      const v = b & 0x7f;
      if (v !== 0) {
        if (shift >= 64n) {
          this.fail(`${what}: ULEB128 value does not fit 64 bits`);
          return 0n;
        }
        r |= BigInt(v) << shift;
      }
      shift += 7n;
      if ((b & 0x80) === 0) return r;
    }
  }
  /** SLEB128 as a bigint; padding beyond 128 bits must be pure sign extension. */
  slebBig(what: string): bigint {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) {
        this.fail(`${what}: SLEB128 at ${hex(this.pos)} runs past the end of its entry`);
        return 0n;
      }
      const b = this.bytes[this.pos++]!;
      const v = b & 0x7f;
      if (shift < 128n) r |= BigInt(v) << shift;
      else if (v !== 0 && v !== 0x7f) {
        this.fail(`${what}: SLEB128 value does not fit 128 bits`);
        return 0n;
      }
      shift += 7n;
      if ((b & 0x80) === 0) return BigInt.asIntN(Number(shift < 128n ? shift : 128n), r);
    }
  }
  uleb(what: string): number {
    return this.safe(this.ulebBig(what), what);
  }
  sleb(what: string): number {
    return this.safe(this.slebBig(what), what);
  }
  safe(v: bigint, what: string): number {
    if (v > MAX_SAFE || v < MIN_SAFE) return this.fail(`${what}: value ${v} is too large`);
    return Number(v);
  }
}

const malformed = (reason: string): Either.Either<never, ObjfoldError> => Either.left({ _tag: "MalformedObject", reason });

/** Read a pointer's stored value in the given DW_EH_PE format (the low 4 bits and the signed bit). */
const readEncoded = (c: Cursor, encoding: number, addressSize: 4 | 8, what: string): bigint => {
  switch (encoding & 0x0f) {
    case DW_EH_PE_absptr:
      return addressSize === 8 ? c.u64(what) : BigInt(c.u32(what));
    case DW_EH_PE_uleb128:
      return c.ulebBig(what);
    case DW_EH_PE_udata2:
      return BigInt(c.u16(what));
    case DW_EH_PE_udata4:
      return BigInt(c.u32(what));
    case DW_EH_PE_udata8:
      return c.u64(what);
    case DW_EH_PE_signed:
      return c.signed(addressSize, what);
    case DW_EH_PE_sleb128:
      return c.slebBig(what);
    case DW_EH_PE_sdata2:
      return c.signed(2, what);
    case DW_EH_PE_sdata4:
      return c.signed(4, what);
    case DW_EH_PE_sdata8:
      return c.signed(8, what);
    default:
      c.fail(`${what}: unknown pointer format ${hex(encoding & 0x0f)} in encoding ${hex(encoding)}`);
      return 0n;
  }
};

/**
 * Apply a pointer's application: only absptr and pcrel have a meaning
 * without more context. Addresses wrap around the address space, as in the
 * unwinder's pointer arithmetic.
 */
const applyEncoding = (c: Cursor, encoding: number, raw: bigint, fieldAddress: bigint, addressSize: 4 | 8, what: string): bigint => {
  switch (encoding & 0x70) {
    case DW_EH_PE_absptr:
      return BigInt.asUintN(addressSize * 8, raw);
    case DW_EH_PE_pcrel:
      return BigInt.asUintN(addressSize * 8, fieldAddress + raw);
    default:
      c.fail(`${what}: pointer application ${hex(encoding & 0x70)} (encoding ${hex(encoding)}) is not supported, only absptr and pcrel`);
      return 0n;
  }
};

/** Zero stays +0 so that results compare equal to literals. */
const times = (n: number, factor: number): number => n * factor + 0;

interface Context {
  readonly codeAlign: number;
  readonly dataAlign: number;
  readonly addressSize: 4 | 8;
  /** Set only for FDE programs: what DW_CFA_set_loc needs. */
  readonly fde?: { readonly encoding: number; readonly pcBegin: bigint; readonly sectionAddress: bigint };
}

/**
 * Decode a call frame program in `[c.pos, c.end)`. Offsets are multiplied
 * back by the alignment factors; nops are dropped.
 */
const decodeInstructions = (c: Cursor, ctx: Context, where: string): ParsedCfaInstruction[] => {
  const out: ParsedCfaInstruction[] = [];
  let at = 0;
  const scaled = (n: number, factor: number, what: string): number => {
    const v = times(n, factor);
    return Number.isSafeInteger(v) ? v : c.fail(`${where}: ${what} ${n} × ${factor} is too large`);
  };
  const advance = (delta: number): void => {
    at = scaled(at + delta * ctx.codeAlign, 1, "location");
  };
  while (c.pos < c.end) {
    const opAt = c.pos;
    const op = c.u8();
    const low = op & 0x3f;
    switch (op & 0xc0) {
      case DW_CFA_advance_loc:
        advance(low);
        continue;
      case DW_CFA_offset:
        out.push({ at, op: "offset", register: low, offset: scaled(c.uleb(where), ctx.dataAlign, "offset") });
        continue;
      case DW_CFA_restore:
        out.push({ at, op: "restore", register: low });
        continue;
    }
    switch (op) {
      case DW_CFA_nop:
        break;
      case DW_CFA_set_loc: {
        if (ctx.fde === undefined) {
          c.fail(`${where}: DW_CFA_set_loc at ${hex(opAt)} in a CIE`);
          break;
        }
        const field = BigInt(c.pos);
        const raw = readEncoded(c, ctx.fde.encoding, ctx.addressSize, where);
        const loc = applyEncoding(c, ctx.fde.encoding, raw, ctx.fde.sectionAddress + field, ctx.addressSize, where);
        const rel = c.safe(BigInt.asUintN(ctx.addressSize * 8, loc - ctx.fde.pcBegin), `${where}: DW_CFA_set_loc`);
        if (rel < at) c.fail(`${where}: DW_CFA_set_loc at ${hex(opAt)} moves backwards`);
        else at = rel;
        break;
      }
      case DW_CFA_advance_loc1:
        advance(c.u8(where));
        break;
      case DW_CFA_advance_loc2:
        advance(c.u16(where));
        break;
      case DW_CFA_advance_loc4:
        advance(c.u32(where));
        break;
      case DW_CFA_offset_extended: {
        const register = c.uleb(where);
        out.push({ at, op: "offset", register, offset: scaled(c.uleb(where), ctx.dataAlign, "offset") });
        break;
      }
      case DW_CFA_restore_extended:
        out.push({ at, op: "restore", register: c.uleb(where) });
        break;
      case DW_CFA_undefined:
        out.push({ at, op: "undefined", register: c.uleb(where) });
        break;
      case DW_CFA_same_value:
        out.push({ at, op: "sameValue", register: c.uleb(where) });
        break;
      case DW_CFA_register: {
        const register = c.uleb(where);
        out.push({ at, op: "register", register, fromRegister: c.uleb(where) });
        break;
      }
      case DW_CFA_remember_state:
        out.push({ at, op: "rememberState" });
        break;
      case DW_CFA_restore_state:
        out.push({ at, op: "restoreState" });
        break;
      case DW_CFA_def_cfa: {
        const register = c.uleb(where);
        out.push({ at, op: "cfa", register, offset: c.uleb(where) });
        break;
      }
      case DW_CFA_def_cfa_sf: {
        const register = c.uleb(where);
        out.push({ at, op: "cfa", register, offset: scaled(c.sleb(where), ctx.dataAlign, "offset") });
        break;
      }
      case DW_CFA_def_cfa_register:
        out.push({ at, op: "cfaRegister", register: c.uleb(where) });
        break;
      case DW_CFA_def_cfa_offset:
        out.push({ at, op: "cfaOffset", offset: c.uleb(where) });
        break;
      case DW_CFA_def_cfa_offset_sf:
        out.push({ at, op: "cfaOffset", offset: scaled(c.sleb(where), ctx.dataAlign, "offset") });
        break;
      case DW_CFA_def_cfa_expression:
        out.push({ at, op: "defCfaExpression", expression: c.bytesOf(c.uleb(where), where).slice() });
        break;
      case DW_CFA_expression: {
        const register = c.uleb(where);
        out.push({ at, op: "expression", register, expression: c.bytesOf(c.uleb(where), where).slice() });
        break;
      }
      case DW_CFA_offset_extended_sf: {
        const register = c.uleb(where);
        out.push({ at, op: "offset", register, offset: scaled(c.sleb(where), ctx.dataAlign, "offset") });
        break;
      }
      case DW_CFA_val_offset: {
        const register = c.uleb(where);
        out.push({ at, op: "valOffset", register, offset: scaled(c.uleb(where), ctx.dataAlign, "offset") });
        break;
      }
      case DW_CFA_val_offset_sf: {
        const register = c.uleb(where);
        out.push({ at, op: "valOffset", register, offset: scaled(c.sleb(where), ctx.dataAlign, "offset") });
        break;
      }
      case DW_CFA_val_expression: {
        const register = c.uleb(where);
        const expression = c.bytesOf(c.uleb(where), where).slice();
        // Cranelift's only expression: RA_SIGN_STATE = lit0/lit1 (reference §1.1).
        const only = expression.length === 1 ? expression[0] : undefined;
        if (register === AARCH64_RA_SIGN_STATE && (only === DW_OP_lit0 || only === DW_OP_lit1))
          out.push({ at, op: "aarch64SetPointerAuth", returnAddresses: only === DW_OP_lit1 });
        else out.push({ at, op: "valExpression", register, expression });
        break;
      }
      case DW_CFA_AARCH64_negate_ra_state:
        out.push({ at, op: "negateRaState" });
        break;
      case DW_CFA_GNU_args_size:
        out.push({ at, op: "argsSize", size: c.uleb(where) });
        break;
      case DW_CFA_GNU_negative_offset_extended: {
        const register = c.uleb(where);
        out.push({ at, op: "offset", register, offset: scaled(-c.uleb(where), ctx.dataAlign, "offset") });
        break;
      }
      default:
        c.fail(`${where}: unknown call frame instruction ${hex(op)} at ${hex(opAt)}`);
    }
  }
  return out;
};

/** Parse the augmentation string and data of a CIE whose cursor stands after the version byte. */
const parseCie = (c: Cursor, offset: number, size: number, format: ParsedCie["format"], addressSize: 4 | 8): ParsedCie | undefined => {
  const where = `CIE at .eh_frame+${hex(offset)}`;
  const version = c.u8(where);
  if (version !== 1 && version !== 3 && version !== 4) {
    c.fail(`${where}: version ${version} is not 1, 3 or 4`);
    return undefined;
  }
  const nul = c.bytes.subarray(c.pos, c.end).indexOf(0);
  if (nul < 0) {
    c.fail(`${where}: unterminated augmentation string`);
    return undefined;
  }
  const augmentation = latin1.decode(c.bytes.subarray(c.pos, c.pos + nul));
  c.pos += nul + 1;
  // "eh" (pre-3.0 gcc) is followed by a pointer to the exception table.
  if (augmentation.startsWith("eh")) c.bytesOf(addressSize, where);
  if (version === 4) {
    const addr = c.u8(where);
    const seg = c.u8(where);
    if (addr !== addressSize || seg !== 0) c.fail(`${where}: address size ${addr} / segment selector size ${seg} do not match ${addressSize} / 0`);
  }
  const codeAlign = c.uleb(`${where}: code alignment factor`);
  const dataAlign = c.sleb(`${where}: data alignment factor`);
  const returnAddressRegister = version === 1 ? c.u8(where) : c.uleb(where);
  let fdeEncoding = DW_EH_PE_absptr;
  let lsdaEncoding = DW_EH_PE_omit;
  let personality: ParsedCie["personality"];
  let signalFrame = false;
  let augmentationData: Uint8Array = new Uint8Array(0);
  if (augmentation.startsWith("z")) {
    const len = c.uleb(`${where}: augmentation length`);
    const dataStart = c.pos;
    augmentationData = c.bytesOf(len, `${where}: augmentation data`);
    const d = new Cursor(c.bytes, c.le, dataStart, dataStart + augmentationData.length);
    for (const ch of augmentation.slice(1)) {
      if (ch === "R") fdeEncoding = d.u8(where);
      else if (ch === "L") lsdaEncoding = d.u8(where);
      else if (ch === "P") {
        const encoding = d.u8(where);
        const field = d.pos;
        const value = readEncoded(d, encoding, addressSize, `${where}: personality`);
        personality = { encoding, field, value };
      } else if (ch === "S") signalFrame = true;
      // 'B' (AArch64 B key) and 'G' (MTE) carry no data; anything else ends what we can read, and 'z' told us where the data ends.
      else if (ch !== "B" && ch !== "G") break;
    }
    if (d.failed !== undefined) c.fail(d.failed);
  } else if (augmentation !== "" && augmentation !== "eh") {
    c.fail(`${where}: augmentation ${JSON.stringify(augmentation)} is not understood (no 'z')`);
  }
  if (c.failed !== undefined) return undefined;
  if (codeAlign === 0) {
    c.fail(`${where}: code alignment factor is 0`);
    return undefined;
  }
  const initialInstructions = decodeInstructions(c, { codeAlign, dataAlign, addressSize }, `${where}: initial instructions`);
  return {
    offset,
    size,
    format,
    version,
    augmentation,
    codeAlign,
    dataAlign,
    returnAddressRegister,
    fdeEncoding,
    lsdaEncoding,
    ...(personality === undefined ? {} : { personality }),
    signalFrame,
    augmentationData: augmentationData.slice(),
    initialInstructions,
  };
};

/**
 * Parse a whole `.eh_frame` section: CIEs and FDEs in section order, up to
 * the zero terminator or the end of the section. An FDE's CIE pointer must
 * name a CIE earlier in the section.
 */
export const parseEhFrame = (bytes: Uint8Array, options: EhFrameOptions): Either.Either<EhFrame, ObjfoldError> => {
  const addressSize = options.addressSize ?? 8;
  const sectionAddress = options.sectionAddress ?? 0n;
  const le = options.littleEndian;
  const cies = new Map<number, ParsedCie>();
  const cieList: ParsedCie[] = [];
  const fdes: ParsedFde[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const offset = pos;
    const head = new Cursor(bytes, le, pos, bytes.length);
    const length32 = head.u32(".eh_frame entry length");
    if (head.failed !== undefined) return malformed(`.eh_frame+${hex(offset)}: truncated entry length (${bytes.length - offset} bytes left)`);
    if (length32 === 0) return Either.right({ cies: cieList, fdes, terminator: offset });
    let format: ParsedCie["format"] = "dwarf32";
    let length = length32;
    if (length32 === 0xffffffff) {
      format = "dwarf64";
      length = head.safe(head.u64(".eh_frame 64-bit entry length"), ".eh_frame entry length");
    } else if (length32 >= 0xfffffff0) return malformed(`.eh_frame+${hex(offset)}: reserved entry length ${hex(length32)}`);
    if (head.failed !== undefined) return malformed(`.eh_frame+${hex(offset)}: ${head.failed}`);
    const bodyStart = head.pos;
    if (length > bytes.length - bodyStart) return malformed(`.eh_frame+${hex(offset)}: entry length ${length} runs past the end of the ${bytes.length}-byte section`);
    const end = bodyStart + length;
    const c = new Cursor(bytes, le, bodyStart, end);
    const idField = c.pos;
    const id = format === "dwarf32" ? c.u32("CIE id") : c.safe(c.u64("CIE id"), "CIE id");
    if (c.failed !== undefined) return malformed(`.eh_frame+${hex(offset)}: ${c.failed}`);
    const size = end - offset;
    if (id === 0) {
      const cie = parseCie(c, offset, size, format, addressSize);
      if (cie === undefined || c.failed !== undefined) return malformed(c.failed ?? `CIE at .eh_frame+${hex(offset)} could not be read`);
      cies.set(offset, cie);
      cieList.push(cie);
    } else {
      const where = `FDE at .eh_frame+${hex(offset)}`;
      // In .eh_frame the CIE pointer is the distance back from its own field.
      const cieOffset = idField - id;
      const cie = cies.get(cieOffset);
      if (cie === undefined) return malformed(`${where}: CIE pointer ${hex(id)} names ${hex(cieOffset)}, which is not a CIE before it`);
      const pcBeginField = c.pos;
      if ((cie.fdeEncoding & DW_EH_PE_indirect) !== 0) return malformed(`${where}: indirect pc_begin encoding ${hex(cie.fdeEncoding)}`);
      const pcBeginRaw = readEncoded(c, cie.fdeEncoding, addressSize, `${where}: pc_begin`);
      const pcBegin = applyEncoding(c, cie.fdeEncoding, pcBeginRaw, sectionAddress + BigInt(pcBeginField), addressSize, `${where}: pc_begin`);
      const pcRangeField = c.pos;
      // The range uses the format of the FDE encoding, never its application.
      const pcRangeRaw = readEncoded(c, cie.fdeEncoding & 0x0f, addressSize, `${where}: pc_range`);
      if (pcRangeRaw < 0n) c.fail(`${where}: negative pc_range ${pcRangeRaw}`);
      const pcRange = c.safe(pcRangeRaw, `${where}: pc_range`);
      let augmentationData: Uint8Array = new Uint8Array(0);
      let lsda: bigint | undefined;
      if (cie.augmentation.startsWith("z")) {
        const len = c.uleb(`${where}: augmentation length`);
        const dataStart = c.pos;
        augmentationData = c.bytesOf(len, `${where}: augmentation data`);
        if (cie.lsdaEncoding !== DW_EH_PE_omit && c.failed === undefined) {
          const d = new Cursor(bytes, le, dataStart, dataStart + augmentationData.length);
          lsda = readEncoded(d, cie.lsdaEncoding, addressSize, `${where}: LSDA`);
          if (d.failed !== undefined) c.fail(d.failed);
        }
      }
      if (c.failed !== undefined) return malformed(c.failed);
      const instructions = decodeInstructions(c, { codeAlign: cie.codeAlign, dataAlign: cie.dataAlign, addressSize, fde: { encoding: cie.fdeEncoding, pcBegin, sectionAddress } }, where);
      if (c.failed !== undefined) return malformed(c.failed);
      fdes.push({
        offset,
        size,
        format,
        cieOffset,
        pcBeginField,
        pcBeginRaw,
        pcBegin,
        pcRangeField,
        pcRange,
        augmentationData: augmentationData.slice(),
        ...(lsda === undefined ? {} : { lsda }),
        instructions,
      });
    }
    pos = end;
  }
  return Either.right({ cies: cieList, fdes });
};

// ---------------------------------------------------------------- the unwind table

/** How to find the CFA: a register plus an offset, or a DWARF expression. */
export type CfaRule =
  | { readonly kind: "registerOffset"; readonly register: number; readonly offset: number }
  | { readonly kind: "expression"; readonly expression: Uint8Array };

/** How to recover one register (DWARF 5 §6.4.1). */
export type RegisterRule =
  | { readonly kind: "undefined" }
  | { readonly kind: "sameValue" }
  /** Saved at CFA + offset. */
  | { readonly kind: "offset"; readonly offset: number }
  /** Its value is CFA + offset. */
  | { readonly kind: "valOffset"; readonly offset: number }
  | { readonly kind: "register"; readonly register: number }
  | { readonly kind: "expression"; readonly expression: Uint8Array }
  | { readonly kind: "valExpression"; readonly expression: Uint8Array };

/** One row of the table: the rules that hold for addresses in `[start, end)`, relative to the FDE start. */
export interface UnwindRow {
  readonly start: number;
  readonly end: number;
  /** Undefined until a CFA rule has been set. */
  readonly cfa: CfaRule | undefined;
  /** Registers that have a rule, by ascending DWARF number; absent means "no rule" (as if undefined). */
  readonly registers: ReadonlyArray<{ readonly register: number; readonly rule: RegisterRule }>;
}

interface State {
  cfa: CfaRule | undefined;
  regs: Map<number, RegisterRule>;
}

const copyState = (s: State): State => ({ cfa: s.cfa, regs: new Map(s.regs) });

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

const sameCfa = (a: CfaRule | undefined, b: CfaRule | undefined): boolean => {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind === "registerOffset") return b.kind === "registerOffset" && a.register === b.register && a.offset === b.offset;
  return b.kind === "expression" && sameBytes(a.expression, b.expression);
};

/** Structural equality of two register rules. */
export const sameRule = (a: RegisterRule, b: RegisterRule): boolean => {
  switch (a.kind) {
    case "undefined":
    case "sameValue":
      return a.kind === b.kind;
    case "offset":
    case "valOffset":
      return a.kind === b.kind && a.offset === (b as { offset: number }).offset;
    case "register":
      return b.kind === "register" && a.register === b.register;
    case "expression":
    case "valExpression":
      return a.kind === b.kind && sameBytes(a.expression, (b as { expression: Uint8Array }).expression);
  }
};

/** Do two rows hold the same rules (addresses aside)? */
export const sameRules = (a: Pick<UnwindRow, "cfa" | "registers">, b: Pick<UnwindRow, "cfa" | "registers">): boolean =>
  sameCfa(a.cfa, b.cfa) &&
  a.registers.length === b.registers.length &&
  a.registers.every((r, i) => {
    const o = b.registers[i]!;
    return r.register === o.register && sameRule(r.rule, o.rule);
  });

const RA_SIGNED = Uint8Array.of(DW_OP_lit1);
const RA_UNSIGNED = Uint8Array.of(DW_OP_lit0);

/** Apply one instruction; a message when it makes no sense in the current state. */
const step = (s: State, i: ParsedCfaInstruction, initial: ReadonlyMap<number, RegisterRule>, stack: State[]): string | undefined => {
  switch (i.op) {
    case "cfa":
      s.cfa = { kind: "registerOffset", register: i.register, offset: i.offset };
      return undefined;
    case "cfaRegister":
      // As gcc and readelf do: a register set before any offset gets offset 0.
      if (s.cfa?.kind === "expression") return `DW_CFA_def_cfa_register at ${i.at} while the CFA is an expression`;
      s.cfa = { kind: "registerOffset", register: i.register, offset: s.cfa?.offset ?? 0 };
      return undefined;
    case "cfaOffset":
      if (s.cfa?.kind !== "registerOffset") return `DW_CFA_def_cfa_offset at ${i.at} without a CFA register`;
      s.cfa = { ...s.cfa, offset: i.offset };
      return undefined;
    case "defCfaExpression":
      s.cfa = { kind: "expression", expression: i.expression };
      return undefined;
    case "restore": {
      const r = initial.get(i.register);
      if (r === undefined) s.regs.delete(i.register);
      else s.regs.set(i.register, r);
      return undefined;
    }
    case "undefined":
      s.regs.set(i.register, { kind: "undefined" });
      return undefined;
    case "sameValue":
      s.regs.set(i.register, { kind: "sameValue" });
      return undefined;
    case "offset":
      s.regs.set(i.register, { kind: "offset", offset: i.offset });
      return undefined;
    case "valOffset":
      s.regs.set(i.register, { kind: "valOffset", offset: i.offset });
      return undefined;
    case "register":
      s.regs.set(i.register, { kind: "register", register: i.fromRegister });
      return undefined;
    case "expression":
      s.regs.set(i.register, { kind: "expression", expression: i.expression });
      return undefined;
    case "valExpression":
      s.regs.set(i.register, { kind: "valExpression", expression: i.expression });
      return undefined;
    case "aarch64SetPointerAuth":
      s.regs.set(AARCH64_RA_SIGN_STATE, { kind: "valExpression", expression: i.returnAddresses ? RA_SIGNED : RA_UNSIGNED });
      return undefined;
    case "negateRaState": {
      const cur = s.regs.get(AARCH64_RA_SIGN_STATE);
      const signed = cur?.kind === "valExpression" && sameBytes(cur.expression, RA_SIGNED);
      s.regs.set(AARCH64_RA_SIGN_STATE, { kind: "valExpression", expression: signed ? RA_UNSIGNED : RA_SIGNED });
      return undefined;
    }
    case "rememberState":
      stack.push(copyState(s));
      return undefined;
    case "restoreState": {
      // The CFA rule is part of the remembered row (DWARF 5 §6.4.2.4), as in gcc and readelf.
      const top = stack.pop();
      if (top === undefined) return `DW_CFA_restore_state at ${i.at} without a matching DW_CFA_remember_state`;
      s.cfa = top.cfa;
      s.regs = top.regs;
      return undefined;
    }
    case "argsSize":
      // The GNU_args_size is not a rule of the row.
      return undefined;
  }
};

const snapshot = (s: State, start: number, end: number): UnwindRow => ({
  start,
  end,
  cfa: s.cfa,
  registers: [...s.regs.entries()].sort((a, b) => a[0] - b[0]).map(([register, rule]) => ({ register, rule })),
});

/**
 * The unwind table of one FDE: run the CIE's initial instructions, then the
 * FDE's, and record the rules in force over `[0, length)`. Consecutive rows
 * with the same rules are merged; instructions at or beyond `length` do not
 * produce rows. Works equally on record instructions (`CfaInstruction`).
 *
 * @example
 *   unwindRows(cie.initialInstructions, fde.instructions, fde.pcRange)
 *   // Right([{ start: 0, end: 1, cfa: { kind: "registerOffset", register: 7, offset: 8 }, registers: [...] }, …])
 */
export const unwindRows = (
  initial: ReadonlyArray<ParsedCfaInstruction>,
  instructions: ReadonlyArray<ParsedCfaInstruction>,
  length: number,
): Either.Either<ReadonlyArray<UnwindRow>, ObjfoldError> => {
  const s: State = { cfa: undefined, regs: new Map() };
  const cieStack: State[] = [];
  for (const i of initial) {
    const problem = step(s, i, new Map(), cieStack);
    if (problem !== undefined) return malformed(`CIE initial instructions: ${problem}`);
  }
  const initialRegs: ReadonlyMap<number, RegisterRule> = new Map(s.regs);
  const stack: State[] = [];
  const rows: UnwindRow[] = [];
  const emit = (start: number, end: number): void => {
    if (end <= start) return;
    const row = snapshot(s, start, end);
    const last = rows[rows.length - 1];
    if (last !== undefined && last.end === start && sameRules(last, row)) rows[rows.length - 1] = { ...last, end };
    else rows.push(row);
  };
  let start = 0;
  for (const i of instructions) {
    if (i.at < start) return malformed(`unwind instruction ${i.op} at ${i.at} comes after one at ${start}`);
    if (i.at > start) {
      emit(start, Math.min(i.at, length));
      start = i.at;
    }
    const problem = step(s, i, initialRegs, stack);
    if (problem !== undefined) return malformed(`FDE instructions: ${problem}`);
  }
  emit(start, length);
  return Either.right(rows);
};

/** The unwind table of one FDE of a parsed section, over its whole range (what `inspect` prints). */
export const fdeRows = (frame: EhFrame, fde: ParsedFde): Either.Either<ReadonlyArray<UnwindRow>, ObjfoldError> => {
  const cie = frame.cies.find((c) => c.offset === fde.cieOffset);
  return cie === undefined ? malformed(`FDE at .eh_frame+${hex(fde.offset)}: no CIE at ${hex(fde.cieOffset)}`) : unwindRows(cie.initialInstructions, fde.instructions, fde.pcRange);
};
