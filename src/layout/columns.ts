/**
 * Growable typed-array columns for the fold's transient arena and the CLI's
 * decoded blocks: one number per row, no object per row (docs/performance.md:
 * objects per function were most of the heap, and of the GC time, at
 * 10⁵–10⁶ functions). Owned by one builder; `view` hands out the filled
 * prefix once the builder is done.
 *
 * One class per element type, written out: a single generic class saw four
 * typed-array kinds at its one `push`, whose element store then went
 * polymorphic and made every push of every column slower
 * (docs/performance.md, "Cold code").
 */

/**
 * A buffer for `rows` rows of `size` bytes after `old`: `old` itself grown
 * in place, a new resizable buffer (the caller copies the rows over), or
 * undefined for a plain one of the caller's.
 *
 * A large column lives in a resizable `ArrayBuffer` that grows in place: no
 * second copy of the column while it grows, and no garbage copy left for the
 * collector (at 10⁶ rows the fold's columns grew all at once, ~40 MB of old
 * copies on top of the new ones; docs/performance.md, "Memory"). Pages past
 * the rows written are address space, not memory, so it grows 2×. A small
 * column is a plain buffer, copied 1.5× at a time: a resizable one reserves
 * its maximum up front, too dear for the many small folds of a test run.
 * Where resizable buffers fail, plain ones do.
 */
const room = (old: ArrayBuffer, rows: number, size: number): ArrayBuffer | undefined => {
  const r = old as ArrayBuffer & Resizable;
  if (r.resizable === true && rows * size <= r.maxByteLength) {
    r.resize(Math.min(r.maxByteLength, Math.max(rows * size, 2 * old.byteLength)));
    return old;
  }
  if (rows * size < RESIZABLE_FROM) return undefined;
  try {
    return new ResizableArrayBuffer(rows * size, { maxByteLength: MAX_ROWS * size });
  } catch {
    return undefined;
  }
};

/** Every column's rows before it first grows. */
const FIRST_ROWS = 64;

/** Rows for a column of `length` rows growing to hold `n`: 1.5× (a doubling would hold 3× the column while copying). */
const grown = (length: number, n: number): number => Math.max(n, FIRST_ROWS, Math.ceil(length * 1.5));

type Typed = Uint32Array | Int32Array | Float64Array | Uint8Array;
/** A typed-array constructor: of a length, or over a buffer. */
interface TypedOf<T extends Typed> {
  new (length: number): T;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * `data`, whose first `length` rows are filled, with room for `n` rows: the
 * same buffer grown in place, or the rows copied into a bigger one. (Shared
 * by the four classes below: growing is rare, so its one site may see four
 * kinds; `push` may not.)
 */
const grownData = <T extends Typed>(data: T, length: number, n: number, Make: TypedOf<T>): T => {
  const size = Make.BYTES_PER_ELEMENT;
  const old = data.buffer as ArrayBuffer;
  const cap = grown(length, n);
  const buf = room(old, cap, size);
  if (buf === old) return new Make(buf, 0, buf.byteLength / size);
  const bigger = buf === undefined ? new Make(cap) : new Make(buf, 0, cap);
  bigger.set(data.subarray(0, length));
  return bigger;
};

/**
 * `data`, whose first `length` rows are filled, with room for `n` rows
 * (more than it has) for a column told its size up front (`reserve`): a
 * plain buffer, unless the column is in a resizable one already. Element
 * access through a view of a resizable buffer is slower in V8 11 (Node 20):
 * at 10⁶ functions, an in-memory build whose reserved columns were resizable
 * took ~15 % longer, and the name pool in one interned ~40 % slower at 10⁵
 * (docs/performance.md, "Sixth round"). Exactly `n` the first time (the
 * column still has its first 64 rows); after that 1.5× at least, so that
 * reserving before each of many small batches (`stepMany` over and over)
 * stays linear, for columns still empty then too (the patches).
 */
const reservedData = <T extends Typed>(data: T, length: number, n: number, Make: TypedOf<T>): T => {
  const r = data.buffer as ArrayBuffer & Resizable;
  if (r.resizable === true) return grownData(data, length, n, Make);
  const bigger = new Make(data.length <= FIRST_ROWS ? n : grown(data.length, n));
  bigger.set(data.subarray(0, length));
  return bigger;
};

/** ES2024 resizable buffers: Node 20 has them, the TypeScript lib this project builds with does not. */
interface Resizable {
  readonly resizable?: boolean;
  readonly maxByteLength: number;
  resize(bytes: number): void;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => ArrayBuffer;

/** Columns of at least this many bytes grow in place. */
const RESIZABLE_FROM = 1 << 20;
/** The most rows a column can hold: text offsets are u32, and 2^28 rows of 8 bytes reserve 2 GiB of address space. */
const MAX_ROWS = 1 << 28;

export class U32Column {
  data = new Uint32Array(FIRST_ROWS);
  length = 0;
  /** Room for at least `n` rows without growing (see `reservedData`). */
  reserve(n: number): void {
    if (n > this.data.length) this.data = reservedData(this.data, this.length, n, Uint32Array);
  }
  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = v;
  }
  private grow(n: number): void {
    this.data = grownData(this.data, this.length, n, Uint32Array);
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

export class I32Column {
  data = new Int32Array(FIRST_ROWS);
  length = 0;
  /** Room for at least `n` rows without growing (see `reservedData`). */
  reserve(n: number): void {
    if (n > this.data.length) this.data = reservedData(this.data, this.length, n, Int32Array);
  }
  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = v;
  }
  private grow(n: number): void {
    this.data = grownData(this.data, this.length, n, Int32Array);
  }
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

export class F64Column {
  data = new Float64Array(FIRST_ROWS);
  length = 0;
  /** Room for at least `n` rows without growing (see `reservedData`). */
  reserve(n: number): void {
    if (n > this.data.length) this.data = reservedData(this.data, this.length, n, Float64Array);
  }
  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = v;
  }
  private grow(n: number): void {
    this.data = grownData(this.data, this.length, n, Float64Array);
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

export class U8Column {
  data = new Uint8Array(FIRST_ROWS);
  length = 0;
  /** Room for at least `n` rows without growing (see `reservedData`). */
  reserve(n: number): void {
    if (n > this.data.length) this.data = reservedData(this.data, this.length, n, Uint8Array);
  }
  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = v;
  }
  private grow(n: number): void {
    this.data = grownData(this.data, this.length, n, Uint8Array);
  }
  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }
}

export const u32 = (): U32Column => new U32Column();
export const i32 = (): I32Column => new I32Column();
export const f64 = (): F64Column => new F64Column();
export const u8 = (): U8Column => new U8Column();
