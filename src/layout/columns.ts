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

/** 1.5×: a doubling would hold 3× the column while copying at 10⁶ rows. */
const grown = (n: number): number => Math.max(64, Math.ceil(n * 1.5));

export class U32Column {
  data = new Uint32Array(64);
  length = 0;
  /** Room for at least `n` rows without growing. */
  reserve(n: number): void {
    if (n <= this.data.length) return;
    const bigger = new Uint32Array(n);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Uint32Array(grown(this.length));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

export class I32Column {
  data = new Int32Array(64);
  length = 0;
  /** Room for at least `n` rows without growing. */
  reserve(n: number): void {
    if (n <= this.data.length) return;
    const bigger = new Int32Array(n);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(grown(this.length));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

export class F64Column {
  data = new Float64Array(64);
  length = 0;
  /** Room for at least `n` rows without growing. */
  reserve(n: number): void {
    if (n <= this.data.length) return;
    const bigger = new Float64Array(n);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(grown(this.length));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

export class U8Column {
  data = new Uint8Array(64);
  length = 0;
  /** Room for at least `n` rows without growing. */
  reserve(n: number): void {
    if (n <= this.data.length) return;
    const bigger = new Uint8Array(n);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Uint8Array(grown(this.length));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }
}

export const u32 = (): U32Column => new U32Column();
export const i32 = (): I32Column => new I32Column();
export const f64 = (): F64Column => new F64Column();
export const u8 = (): U8Column => new U8Column();
