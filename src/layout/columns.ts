/**
 * Growable typed-array columns for the fold's transient arena: one number
 * per row, no object per row (docs/performance.md: objects per function
 * were most of the heap, and of the GC time, at 10⁵–10⁶ functions).
 * Internal to one arena; `view` hands out the filled prefix once the arena
 * is sealed.
 */
type TypedArray = Uint32Array | Int32Array | Float64Array | Uint8Array;
type Ctor<T extends TypedArray> = new (n: number) => T;

export class Column<T extends TypedArray> {
  data: T;
  length = 0;
  constructor(
    private readonly ctor: Ctor<T>,
    capacity = 64,
  ) {
    this.data = new ctor(capacity);
  }

  push(v: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = v;
  }

  private grow(): void {
    // 1.5×: a doubling would hold 3× the column while copying at 10⁶ rows.
    const bigger = new this.ctor(Math.max(64, Math.ceil(this.data.length * 1.5)));
    bigger.set(this.data);
    this.data = bigger;
  }

  /** The filled rows (a view: the arena is sealed when this is used). */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

export const u32 = (): Column<Uint32Array> => new Column(Uint32Array);
export const i32 = (): Column<Int32Array> => new Column(Int32Array);
export const f64 = (): Column<Float64Array> => new Column(Float64Array);
export const u8 = (): Column<Uint8Array> => new Column(Uint8Array);
