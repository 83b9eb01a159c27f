/**
 * The fast path of item decoding: one pass over a line's UTF-8 bytes that
 * parses and validates the item shapes `records.ts` defines, in one go, and
 * builds the same values the schema decoder builds. It *declines* (returns
 * `undefined`) on anything it does not handle itself — a string escape, a
 * non-ASCII byte, a fraction or exponent, an integer of more than 15 digits,
 * a duplicate or unknown key, a Windows unwind record, and every invalid
 * item — and the caller then runs the schema decoder, which produces either
 * the same value or the error messages. So the fast path never rejects on
 * its own and never accepts what the schema refuses; `laws/fastdecode.test.ts`
 * checks that on generated and mutated lines.
 *
 * Why (docs/performance.md): `JSON.parse` plus Effect Schema took 84 µs a
 * line, 8.4 s for 100 000 functions; `JSON.parse` alone is ~2 µs a line.
 * This scanner is about 1 µs a line. It reads a function line into rows
 * (`scan`, `schema/rows.ts`), which the CLI's fold steps as they are: no
 * object, string or buffer is made for the line. `item` builds the item
 * from the same rows, allocating only what the item keeps:
 *
 * - bodies are decoded straight from the base64 bytes, a small one into the
 *   scanner's scratch (copied out by whoever keeps it), a large one into a
 *   shared 1 MiB slab (a `Uint8Array` view each, no `ArrayBuffer` per body,
 *   no base64 string);
 * - keys and literal strings (`"function"`, kinds, ops) are matched in place
 *   and are the module's constants;
 * - an unwind record whose bytes equal the previous one's is the previous
 *   decoded value (records are immutable, and equal bytes decode equally);
 * - a name equal to one of the last few names or call targets is that string
 *   (a call's target is often the next function's name), so 10⁶ functions
 *   keep 10⁶ fewer strings.
 *
 * Instances are transient builders owned by one decoding pass (or a module's
 * shared default); nothing mutable crosses the API.
 */
import { CALL_RELOCATION_KINDS, HOST_CALL_RELOCATION_KIND, RELOCATION_KINDS } from "./kinds.js";
import type { CfaInstruction, FunctionItem, Header, Item, PaddingItem, Relocation, SystemVUnwind } from "./records.js";
import { BY_REFERENCE, FunctionRows } from "./rows.js";

/** Thrown inside the scanner, caught at its entry: "not mine, ask the schema". */
const DECLINE: unique symbol = Symbol("decline");

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

const codes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/**
 * Strings the scanner expects at one place (the keys of a record, the values
 * of a literal): the few that start with the byte after the opening quote
 * are tried in place, each checked byte by byte up to its closing quote. A
 * string that is none of them is not scanned at all: the scanner declines
 * it (the schema reports an unknown key or value).
 */
interface Literals {
  readonly codes: ReadonlyArray<Uint8Array>;
  /** Up to `PER_BYTE` candidates (index + 1; 0 ends the list) by first byte. */
  readonly byFirst: Int8Array;
}
const PER_BYTE = 4;
const table = (names: ReadonlyArray<string>): Literals => {
  const byFirst = new Int8Array(128 * PER_BYTE);
  const cs = names.map(codes);
  cs.forEach((c, k) => {
    const at = c[0]! * PER_BYTE;
    let j = 0;
    while (j < PER_BYTE && byFirst[at + j] !== 0) j++;
    if (j === PER_BYTE || c[0]! >= 128 || c.some((b) => b < 0x20 || b > 0x7e || b === QUOTE || b === BACKSLASH))
      throw new Error(`objfold defect: literal ${names[k]} cannot be a candidate`);
    byFirst[at + j] = k + 1;
  });
  return { codes: cs, byFirst };
};

