/**
 * The one place where bytes are written. A `ByteWriter` owns a fresh,
 * exact-size buffer (the size comes from the plan) and is never handed across
 * the public API: `writeBytes(size, fill)` is the pure boundary.
 */

/** Thrown only for broken internal invariants (a plan and its writer disagree). */
export class Defect extends Error {
  override readonly name = "ObjfoldDefect";
}

const TWO32 = 4294967296;

export class ByteWriter {
  readonly buf: Uint8Array;
  pos = 0;
  private readonly view: DataView;

  constructor(
    size: number,
    readonly littleEndian: boolean,
    /** Write into the start of this zeroed buffer instead of a fresh one (`objectParts` reusing its one buffer). */
    into?: Uint8Array,
  ) {
    this.buf = into === undefined ? new Uint8Array(size) : into.subarray(0, size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, size);
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v, this.littleEndian);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v >>> 0, this.littleEndian);
    this.pos += 4;
  }

  /** A 64-bit two's-complement value given as a safe integer (|v| < 2^53). */
  i64(v: number): void {
    const hi = Math.floor(v / TWO32);
    const lo = v - hi * TWO32;
    if (this.littleEndian) {
      this.view.setUint32(this.pos, lo, true);
      this.view.setUint32(this.pos + 4, hi >>> 0, true);
    } else {
      this.view.setUint32(this.pos, hi >>> 0, false);
      this.view.setUint32(this.pos + 4, lo, false);
    }
    this.pos += 8;
  }

  uleb(v: number): void {
    // v is a non-negative safe integer; division keeps values above 2^31 exact.
    for (;;) {
      const byte = v % 128;
      v = Math.floor(v / 128);
      if (v === 0) {
        this.buf[this.pos++] = byte;
        return;
      }
      this.buf[this.pos++] = byte | 0x80;
    }
  }

  sleb(v: number): void {
    for (;;) {
      const byte = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      if (done) {
        this.buf[this.pos++] = byte;
        return;
      }
      this.buf[this.pos++] = byte | 0x80;
    }
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Zero bytes: the buffer is fresh, so skipping is writing zeros. */
  zeros(n: number): void {
    this.pos += n;
  }

  /** Check the writer is where the plan says it must be. */
  expect(pos: number, what: string): void {
    if (this.pos !== pos) throw new Defect(`${what}: writer at ${this.pos}, plan says ${pos}`);
  }
}

export const ulebSize = (v: number): number => {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
};

export const slebSize = (v: number): number => {
  let n = 1;
  for (;;) {
    const byte = ((v % 128) + 128) % 128;
    v = Math.floor(v / 128);
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return n;
    n++;
  }
};

/**
 * Run a writer over a fresh buffer of exactly `size` bytes and return the
 * buffer; or over the first `size` bytes of `into`, which the caller zeroed
 * and owns, and return that view.
 */
export const writeBytes = (size: number, littleEndian: boolean, fill: (w: ByteWriter) => void, into?: Uint8Array): Uint8Array => {
  const w = new ByteWriter(size, littleEndian, into);
  fill(w);
  w.expect(size, "buffer end");
  return w.buf;
};
