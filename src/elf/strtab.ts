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
 * comes from a radix sort of `Int32Array` ids on keys read from the strings'
 * ends, and the section's bytes are built once: 6× faster at 10⁵ names
 * (same process, alternating: 236 → 39 ms on a loaded machine). At 10⁶
 * names the pool outgrows the caches, and anything done in sorted order
 * costs a cache miss per string: the keys are 8 bytes, read in id order,
 * sharing is decided from them, and the whole section is written in the
 * pool's order (docs/performance.md, "Fifth round").
 */
import { copyBytes } from "../bytes/copy.js";
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

/** Every string's UTF-8 bytes in one buffer, one after another: string `k` is `pool[start[k] .. start[k + 1])` (`start` has n + 1 entries). The fold's name pool is one (`NameView.bytes()`). */
export interface Pool {
  readonly pool: Uint8Array;
  readonly start: Uint32Array;
}

const poolOf = (strings: ReadonlyArray<string>): Pool => {
  const start = new Uint32Array(strings.length + 1);
  const pool = fillPool(strings, new Uint8Array(totalUnits(strings)), start);
  return { pool, start };
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
const fillPool = (strings: ReadonlyArray<string>, pool: Uint8Array, start: Uint32Array): Uint8Array => {
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
  }
  start[strings.length] = p;
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
 * How: the last 8 bytes of every string, read in id order and packed
 * big-endian into two 32-bit keys (ended bytes 0, inverted so that ascending
 * is object's descending; compared as unsigned, kept in `Int32Array`s: see
 * below); an LSD radix sort of the ids on the 8-byte key (a
 * pass per byte that is not the same in every key); then, for each run of
 * equal keys whose strings go on, the same again 8 bytes further (read by
 * id, rare: Cranelift's `_wasm_function_N` differ within 8 bytes). At 10⁶
 * names a round of 4 bytes left 10⁴ runs of ~100 equal keys, whose strings
 * were then read in sorted order, a cache miss each (docs/performance.md,
 * "Fifth round"); sorting those runs on their next 4 bytes one by one then
 * cost 60–70 ms, where two more passes over all keys cost ~20 ("Sixth round").
 *
 * Returns the first round's keys, in sorted order (a run sorted further
 * keeps them: they are equal across it): `share` decides most sharing from
 * them without reading the strings again. `scratch` (n entries) is used up;
 * the table's memory is what sets the CLI's peak at 10⁶ names, so the sort
 * borrows the offsets' array rather than making one more.
 *
 * The keys are `Int32Array`s, not `Uint32Array`s: the table is built once
 * per object, so its loops start cold, and unoptimized code boxes every
 * element of 2^31 or more it reads from a `Uint32Array` (most inverted
 * keys) in a fresh heap number. At 10⁶ names that churned the young
 * generation enough to fault ~27 MB of its pages back in while the
 * CLI was at its peak (docs/performance.md, "Seventh round"); an int32 is
 * always a small integer here (Node 20 has no pointer compression).
 */
const sortReversedDescending = (ids: Int32Array, p: Pool, scratch: Uint32Array): { readonly hiKeys: Int32Array; readonly loKeys: Int32Array } => {
  const n = ids.length;
  const hiKeys = new Int32Array(n);
  const loKeys = new Int32Array(n);
  const sort: Sort = { ids, tmpIds: new Int32Array(scratch.buffer, scratch.byteOffset, n), tmpA: new Int32Array(n), tmpB: new Int32Array(n), count: new Int32Array(8 * 256) };
  const work: number[] = [];
  loadKeys(ids, p, 0, n, 1, hiKeys, loKeys);
  sortOn(sort, 0, n, hiKeys, loKeys);
  equalKeyRuns(ids, p, 0, n, 1, hiKeys, loKeys, work);
  if (work.length > 0) {
    // Later rounds: keys of their own, so that the first round's stay (equal across each run sorted further).
    const a = new Int32Array(n);
    const b = new Int32Array(n);
    while (work.length > 0) {
      const pos = work.pop()!;
      const hi = work.pop()!;
      const lo = work.pop()!;
      loadKeys(ids, p, lo, hi, pos, a, b);
      sortOn(sort, lo, hi, a, b);
      equalKeyRuns(ids, p, lo, hi, pos, a, b, work);
    }
  }
  return { hiKeys, loKeys };
};

// The sort's steps, one loop each (see "One loop per function" above: a
// string table is built once per object, so its loops run cold; with several
// loops in one function a cold build of 10⁵ names took ~90 ms, split 33–45).

/** The sort's ids and its scratch: ids, keys moved through `tmp*`; `count`: 256 per key byte, the 4 of `b` first. */
interface Sort {
  readonly ids: Int32Array;
  readonly tmpIds: Int32Array;
  readonly tmpA: Int32Array;
  readonly tmpB: Int32Array;
  readonly count: Int32Array;
}

const lengthOf = ({ start }: Pool, id: number): number => start[id + 1]! - start[id]!;

/** Keys `a`, `b` of ids[lo, hi) for bytes pos … pos+7 from the end (1-based). */
const loadKeys = (ids: Int32Array, { pool, start }: Pool, lo: number, hi: number, pos: number, a: Int32Array, b: Int32Array): void => {
  for (let k = lo; k < hi; k++) {
    const id = ids[k]!;
    const s = start[id]!;
    const e = start[id + 1]! - pos; // index of the byte at `pos`
    let x = 0;
    let y = 0;
    if (e - 7 >= s) {
      x = (pool[e]! << 24) | (pool[e - 1]! << 16) | (pool[e - 2]! << 8) | pool[e - 3]!;
      y = (pool[e - 4]! << 24) | (pool[e - 5]! << 16) | (pool[e - 6]! << 8) | pool[e - 7]!;
    } else {
      for (let j = 0; j < 4; j++) x = (x << 8) | (e - j >= s ? pool[e - j]! : 0);
      for (let j = 4; j < 8; j++) y = (y << 8) | (e - j >= s ? pool[e - j]! : 0);
    }
    a[k] = ~x;
    b[k] = ~y;
  }
};

/**
 * Stable sort of ids[lo, hi) on the 8-byte keys (`a` high, `b` low), moving
 * both along: LSD radix a byte at a time, every byte counted in one pass
 * first, a byte alike in every key skipped; small ranges by insertion.
 *
 * When the counts show that the `a` keys cannot be mostly distinct (fewer
 * possible values than a 48th of the range), all 8 bytes are sorted at once:
 * 10⁶ names `_wasm_function_N` have ~10⁴ distinct `a` keys (the counts
 * allow 10·11·12·13 = 17 160, under 10⁶ / 48), and sorting their ~100-name
 * runs on `b` one by one cost 60–70 ms where two more passes over all keys
 * cost ~20 (docs/performance.md, "Sixth round"). Otherwise `a`
 * alone, then each run of equal `a` on `b`: at 10⁵ the runs are ~10 names,
 * sorted by insertion, cheaper than passes over every key.
 */
const sortOn = (sort: Sort, lo: number, hi: number, a: Int32Array, b: Int32Array): void => {
  if (hi - lo <= 48) return insertionSort(sort.ids, lo, hi, a, b);
  const count = sort.count;
  countDigits(count, lo, hi, a, b);
  const whole = (hi - lo) / 48 > varietyOf(count);
  for (let d = whole ? 0 : 4; d < 8; d++) {
    const keys = d < 4 ? b : a;
    const shift = 8 * (d & 3);
    // All in one bucket: the pass would move nothing.
    if (count[256 * d + ((keys[lo]! >>> shift) & 0xff)] !== hi - lo) radixPass(sort, lo, hi, keys, a, b, shift, 256 * d);
  }
  if (!whole) sortRunsOn(sort, lo, hi, a, b);
};

/** How many `a` keys the counts allow at most: the product of each byte's values seen. */
const varietyOf = (count: Int32Array): number => {
  let v = 1;
  for (let d = 4; d < 8; d++) {
    let seen = 0;
    for (let x = 256 * d; x < 256 * d + 256; x++) if (count[x] !== 0) seen++;
    v *= seen;
  }
  return v;
};

/** Ids[lo, hi) sorted on `a`: each run of equal `a` sorted on `b` (`sortOn` again: its `a` bytes are all alike). */
const sortRunsOn = (sort: Sort, lo: number, hi: number, a: Int32Array, b: Int32Array): void => {
  let r = lo;
  while (r < hi) {
    const key = a[r]!;
    let q = r + 1;
    while (q < hi && a[q] === key) q++;
    if (q - r > 1) sortOn(sort, r, q, a, b);
    r = q;
  }
};

/** Flips the sign bit: `(p ^ SIGN) > (q ^ SIGN)` compares keys' bits as unsigned. */
const SIGN = 0x80000000 | 0;

const insertionSort = (ids: Int32Array, lo: number, hi: number, a: Int32Array, b: Int32Array): void => {
  for (let i = lo + 1; i < hi; i++) {
    const id = ids[i]!;
    const x = a[i]!;
    const y = b[i]!;
    const xs = x ^ SIGN;
    const ys = y ^ SIGN;
    let j = i - 1;
    while (j >= lo && ((a[j]! ^ SIGN) > xs || (a[j] === x && (b[j]! ^ SIGN) > ys))) {
      ids[j + 1] = ids[j]!;
      a[j + 1] = a[j]!;
      b[j + 1] = b[j]!;
      j--;
    }
    ids[j + 1] = id;
    a[j + 1] = x;
    b[j + 1] = y;
  }
};

/** Count every byte of keys[lo, hi): `b`'s four into `count[0, 1024)`, then `a`'s. (A pass moves keys, never changes the counts.) */
const countDigits = (count: Int32Array, lo: number, hi: number, a: Int32Array, b: Int32Array): void => {
  count.fill(0);
  for (let k = lo; k < hi; k++) {
    const x = a[k]!;
    const y = b[k]!;
    count[y & 0xff]!++;
    count[256 + ((y >>> 8) & 0xff)]!++;
    count[512 + ((y >>> 16) & 0xff)]!++;
    count[768 + (y >>> 24)]!++;
    count[1024 + (x & 0xff)]!++;
    count[1280 + ((x >>> 8) & 0xff)]!++;
    count[1536 + ((x >>> 16) & 0xff)]!++;
    count[1792 + (x >>> 24)]!++;
  }
};

/** One stable counting pass of ids[lo, hi) (with `a`, `b`) on the byte of `keys` at `shift`, whose counts are at `count[at, at + 256)`. */
const radixPass = ({ ids, tmpIds, tmpA, tmpB, count }: Sort, lo: number, hi: number, keys: Int32Array, a: Int32Array, b: Int32Array, shift: number, at: number): void => {
  startsOf(count, at, lo);
  for (let k = lo; k < hi; k++) {
    const to = count[at + ((keys[k]! >>> shift) & 0xff)]!++;
    tmpIds[to] = ids[k]!;
    tmpA[to] = a[k]!;
    tmpB[to] = b[k]!;
  }
  if (hi - lo >= 4096) {
    ids.set(tmpIds.subarray(lo, hi), lo);
    a.set(tmpA.subarray(lo, hi), lo);
    b.set(tmpB.subarray(lo, hi), lo);
  } else copyBack(ids, a, b, tmpIds, tmpA, tmpB, lo, hi);
};

/** A short range back from the scratch arrays: a loop, not three `subarray` views (at 10⁶ names, 10⁴ runs sorted on their second key made ~12 MB of views). */
const copyBack = (ids: Int32Array, a: Int32Array, b: Int32Array, tmpIds: Int32Array, tmpA: Int32Array, tmpB: Int32Array, lo: number, hi: number): void => {
  for (let k = lo; k < hi; k++) {
    ids[k] = tmpIds[k]!;
    a[k] = tmpA[k]!;
    b[k] = tmpB[k]!;
  }
};

/** The counts at `count[at, at + 256)` to each bucket's first index (buckets from `lo` on). */
const startsOf = (count: Int32Array, at: number, lo: number): void => {
  let sum = lo;
  for (let d = at; d < at + 256; d++) {
    const c = count[d]!;
    count[d] = sum;
    sum += c;
  }
};

/** Runs of equal keys in ids[lo, hi): strings that go on past these 8 bytes are sorted on the next 8. */
const equalKeyRuns = (ids: Int32Array, p: Pool, lo: number, hi: number, pos: number, a: Int32Array, b: Int32Array, work: number[]): void => {
  let r = lo;
  while (r < hi) {
    const x = a[r]!;
    const y = b[r]!;
    let q = r + 1;
    while (q < hi && a[q] === x && b[q] === y) q++;
    if (q - r > 1 && lengthOf(p, ids[r]!) >= pos + 7) work.push(r, q, pos + 8);
    r = q;
  }
};

/** Build a string table for `strings` (duplicates allowed: they share one entry). */
export const buildStringTable = (strings: ReadonlyArray<string>): StringTable => tableOf(poolOf(strings));

/**
 * Build a string table for every name of an interned pool, in id order (name
 * id k is `pool[start[k], start[k + 1])`, UTF-8): `offsets[k]` is name k's.
 * The pool is read where it is, and nothing is gathered: at 10⁶ names that
 * is ~8 MB less at the CLI's peak, where the table is made.
 */
export const buildStringTableOfNames = (names: Pool): StringTable => tableOf(names);

/**
 * Build a string table for the names `ids` of an interned pool (see
 * `buildStringTableOfNames`): string k of the table is name `ids[k]`. Their
 * bytes are copied into a pool of their own first.
 */
export const buildStringTableOfIds = (names: Pool, ids: Uint32Array): StringTable => {
  const start = new Uint32Array(ids.length + 1);
  const pool = new Uint8Array(gatherStarts(names.start, ids, start));
  gatherBytes(names, ids, pool);
  return tableOf({ pool, start });
};

/** Where each of `ids`' names will start in a pool of their own; returns its size. (No NUL to check for: `FunctionName` refuses one, and so does the scanner, which takes no control byte.) */
const gatherStarts = (from: Uint32Array, ids: Uint32Array, start: Uint32Array): number => {
  let p = 0;
  for (let k = 0; k < ids.length; k++) {
    start[k] = p;
    p += from[ids[k]! + 1]! - from[ids[k]!]!;
  }
  start[ids.length] = p;
  return p;
};

const gatherBytes = ({ pool, start }: Pool, ids: Uint32Array, to: Uint8Array): void => {
  let p = 0;
  for (let k = 0; k < ids.length; k++) {
    const s = start[ids[k]!]!;
    const e = start[ids[k]! + 1]!;
    copyBytes(to, p, pool, s, e);
    p += e - s;
  }
};

const tableOf = (p: Pool): StringTable => {
  const n = p.start.length - 1;
  const ids = identity(n);
  // `offsets` is the sort's scratch first; `share` then sets every entry.
  const offsets = new Uint32Array(n);
  const keys = sortReversedDescending(ids, p, offsets);
  // The strings written go where the keys were (each key is read before its slot is written).
  const { count, size } = share(ids, keys, p, offsets);
  if (size > 0xffffffff) throw new Defect(`string table of ${size} bytes does not fit ELF's 32-bit offsets`);
  return new Table(p, keys.hiKeys.subarray(0, count), keys.loKeys.subarray(0, count), size, offsets);
};

class Table implements StringTable {
  #bytes: Uint8Array | undefined;
  constructor(
    private readonly p: Pool,
    /**
     * The strings written, in section order: string k's bytes are
     * `pool[starts[k], starts[k] + lengths[k])`. Read in order when the
     * section is written: the sort's order is random against the pool's (at
     * 10⁶ names, looking each up by id again took ~170 ms).
     */
    private readonly starts: Int32Array,
    private readonly lengths: Int32Array,
    readonly size: number,
    readonly offsets: Uint32Array,
  ) {}

  get bytes(): Uint8Array {
    if (this.#bytes === undefined) {
      const out = new Uint8Array(this.size);
      scatterStrings(out, 0, this.p, this.offsets);
      this.#bytes = out;
    }
    return this.#bytes;
  }

  runs(bytes: number): SectionRun[] {
    // The whole section in one run: every string put at its offset, read in the pool's order.
    if (bytes >= this.size)
      return [
        {
          offset: 0,
          size: this.size,
          write: (w: ByteWriter) => {
            scatterStrings(w.buf, w.pos, this.p, this.offsets);
            w.pos += this.size;
          },
        },
      ];
    const { starts, lengths } = this;
    const pool = this.p.pool;
    const sizeOf = (k: number): number => lengths[k]! + 1;
    return runsOf(starts.length, 1, 0, sizeOf, bytes, this.size).map((r) => ({
      offset: r.offset,
      size: r.size,
      write: (w: ByteWriter) => {
        writeStrings(w.buf, w.pos + (r.entriesAt - r.offset), pool, starts, lengths, r.from, r.to);
        w.pos += r.size;
      },
    }));
  }
}

/**
 * Every string at its offset (section offset 0 at `buf[at]`, zeros there),
 * in the pool's order: it reads in order and writes out of order, where
 * `writeStrings` reads out of order (10⁶ names, 21 MB of pool: 115–130 →
 * 60–65 ms). A string that shares another's bytes writes them again.
 */
const scatterStrings = (buf: Uint8Array, at: number, { pool, start }: Pool, offsets: Uint32Array): void => {
  for (let k = 0; k < offsets.length; k++) copyBytes(buf, at + offsets[k]!, pool, start[k]!, start[k + 1]!);
};

/** Written strings `[from, to)`, each followed by its NUL (a zero already there), from `buf[at]` on. */
const writeStrings = (buf: Uint8Array, at: number, pool: Uint8Array, starts: Int32Array, lengths: Int32Array, from: number, to: number): void => {
  let o = at;
  for (let k = from; k < to; k++) {
    const s = starts[k]!;
    const len = lengths[k]!;
    copyBytes(buf, o, pool, s, s + len);
    o += len + 1;
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
 * every string's offset, lists the strings written in section order (their
 * starts over `hiKeys`, their lengths over `loKeys`), and returns how many
 * and the section's size.
 *
 * A string ends the last one written exactly when it ends the string just
 * before it in sorted order (if that one was shared, both end the one
 * written; and a string the one before it ends would sort before it). So
 * the first round's keys, the last 8 bytes of both, decide it for a string
 * of at most 8 bytes, and refuse it for a longer one whose last 8 differ;
 * only a longer one whose last 8 agree is compared in the pool.
 */
const share = (
  ids: Int32Array,
  { hiKeys, loKeys }: { readonly hiKeys: Int32Array; readonly loKeys: Int32Array },
  { pool, start }: Pool,
  offsets: Uint32Array,
): { count: number; size: number } => {
  let count = 0;
  let offset = 1;
  let pe = -1; // the end of the string written last
  let prevLen = -1; // the string just before, and its keys
  let pa = 0;
  let pb = 0;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    const s = start[id]!;
    const len = start[id + 1]! - s;
    const a = hiKeys[k]!;
    const b = loKeys[k]!;
    let shared: boolean;
    if (len === 0) shared = true; // the leading NUL
    else if (len > prevLen) shared = false; // also the first string (prevLen -1)
    else if (len <= 4) shared = (a ^ pa) >>> (32 - 8 * len) === 0;
    else if (len <= 8) shared = a === pa && (b ^ pb) >>> (64 - 8 * len) === 0;
    else if (a !== pa || b !== pb) shared = false;
    else {
      shared = true;
      for (let i = 9; i <= len; i++) if (pool[pe - i] !== pool[s + len - i]) { shared = false; break; }
    }
    if (shared) offsets[id] = offset - len - 1;
    else {
      offsets[id] = offset;
      hiKeys[count] = s;
      loKeys[count] = len;
      count++;
      offset += len + 1;
      pe = s + len;
    }
    prevLen = len;
    pa = a;
    pb = b;
  }
  return { count, size: offset };
};
