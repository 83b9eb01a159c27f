/**
 * ELF string tables laid out as the `object` crate's `StringTable` does
 * (reference §9; object 0.30 `src/write/string.rs`): strings sorted by their
 * reversed bytes in descending order (end of string lowest), and a string
 * that is a suffix of the one written just before it shares its bytes.
 * Byte-identical output depends on it.
 *
 * Speed (docs/performance.md): the first version kept one `Uint8Array` per
 * string and sorted with `Array.prototype.sort` and a comparator: at 100 000
 * symbols that was ~40 % of an in-memory build, mostly comparator calls over
 * scattered arrays. Now every string's UTF-8 goes into one pool, the order
 * comes from a radix sort of `Int32Array` ids on 4-byte keys read from the
 * strings' ends, and the section's bytes are built once: 6× faster at 10⁵
 * names (same process, alternating: 236 → 39 ms on a loaded machine).
 */
import { runsOf, type SectionRun } from "../bytes/runs.js";
import { type ByteWriter, Defect } from "../bytes/writer.js";

export interface StringTable {
  /** Size of the section: a NUL, then the strings, each NUL-terminated. */
  readonly size: number;
  /** Offset of each input string (same order as the input). */
  readonly offsets: Uint32Array;
  /** The section's contents (`size` bytes), made on first use. */
  readonly bytes: Uint8Array;
  /**
   * The section cut into runs of whole strings of about `bytes` bytes (one
   * run for an infinite `bytes`), each written by its own `write` at the
   * writer's position (its bytes are zero there): a table of 10⁶ names is
   * never made whole when the object is written in parts.
   */
  runs(bytes: number): ReadonlyArray<SectionRun>;
}

const utf8 = new TextEncoder();

/** Every string's UTF-8 bytes in one buffer: string `k` is `pool[start[k] .. end[k])`. */
interface Pool {
  readonly pool: Uint8Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
}

const poolOf = (strings: ReadonlyArray<string>): Pool => {
  const n = strings.length;
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  const pool = fillPool(strings, new Uint8Array(totalUnits(strings)), start, end);
  return { pool, start, end };
};

// One loop per function, here and below: a function that runs once with
// several long loops is optimized on stack inside the first one and then
// deoptimized where the next begins (no type feedback yet), which made a
// cold build of 10⁵ names 2–3× slower than a warm one (docs/performance.md).

const totalUnits = (strings: ReadonlyArray<string>): number => {
  let units = 0;
  for (let k = 0; k < strings.length; k++) units += strings[k]!.length;
  return units;
};

/** Copy the strings' UTF-8 into `pool` (grown if a non-ASCII string needs more room); returns the pool. */
const fillPool = (strings: ReadonlyArray<string>, pool: Uint8Array, start: Int32Array, end: Int32Array): Uint8Array => {
  let units = pool.length;
  let p = 0;
  for (let k = 0; k < strings.length; k++) {
    const s = strings[k]!;
    const len = s.length;
    start[k] = p;
    let i = 0;
    // ASCII (every symbol name Cranelift makes) is copied code unit by code unit.
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c === 0) break;
      pool[p + i] = c;
    }
    if (i === len) p += len;
    else {
      // At most 3 UTF-8 bytes per UTF-16 code unit; grow the pool if that may not fit.
      const need = p + 3 * len + (units - len);
      if (need > pool.length) {
        const bigger = new Uint8Array(Math.max(need, 2 * pool.length));
        bigger.set(pool.subarray(0, p));
        pool = bigger;
      }
      if (s.includes("\0")) throw new Defect(`string table: ${JSON.stringify(s)} holds a NUL`);
      p += utf8.encodeInto(s, pool.subarray(p)).written;
    }
    units -= len;
    end[k] = p;
  }
  return pool;
};