// Keys of each record, by index (the index is the bit in a record's "seen" mask).
const HEADER_KEYS = table(["format", "target", "forceVeneers", "symbols", "wasmtime"]);
const H_FORMAT = 0, H_TARGET = 1, H_FORCE = 2, H_SYMBOLS = 3, H_WASMTIME = 4;
const FORMAT_CODES = table(["objfold/v1"]);
const WASMTIME_KINDS = ["module", "component"] as const;
const WASMTIME_CODES = table(WASMTIME_KINDS);
const ITEM_KEYS = table(["type", "name", "body", "alignment", "relocations", "unwind", "size"]);
const K_TYPE = 0, K_NAME = 1, K_BODY = 2, K_ALIGNMENT = 3, K_RELOCATIONS = 4, K_UNWIND = 5, K_SIZE = 6;
const RELOC_KEYS = table(["offset", "kind", "target", "addend", "hostCall"]);
const R_OFFSET = 0, R_KIND = 1, R_TARGET = 2, R_ADDEND = 3, R_HOSTCALL = 4;
const UNWIND_KEYS = table(["kind", "length", "instructions"]);
const U_KIND = 0, U_LENGTH = 1, U_INSTRUCTIONS = 2;
const INSN_KEYS = table(["at", "op", "register", "offset", "fromRegister", "size", "returnAddresses"]);
const I_AT = 0, I_OP = 1, I_REGISTER = 2, I_OFFSET = 3, I_FROM = 4, I_SIZE = 5, I_RA = 6;

const TYPES = ["function", "padding"] as const;
const TYPE_CODES = table(TYPES);
const RELOC_KIND_CODES = table(RELOCATION_KINDS);
const HOST_CALL_KIND = RELOCATION_KINDS.indexOf(HOST_CALL_RELOCATION_KIND);
const SYSTEMV_CODES = table(["systemv"]);

/** The ops of `CfaInstruction`, with the exact set of fields (as key bits) each one has. */
const OPS = [
  "cfa", "cfaRegister", "cfaOffset", "restore", "undefined", "sameValue", "offset",
  "valOffset", "register", "rememberState", "restoreState", "argsSize", "aarch64SetPointerAuth",
] as const;
const OP_CODES = table(OPS);
const B_AT = 1 << I_AT, B_OP = 1 << I_OP, B_REG = 1 << I_REGISTER, B_OFF = 1 << I_OFFSET;
const B_FROM = 1 << I_FROM, B_SIZE = 1 << I_SIZE, B_RA = 1 << I_RA;
const OP_FIELDS: ReadonlyArray<number> = [
  B_AT | B_OP | B_REG | B_OFF, // cfa
  B_AT | B_OP | B_REG, // cfaRegister
  B_AT | B_OP | B_OFF, // cfaOffset
  B_AT | B_OP | B_REG, // restore
  B_AT | B_OP | B_REG, // undefined
  B_AT | B_OP | B_REG, // sameValue
  B_AT | B_OP | B_REG | B_OFF, // offset
  B_AT | B_OP | B_REG | B_OFF, // valOffset
  B_AT | B_OP | B_REG | B_FROM, // register
  B_AT | B_OP, // rememberState
  B_AT | B_OP, // restoreState
  B_AT | B_OP | B_SIZE, // argsSize
  B_AT | B_OP | B_RA, // aarch64SetPointerAuth
];

// Base64 (RFC 4648): each table holds a sextet pre-shifted into place; a byte
// outside the alphabet has bits 30 and 31 set, so the OR of a group is negative.
const BAD = -(1 << 30);
const B18 = new Int32Array(256).fill(BAD);
const B12 = new Int32Array(256).fill(BAD);
const B6 = new Int32Array(256).fill(BAD);
const B0 = new Int32Array(256).fill(BAD);
{
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < 64; i++) {
    const c = alphabet.charCodeAt(i);
    B18[c] = i << 18;
    B12[c] = i << 12;
    B6[c] = i << 6;
    B0[c] = i;
  }
}

/** Integer ranges of `records.ts` (U8, U16, U32, I32). */
const U8_MAX = 0xff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;

/** `Alignment`'s predicate in `records.ts`. */
const isPowerOfTwo = (n: number): boolean => Number.isSafeInteger(n) && n >= 1 && (n & (n - 1)) === 0 && n <= 0x40000000;

const NO_RELOCATIONS: ReadonlyArray<Relocation> = Object.freeze([]);
const NO_INSTRUCTIONS: ReadonlyArray<CfaInstruction> = Object.freeze([]);

/** ASCII bytes → string. Node's `latin1Slice` is about twice as fast as `TextDecoder` here (55 vs 115 ns for 21 bytes). */
type Slice = (bytes: Uint8Array, start: number, end: number) => string;
const asciiSlice: Slice = (() => {
  const B = (globalThis as { Buffer?: { prototype: { latin1Slice?: (this: Uint8Array, s: number, e: number) => string } } }).Buffer;
  const latin1 = B?.prototype.latin1Slice;
  if (typeof latin1 === "function") return (bytes, start, end) => latin1.call(bytes, start, end);
  const d = new TextDecoder();
  return (bytes, start, end) => d.decode(bytes.subarray(start, end));
})();

/**
 * `a[as, as + n)` equals `b[0, n)`: Node's `Buffer.prototype.compare`
 * (memcmp) where there is one — ~90 ns for a 226-byte unwind record against
 * ~350 for a byte loop, 10⁵ times a build at 10⁵ functions — else the loop.
 */
type SameBytes = (a: Uint8Array, as: number, b: Uint8Array, n: number) => boolean;
const sameBytes: SameBytes = (() => {
  type Compare = (this: Uint8Array, target: Uint8Array, ts: number, te: number, ss: number, se: number) => number;
  const B = (globalThis as { Buffer?: { prototype: { compare?: Compare } } }).Buffer;
  const compare = B?.prototype.compare;
  if (typeof compare === "function") return (a, as, b, n) => compare.call(a, b, 0, n, as, as + n) === 0;
  return (a, as, b, n) => {
    let i = 0;
    while (i < n && a[as + i] === b[i]) i++;
    return i === n;
  };
})();

const SLAB = 1 << 20;
/** Bodies at least this long get a buffer of their own instead of a piece of a slab. */
const OWN_BUFFER = SLAB >>> 3;
/** Unwind records longer than this are not remembered. */
const MEMO_MAX = 4096;
const RECENT = 4;

export class ItemScanner {
  private src: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;
  /** Start and end of the last string read. */
  private ss = 0;
  private se = 0;
  private slab: Uint8Array = new Uint8Array(0);
  private slabUsed = 0;
  private memo: Uint8Array = new Uint8Array(256);
  private memoLen = 0;
  private memoValue: SystemVUnwind | undefined = undefined;
  private readonly recent: string[] = new Array<string>(RECENT).fill("");
  private recentNext = 0;

  /** The rows `scan` fills for a function line (see `FunctionRows`). */
  private readonly rows = new FunctionRows();
  /** Small bodies are decoded here: the fold copies them, `item` copies them into a slab. */
  private bodyScratch = new Uint8Array(BY_REFERENCE);

  /**
   * The item on line `bytes[start, end)` (no line end), or `undefined` when
   * the schema decoder must decide.
   */
  item(bytes: Uint8Array, start: number, end: number): Item | undefined {
    const r = this.scan(bytes, start, end);
    return r === undefined || r.type === "padding" ? r : this.functionItem(r);
  }

  /**
   * The item on line `bytes[start, end)` as the fold reads it: a function as
   * this scanner's rows (valid until its next line), or a padding item; or
   * `undefined` when the schema decoder must decide.
   */
  scan(bytes: Uint8Array, start: number, end: number): FunctionRows | PaddingItem | undefined {
    this.src = bytes;
    this.pos = start;
    this.end = end;
    const slab = this.slab;
    const used = this.slabUsed;
    try {
      return this.parseItem();
    } catch (e) {
      if (e !== DECLINE) throw e;
      // Give back the slab space a declined body took.
      if (this.slab === slab) this.slabUsed = used;
      else this.slabUsed = 0;
      return undefined;
    } finally {
      this.src = EMPTY;
    }
  }