/**
 * Sort `ids` in object's order: descending by reversed bytes, a string that
 * ended counting as byte 0 (object's `sort` is a multikey quicksort on
 * `byte(id, pos)`, which is 0 past a string's start). Distinct strings are
 * totally ordered this way and equal strings are interchangeable, so any
 * correct sort gives the order object writes. (Strings hold no NUL: a NUL
 * would end an ELF string anyway; `buildStringTable` refuses one.)
 *
 * How: 4 bytes at a time from the end, packed big-endian into a u32 key
 * (ended bytes 0), an LSD radix sort of the ids by key, then the same again
 * one chunk further for each run of equal keys whose strings go on. For
 * Cranelift's names (`_wasm_function_N`) the first chunk nearly settles it.
 * Measured at 100 000 names: 36 ms for the multikey quicksort (random access
 * to the pool on every partition pass), 6 ms for this (docs/performance.md).
 */
const sortReversedDescending = (ids: Int32Array, { pool, start, end }: Pool): void => {
  const n = ids.length;
  const keys = new Uint32Array(n);
  const tmpIds = new Int32Array(n);
  const tmpKeys = new Uint32Array(n);
  const count = new Int32Array(256);
  /** Keys of ids[lo, hi) for bytes pos … pos+3 from the end (1-based), inverted so that ascending = object's descending. */
  const load = (lo: number, hi: number, pos: number): void => {
    for (let k = lo; k < hi; k++) {
      const id = ids[k]!;
      const s = start[id]!;
      const e = end[id]! - pos; // index of the byte at `pos`
      let key = 0;
      for (let j = 0; j < 4; j++) key = (key << 8) | (e - j >= s ? pool[e - j]! : 0);
      keys[k] = ~key >>> 0;
    }
  };
  /** Stable LSD radix sort of ids[lo, hi) by keys[lo, hi), a byte at a time; small ranges by insertion. */
  const sortRange = (lo: number, hi: number): void => {
    if (hi - lo <= 48) {
      for (let i = lo + 1; i < hi; i++) {
        const id = ids[i]!;
        const key = keys[i]!;
        let j = i - 1;
        while (j >= lo && keys[j]! > key) {
          ids[j + 1] = ids[j]!;
          keys[j + 1] = keys[j]!;
          j--;
        }
        ids[j + 1] = id;
        keys[j + 1] = key;
      }
      return;
    }
    for (let shift = 0; shift < 32; shift += 8) {
      count.fill(0);
      for (let k = lo; k < hi; k++) count[(keys[k]! >>> shift) & 0xff]!++;
      if (count[(keys[lo]! >>> shift) & 0xff] === hi - lo) continue; // one bucket: nothing moves
      let sum = lo;
      for (let b = 0; b < 256; b++) {
        const c = count[b]!;
        count[b] = sum;
        sum += c;
      }
      for (let k = lo; k < hi; k++) {
        const key = keys[k]!;
        const to = count[(key >>> shift) & 0xff]!++;
        tmpIds[to] = ids[k]!;
        tmpKeys[to] = key;
      }
      ids.set(tmpIds.subarray(lo, hi), lo);
      keys.set(tmpKeys.subarray(lo, hi), lo);
    }
  };
  /** Runs of equal keys in ids[lo, hi): strings that go on past this chunk are sorted on the next one. */
  const runs = (lo: number, hi: number, pos: number, work: number[]): void => {
    let r = lo;
    while (r < hi) {
      const key = keys[r]!;
      let q = r + 1;
      while (q < hi && keys[q] === key) q++;
      if (q - r > 1) {
        const id = ids[r]!;
        // A key without a 0 byte: the strings reach the chunk's last byte and may go on. With one, they all ended here alike: equal.
        if (end[id]! - start[id]! >= pos + 3) work.push(r, q, pos + 4);
      }
      r = q;
    }
  };
  const work: number[] = [0, n, 1];
  while (work.length > 0) {
    const pos = work.pop()!;
    const hi = work.pop()!;
    const lo = work.pop()!;
    load(lo, hi, pos);
    sortRange(lo, hi);
    runs(lo, hi, pos, work);
  }
};

/** Build a string table for `strings` (duplicates allowed: they share one entry). */
export const buildStringTable = (strings: ReadonlyArray<string>): StringTable => tableOf(poolOf(strings));

/**
 * Build a string table for the names `ids` of an interned pool (name id k
 * is `pool[start[k], start[k + 1])`, UTF-8): string k of the table is name
 * `ids[k]`. The pool's bytes are read where they are.
 */