  /** The header on line `bytes[start, end)`, or `undefined` when the schema decoder must decide. */
  header(bytes: Uint8Array, start: number, end: number): Header | undefined {
    this.src = bytes;
    this.pos = start;
    this.end = end;
    try {
      return this.parseHeader();
    } catch (e) {
      if (e !== DECLINE) throw e;
      return undefined;
    } finally {
      this.src = EMPTY;
    }
  }

  // ---------------------------------------------------------------- records

  private parseHeader(): Header {
    this.ws();
    this.expect(LBRACE);
    this.ws();
    let seen = 0;
    let target = "";
    let forceVeneers = false;
    let symbols = true;
    let wasmtime = -1;
    for (;;) {
      const k = this.key(HEADER_KEYS);
      if ((seen & (1 << k)) !== 0) throw DECLINE;
      seen |= 1 << k;
      switch (k) {
        case H_FORMAT:
          this.literal(FORMAT_CODES);
          break;
        case H_TARGET:
          this.string();
          target = asciiSlice(this.src, this.ss, this.se);
          break;
        case H_FORCE:
          forceVeneers = this.bool();
          break;
        case H_SYMBOLS:
          symbols = this.bool();
          break;
        case H_WASMTIME:
          wasmtime = this.literal(WASMTIME_CODES);
          break;
      }
      if (this.endOfMember()) break;
    }
    this.ws();
    if (this.pos !== this.end) throw DECLINE;
    const required = (1 << H_FORMAT) | (1 << H_TARGET);
    if ((seen & required) !== required) throw DECLINE;
    return wasmtime < 0
      ? { format: "objfold/v1", target, forceVeneers, symbols }
      : { format: "objfold/v1", target, forceVeneers, symbols, wasmtime: WASMTIME_KINDS[wasmtime]! };
  }


  /** The function item of the rows `scan` just filled: its body copied out of the scratch, relocations as objects. */
  private functionItem(r: FunctionRows): FunctionItem {
    const src = r.src!;
    const name = this.nameString(src, r.nameStart, r.nameEnd);
    const body = r.bodyOwned ? r.body : this.copyOut(r.body, r.bodyLength);
    const n = r.count;
    let relocations = NO_RELOCATIONS;
    if (n > 0) {
      const out = new Array<Relocation>(n);
      for (let k = 0; k < n; k++) {
        const kind = r.kind[k]!;
        out[k] =
          kind === HOST_CALL_KIND
            ? { offset: r.offset[k]!, kind: "PulleyCallIndirectHost", hostCall: r.hostCall[k]!, addend: r.addend[k]! }
            : {
                offset: r.offset[k]!,
                kind: RELOCATION_KINDS[kind] as (typeof CALL_RELOCATION_KINDS)[number],
                target: this.nameString(src, r.targetStart[k]!, r.targetEnd[k]!),
                addend: r.addend[k]!,
              };
      }
      relocations = out;
    }
    const { alignment, unwind } = r;
    return unwind === undefined
      ? { type: "function", name, body, alignment, relocations }
      : { type: "function", name, body, alignment, relocations, unwind: unwind as SystemVUnwind };
  }

  private copyOut(b: Uint8Array, n: number): Uint8Array {
    const out = this.alloc(n);
    for (let i = 0; i < n; i++) out[i] = b[i]!;
    return out;
  }

  private parseItem(): FunctionRows | PaddingItem {
    this.ws();
    this.expect(LBRACE);
    let seen = 0;
    let type = -1;
    const rows = this.rows;
    rows.clear();
    rows.src = this.src;
    rows.bodyHeld = false;
    let size = 0;
    this.ws();
    for (;;) {
      const k = this.key(ITEM_KEYS);
      if ((seen & (1 << k)) !== 0) throw DECLINE;
      seen |= 1 << k;
      switch (k) {
        case K_TYPE:
          type = this.literal(TYPE_CODES);
          break;
        case K_NAME:
          this.name();
          rows.nameStart = this.ss;
          rows.nameEnd = this.se;
          break;
        case K_BODY:
          this.base64(rows);
          break;
        case K_ALIGNMENT:
          rows.alignment = this.int();
          if (!isPowerOfTwo(rows.alignment)) throw DECLINE;
          break;
        case K_RELOCATIONS:
          this.relocations(rows);
          break;
        case K_UNWIND:
          rows.unwind = this.unwind();
          break;
        case K_SIZE:
          size = this.int();
          if (size < 0) throw DECLINE;
          break;
      }
      if (this.endOfMember()) break;
    }
    this.ws();
    if (this.pos !== this.end) throw DECLINE;
    if (type === 0) {
      const required = (1 << K_TYPE) | (1 << K_NAME) | (1 << K_BODY) | (1 << K_ALIGNMENT);
      if ((seen & required) !== required || (seen & (1 << K_SIZE)) !== 0) throw DECLINE;
      return rows;
    }
    if (type === 1 && seen === ((1 << K_TYPE) | (1 << K_SIZE))) {
      const p: PaddingItem = { type: "padding", size };
      return p;
    }
    throw DECLINE;
  }

  private relocations(rows: FunctionRows): void {
    this.expect(LBRACKET);
    this.ws();
    if (this.peek() === RBRACKET) {
      this.pos++;
      return;
    }
    do this.relocation(rows);
    while (this.endOfElement());
  }

  private relocation(rows: FunctionRows): void {
    this.expect(LBRACE);
    this.ws();
    let seen = 0;
    let offset = 0;
    let kind = -1;
    let targetStart = 0;
    let targetEnd = 0;
    let addend = 0;
    let hostCall = 0;
    for (;;) {
      const k = this.key(RELOC_KEYS);
      if ((seen & (1 << k)) !== 0) throw DECLINE;
      seen |= 1 << k;
      switch (k) {
        case R_OFFSET:
          offset = this.int();
          if (offset < 0 || offset > U32_MAX) throw DECLINE;
          break;
        case R_KIND:
          kind = this.literal(RELOC_KIND_CODES);
          break;
        case R_TARGET:
          this.name();
          targetStart = this.ss;
          targetEnd = this.se;
          break;
        case R_ADDEND:
          addend = this.int();
          break;
        case R_HOSTCALL:
          hostCall = this.int();
          if (hostCall < 0 || hostCall > U8_MAX) throw DECLINE;
          break;
      }
      if (this.endOfMember()) break;
    }
    const base = (1 << R_OFFSET) | (1 << R_KIND);
    const rest = seen & ~((1 << R_ADDEND) | base);
    if ((seen & base) !== base) throw DECLINE;
    if (kind === HOST_CALL_KIND) {
      if (rest !== 1 << R_HOSTCALL) throw DECLINE;
      rows.pushRange(offset, kind, 0, 0, addend, hostCall);
      return;
    }
    if (rest !== 1 << R_TARGET) throw DECLINE;
    rows.pushRange(offset, kind, targetStart, targetEnd, addend, 0);
  }

  private unwind(): SystemVUnwind {
    // Same bytes as the last unwind record: the same (immutable) value.
    const start = this.pos;
    const n = this.memoLen;
    if (n > 0 && start + n <= this.end) {
      if (sameBytes(this.src, start, this.memo, n)) {
        this.pos = start + n;
        return this.memoValue!;
      }
    }
    const u = this.parseUnwind();
    const len = this.pos - start;
    if (len <= MEMO_MAX) {
      if (len > this.memo.length) this.memo = new Uint8Array(MEMO_MAX);
      this.memo.set(this.src.subarray(start, this.pos));
      this.memoLen = len;
      // Handed out again for equal records: frozen, so no holder can change another's.
      for (const i of u.instructions) Object.freeze(i);
      Object.freeze(u.instructions);
      this.memoValue = Object.freeze(u);
    }
    return u;
  }