export const buildStringTableOfIds = (names: { readonly pool: Uint8Array; readonly start: Uint32Array }, ids: Uint32Array): StringTable => {
  const n = ids.length;
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  gather(names, ids, start, end);
  return tableOf({ pool: names.pool, start, end });
};

/** Each name's range. (No NUL to check for: `FunctionName` refuses one, and so does the scanner, which takes no control byte.) */
const gather = (names: { readonly start: Uint32Array }, ids: Uint32Array, start: Int32Array, end: Int32Array): void => {
  const s = names.start;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    start[k] = s[id]!;
    end[k] = s[id + 1]!;
  }
};

const tableOf = (p: Pool): StringTable => {
  const n = p.start.length;
  const ids = identity(n);
  sortReversedDescending(ids, p);
  const offsets = new Uint32Array(n);
  // The strings written, in section order, go where the sorted ids were (each id is read before its slot is written).
  const { count, size } = share(ids, p, offsets, ids);
  if (size > 0xffffffff) throw new Defect(`string table of ${size} bytes does not fit ELF's 32-bit offsets`);
  return new Table(p, ids.subarray(0, count), size, offsets);
};

class Table implements StringTable {
  #bytes: Uint8Array | undefined;
  constructor(
    private readonly p: Pool,
    /** The strings written, in section order. */
    private readonly written: Int32Array,
    readonly size: number,
    readonly offsets: Uint32Array,
  ) {}

  get bytes(): Uint8Array {
    if (this.#bytes === undefined) {
      const out = new Uint8Array(this.size);
      writeStrings(out, 1, this.p, this.written, 0, this.written.length);
      this.#bytes = out;
    }
    return this.#bytes;
  }

  runs(bytes: number): SectionRun[] {
    const { start, end } = this.p;
    const written = this.written;
    const sizeOf = (k: number): number => end[written[k]!]! - start[written[k]!]! + 1;
    return runsOf(written.length, 1, 0, sizeOf, bytes).map((r) => ({
      offset: r.offset,
      size: r.size,
      write: (w: ByteWriter) => {
        writeStrings(w.buf, w.pos + (r.entriesAt - r.offset), this.p, written, r.from, r.to);
        w.pos += r.size;
      },
    }));
  }
}

/** Strings `written[from, to)`, each followed by its NUL (a zero already there), from `buf[at]` on. */
const writeStrings = (buf: Uint8Array, at: number, { pool, start, end }: Pool, written: Int32Array, from: number, to: number): void => {
  let o = at;
  for (let k = from; k < to; k++) {
    const id = written[k]!;
    const s = start[id]!;
    const e = end[id]!;
    if (e - s > 64) buf.set(pool.subarray(s, e), o);
    else for (let i = s; i < e; i++) buf[o + i - s] = pool[i]!;
    o += e - s + 1;
  }
};

const identity = (n: number): Int32Array => {
  const ids = new Int32Array(n);
  for (let k = 0; k < n; k++) ids[k] = k;
  return ids;
};

/**
 * object's `write`: a string that ends the previously written one shares its
 * bytes (equal strings are adjacent after the sort, so they share too). Sets
 * every string's offset, lists the strings written, and returns how many and
 * the section's size.
 */
const share = (ids: Int32Array, { pool, start, end }: Pool, offsets: Uint32Array, written: Int32Array): { count: number; size: number } => {
  let count = 0;
  let offset = 1;
  let prev = -1;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    const s = start[id]!;
    const len = end[id]! - s;
    let shared = true;
    if (prev < 0) shared = len === 0;
    else {
      const ps = start[prev]!;
      const pe = end[prev]!;
      if (len > pe - ps) shared = false;
      else for (let i = 1; i <= len; i++) if (pool[pe - i] !== pool[s + len - i]) { shared = false; break; }
    }
    if (shared) offsets[id] = offset - len - 1;
    else {
      offsets[id] = offset;
      written[count++] = id;
      offset += len + 1;
      prev = id;
    }
  }
  return { count, size: offset };
};