  private parseUnwind(): SystemVUnwind {
    this.expect(LBRACE);
    this.ws();
    let seen = 0;
    let length = 0;
    let instructions = NO_INSTRUCTIONS;
    for (;;) {
      const k = this.key(UNWIND_KEYS);
      if ((seen & (1 << k)) !== 0) throw DECLINE;
      seen |= 1 << k;
      switch (k) {
        case U_KIND:
          this.literal(SYSTEMV_CODES);
          break;
        case U_LENGTH:
          length = this.int();
          if (length < 0 || length > U32_MAX) throw DECLINE;
          break;
        case U_INSTRUCTIONS:
          instructions = this.instructions();
          break;
      }
      if (this.endOfMember()) break;
    }
    if (seen !== 0b111) throw DECLINE;
    return { kind: "systemv", length, instructions };
  }

  private instructions(): ReadonlyArray<CfaInstruction> {
    this.expect(LBRACKET);
    this.ws();
    if (this.peek() === RBRACKET) {
      this.pos++;
      return [];
    }
    const out: CfaInstruction[] = [];
    do out.push(this.instruction());
    while (this.endOfElement());
    return out.slice();
  }

  private instruction(): CfaInstruction {
    this.expect(LBRACE);
    this.ws();
    let seen = 0;
    let at = 0;
    let op = -1;
    let register = 0;
    let offset = 0;
    let fromRegister = 0;
    let size = 0;
    let returnAddresses = false;
    for (;;) {
      const k = this.key(INSN_KEYS);
      if ((seen & (1 << k)) !== 0) throw DECLINE;
      seen |= 1 << k;
      switch (k) {
        case I_AT:
          at = this.int();
          if (at < 0 || at > U32_MAX) throw DECLINE;
          break;
        case I_OP:
          op = this.literal(OP_CODES);
          break;
        case I_REGISTER:
          register = this.int();
          if (register < 0 || register > U16_MAX) throw DECLINE;
          break;
        case I_OFFSET:
          offset = this.int();
          if (offset < I32_MIN || offset > I32_MAX) throw DECLINE;
          break;
        case I_FROM:
          fromRegister = this.int();
          if (fromRegister < 0 || fromRegister > U16_MAX) throw DECLINE;
          break;
        case I_SIZE:
          size = this.int();
          if (size < 0 || size > U32_MAX) throw DECLINE;
          break;
        case I_RA:
          returnAddresses = this.bool();
          break;
      }
      if (this.endOfMember()) break;
    }
    if (op < 0 || seen !== OP_FIELDS[op]) throw DECLINE;
    // Field order as in the schema's structs: at, op, then the op's own fields.
    switch (OPS[op]!) {
      case "cfa":
        return { at, op: "cfa", register, offset };
      case "cfaRegister":
        return { at, op: "cfaRegister", register };
      case "cfaOffset":
        return { at, op: "cfaOffset", offset };
      case "restore":
        return { at, op: "restore", register };
      case "undefined":
        return { at, op: "undefined", register };
      case "sameValue":
        return { at, op: "sameValue", register };
      case "offset":
        return { at, op: "offset", register, offset };
      case "valOffset":
        return { at, op: "valOffset", register, offset };
      case "register":
        return { at, op: "register", register, fromRegister };
      case "rememberState":
        return { at, op: "rememberState" };
      case "restoreState":
        return { at, op: "restoreState" };
      case "argsSize":
        return { at, op: "argsSize", size };
      case "aarch64SetPointerAuth":
        return { at, op: "aarch64SetPointerAuth", returnAddresses };
    }
  }

  // ---------------------------------------------------------------- JSON pieces

  /** Skip JSON whitespace (space, tab, LF, CR). */
  private ws(): void {
    const src = this.src;
    let p = this.pos;
    const end = this.end;
    while (p < end) {
      const c = src[p]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      p++;
    }
    this.pos = p;
  }

  private peek(): number {
    return this.pos < this.end ? this.src[this.pos]! : -1;
  }

  private expect(c: number): void {
    if (this.peek() !== c) throw DECLINE;
    this.pos++;
  }

  /** After a member's value: `,` (false: another member follows) or `}` (true: the object ended). */
  private endOfMember(): boolean {
    this.ws();
    const c = this.peek();
    this.pos++;
    if (c === COMMA) {
      this.ws();
      return false;
    }
    if (c === RBRACE) return true;
    throw DECLINE;
  }

  /** After an array element: `,` (true: another element follows) or `]` (false). */
  private endOfElement(): boolean {
    this.ws();
    const c = this.peek();
    this.pos++;
    if (c === COMMA) {
      this.ws();
      return true;
    }
    if (c === RBRACKET) return false;
    throw DECLINE;
  }

  /** A string of printable ASCII without escapes; its contents are `src[ss, se)`. */
  private string(): void {
    this.expect(QUOTE);
    const src = this.src;
    const end = this.end;
    const s = this.pos;
    let p = s;
    for (;;) {
      if (p >= end) throw DECLINE;
      const c = src[p]!;
      if (c === QUOTE) break;
      if (c < 0x20 || c > 0x7e || c === BACKSLASH) throw DECLINE;
      p++;
    }
    this.ss = s;
    this.se = p;
    this.pos = p + 1;
  }

  /** Index of the string (one of `names`, or the scanner declines). */
  private literal(names: Literals): number {
    const src = this.src;
    const end = this.end;
    const p = this.pos + 1;
    if (p >= end || src[p - 1] !== QUOTE) throw DECLINE;
    const first = src[p]!;
    if (first >= 128) throw DECLINE;
    const { byFirst, codes } = names;
    for (let j = first * PER_BYTE; j < first * PER_BYTE + PER_BYTE; j++) {
      const k = byFirst[j]! - 1;
      if (k < 0) break;
      const c = codes[k]!;
      const e = p + c.length;
      if (e >= end || src[e] !== QUOTE) continue;
      let i = 1;
      while (i < c.length && src[p + i] === c[i]) i++;
      if (i === c.length) {
        this.pos = e + 1;
        return k;
      }
    }
    throw DECLINE;
  }

  /** A member's key among `keys`, then the colon. */
  private key(keys: Literals): number {
    const k = this.literal(keys);
    this.ws();
    this.expect(COLON);
    this.ws();
    return k;
  }

  /** A `FunctionName`, left in `src[ss, se)`: non-empty (the scanner never lets a NUL through). */
  private name(): void {
    this.string();
    if (this.se === this.ss) throw DECLINE;
  }

  /** The name `src[s, e)` as a string: one of the last few made when equal (a call's target is often the next function's name). */
  private nameString(src: Uint8Array, s: number, e: number): string {
    const len = e - s;
    const recent = this.recent;
    for (let r = 0; r < RECENT; r++) {
      const cand = recent[r]!;
      if (cand.length !== len) continue;
      let i = len - 1; // names tend to differ at the end
      while (i >= 0 && cand.charCodeAt(i) === src[s + i]) i--;
      if (i < 0) return cand;
    }
    const str = asciiSlice(src, s, s + len);
    recent[this.recentNext] = str;
    this.recentNext = (this.recentNext + 1) % RECENT;
    return str;
  }

  private bool(): boolean {
    const src = this.src;
    const p = this.pos;
    if (p + 4 <= this.end && src[p] === 0x74 && src[p + 1] === 0x72 && src[p + 2] === 0x75 && src[p + 3] === 0x65) {
      this.pos = p + 4;
      return true;
    }
    if (p + 5 <= this.end && src[p] === 0x66 && src[p + 1] === 0x61 && src[p + 2] === 0x6c && src[p + 3] === 0x73 && src[p + 4] === 0x65) {
      this.pos = p + 5;
      return false;
    }
    throw DECLINE;
  }

  /**
   * A JSON integer of at most 15 digits (exact in a double, as `JSON.parse`
   * reads it). `-0`, fractions and exponents are the schema's to judge.
   */
  private int(): number {
    const src = this.src;
    const end = this.end;
    let p = this.pos;
    let neg = false;
    if (p < end && src[p] === MINUS) {
      neg = true;
      p++;
    }
    const s = p;
    let n = 0;
    if (p < end && src[p] === ZERO) p++;
    else
      while (p < end) {
        const c = src[p]!;
        if (c < ZERO || c > NINE) break;
        n = n * 10 + (c - ZERO);
        p++;
      }
    const digits = p - s;
    if (digits === 0 || digits > 15) throw DECLINE;
    if (p < end) {
      const c = src[p]!;
      if (c === 0x2e || c === 0x65 || c === 0x45) throw DECLINE; // . e E
    }
    if (neg && n === 0) throw DECLINE;
    this.pos = p;
    return neg ? -n : n;
  }

  /**
   * Padded RFC 4648 base64 (as `base64ToBytes` accepts it), decoded into the
   * rows' body: a small one into this scanner's scratch, a large one into a
   * slab (kept by the fold as it is).
   */
  private base64(rows: FunctionRows): void {
    this.expect(QUOTE);
    const src = this.src;
    const s = this.pos;
    const e = src.indexOf(QUOTE, s);
    if (e < 0 || e >= this.end) throw DECLINE;
    this.pos = e + 1;
    const n = e - s;
    if (n % 4 !== 0) throw DECLINE;
    if (n === 0) {
      rows.body = EMPTY;
      rows.bodyLength = 0;
      rows.bodyOwned = true;
      return;
    }
    const pad = src[e - 1] === 61 ? (src[e - 2] === 61 ? 2 : 1) : 0;
    const size = (n / 4) * 3 - pad;
    const small = size < BY_REFERENCE;
    const out = small ? this.bodyScratch : this.alloc(size);
    rows.body = out;
    rows.bodyLength = size;
    rows.bodyOwned = !small;
    let o = 0;
    const full = pad === 0 ? e : e - 4;
    for (let i = s; i < full; i += 4) {
      const v = B18[src[i]!]! | B12[src[i + 1]!]! | B6[src[i + 2]!]! | B0[src[i + 3]!]!;
      if (v < 0) throw DECLINE;
      out[o] = v >>> 16;
      out[o + 1] = v >>> 8;
      out[o + 2] = v;
      o += 3;
    }
    if (pad > 0) {
      const ab = B18[src[full]!]! | B12[src[full + 1]!]!;
      if (ab < 0) throw DECLINE;
      if (pad === 2) {
        if ((ab & 0xf000) !== 0) throw DECLINE; // non-canonical trailing bits
        out[o] = ab >>> 16;
      } else {
        const c = B6[src[full + 2]!]!;
        if (c < 0 || (c & 0xc0) !== 0) throw DECLINE;
        const v = ab | c;
        out[o] = v >>> 16;
        out[o + 1] = v >>> 8;
      }
    }
  }

  /** `n` bytes for a body: a view of the current slab, or a buffer of its own when large. */
  private alloc(n: number): Uint8Array {
    if (n >= OWN_BUFFER) return new Uint8Array(n);
    let at = this.slabUsed;
    if (at + n > this.slab.length) {
      this.slab = new Uint8Array(SLAB);
      at = 0;
    }
    this.slabUsed = at + n;
    return this.slab.subarray(at, at + n);
  }
}

const EMPTY = new Uint8Array(0);
