/**
 * The fold's names, interned as UTF-8: every function name and call target
 * gets an id (0, 1, … in order of first sight), its bytes kept once in one
 * pool. The fast decoder's names go from the line's bytes straight in (no
 * string is made for them), items' names are encoded first; the string
 * table is built from the same pool; a string is made only for an error or
 * a view (docs/performance.md, "Fourth round": names as UTF-8).
 *
 * Why: at 10⁶ functions one string per name was ~40 MB of heap, the string
 * table copied every name into a pool of its own, and `finish` looked every
 * call's target up by string. Now a call's target is an id found when the
 * call is stepped, and `finish` reads the target's function from a column.
 *
 * Open addressing, linear probing, load at most 1/2, FNV-1a over the UTF-8
 * bytes with a finalizer and a per-table random seed (so no fixed set of
 * names collides everywhere; the output never depends on it).
 *
 * A name the table has not seen (most call targets: the next function's
 * name) is told apart by a filter of two bits a name (an eighth of the
 * slots' size), and goes into the slots later, with up to 255 others: at
 * 10⁶ names the slots are 16 MB, and a probe a name, between other work,
 * was a cache miss the processor waited out; a batch of probes in a loop of
 * their own overlap. A name the filter may have seen first empties the
 * batch, then probes, so a probe always sees every name
 * (docs/performance.md, "Sixth round").
 *
 * A transient builder owned by one fold arena; never crosses the API.
 */
import { copyBytes } from "../bytes/copy.js";
import { u32 } from "./columns.js";

const utf8 = new TextEncoder();
/** Names that wait for their slots at most. */
const PENDING = 256;
const utf8Decoder = new TextDecoder("utf-8");

export class NameTable {
  private pool = new Uint8Array(1 << 12);
  private used = 0;
  /**
   * Id k's bytes are `pool[start[k], start[k + 1])`: names are appended in
   * id order, so each ends where the next begins; one entry more than there
   * are ids, the last `used` (the string table reads the column as it is).
   */
  private readonly start = u32();
  /** Pairs (hash, id + 1); 0 marks an empty slot. */
  private slots = new Int32Array(64);
  private mask = 31;
  /** Two bits per name (`filterHas`): a name with either clear is new. (mask + 1) / 8 words. */
  private filter = new Int32Array(4);
  /** Names given ids but not yet in the slots: (hash, id + 1) pairs. */
  private readonly pending = new Int32Array(2 * PENDING);
  private pendingCount = 0;
  private readonly seed = (Math.random() * 0x100000000) | 0;

  /**
   * The last name interned, and its string when it came as one: a function
   * is usually the target of the call just before it (Cranelift's order, and
   * the bench's), so its name is asked for right after it was interned as a
   * target — one compare instead of a hash and a probe into a table that is
   * 16 MB at 10⁶ names (a cache miss each).
   */
  private lastId = -1;
  private lastString: string | undefined = undefined;

  constructor() {
    this.start.push(0);
  }

  get size(): number {
    return this.start.length - 1;
  }

  /** Room for `n` names in all, and `bytes` more of their bytes, without growing (a rehash per doubling otherwise). */
  reserve(n: number, bytes = 0): void {
    this.start.reserve(n + 1);
    this.room(bytes);
    // One table of the final size, not every doubling up to it (16 MB more garbage at 10⁶ names).
    let cap = this.mask + 1;
    while (2 * n > cap - 1) cap *= 2;
    if (cap > this.mask + 1) this.rehash(cap);
  }

  /** The id of the name whose UTF-8 is `src[s, e)`, added if new. */
  internBytes(src: Uint8Array, s: number, e: number): number {
    const last = this.lastId;
    if (last >= 0 && this.equals(last, src, s, e - s)) return last;
    const id = this.find(src, s, e);
    this.lastId = id;
    this.lastString = undefined;
    return id;
  }

  private find(src: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5 ^ this.seed;
    for (let i = s; i < e; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    if (!this.filterHas(h)) return this.add(src, s, e, h);
    if (this.pendingCount > 0) this.flush();
    const slots = this.slots;
    const mask = this.mask;
    const len = e - s;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const id1 = slots[2 * i + 1]!;
      if (id1 === 0) return this.add(src, s, e, h);
      if (slots[2 * i] === h && this.equals(id1 - 1, src, s, len)) return id1 - 1;
    }
  }

  /** Whether both of hash `h`'s filter bits are set (if not, no name of hash `h` was added). */
  private filterHas(h: number): boolean {
    const bits = filterBits(h);
    return (this.filter[h & (this.filter.length - 1)]! & bits) === bits;
  }

  private filterAdd(h: number): void {
    this.filter[h & (this.filter.length - 1)]! |= filterBits(h);
  }

  /** The pending names into the slots: a loop of probes only, whose misses overlap. */
  private flush(): void {
    const p = this.pending;
    const n = this.pendingCount;
    this.pendingCount = 0;
    const slots = this.slots;
    const mask = this.mask;
    for (let k = 0; k < 2 * n; k += 2) place(slots, mask, p[k]!, p[k + 1]!);
  }

  /** The id of `name`, added if new. */
  intern(name: string): number {
    if (name === this.lastString) return this.lastId;
    // At most 3 UTF-8 bytes per UTF-16 unit: encode at the pool's end, where a new name's bytes go anyway.
    this.room(3 * name.length);
    const at = this.used;
    let n = 0;
    // ASCII (every name Cranelift makes) is copied unit by unit.
    for (; n < name.length; n++) {
      const c = name.charCodeAt(n);
      if (c >= 0x80) break;
      this.pool[at + n] = c;
    }
    if (n < name.length) n = utf8.encodeInto(name, this.pool.subarray(at)).written;
    const id = this.internBytes(this.pool, at, at + n);
    this.lastString = name;
    return id;
  }

  /** Id `id`'s name as a string (for errors and views: the fold's own work never needs one). */
  string(id: number): string {
    return utf8Decoder.decode(this.pool.subarray(this.start.data[id]!, this.start.data[id + 1]!));
  }

  /** The pool and where each id's bytes start in it, `size + 1` entries (a view of the column, no copy). */
  bytes(): { readonly pool: Uint8Array; readonly start: Uint32Array } {
    return { pool: this.pool, start: this.start.view() };
  }

  private equals(id: number, src: Uint8Array, s: number, len: number): boolean {
    const a = this.start.data[id]!;
    if (this.start.data[id + 1]! - a !== len) return false;
    const pool = this.pool;
    for (let i = len - 1; i >= 0; i--) if (pool[a + i] !== src[s + i]) return false; // names tend to differ at the end
    return true;
  }

  /** Add `src[s, e)` (hash `h`, not in the table) as a new id; its slot waits in `pending`. */
  private add(src: Uint8Array, s: number, e: number, h: number): number {
    const len = e - s;
    let at: number;
    if (src === this.pool && s === this.used) at = s; // `intern` encoded it in place
    else {
      this.room(len);
      at = this.used;
      copyBytes(this.pool, at, src, s, e);
    }
    this.used = at + len;
    const id = this.size;
    this.start.push(at + len); // id's end, the next id's start
    this.filterAdd(h);
    if (this.pendingCount === PENDING) this.flush();
    this.pending[2 * this.pendingCount] = h;
    this.pending[2 * this.pendingCount + 1] = id + 1;
    this.pendingCount++;
    if (2 * (id + 1) > this.mask) this.grow();
    return id;
  }

  /** At least `n` free bytes at the pool's end. */
  private room(n: number): void {
    if (this.used + n <= this.pool.length) return;
    const bigger = new Uint8Array(Math.max(this.used + n, Math.ceil(1.5 * this.pool.length)));
    bigger.set(this.pool.subarray(0, this.used));
    this.pool = bigger;
  }

  private grow(): void {
    this.rehash(2 * (this.mask + 1));
  }

  /** The slots again, `cap` of them. */
  private rehash(cap: number): void {
    this.flush();
    const old = this.slots;
    const slots = new Int32Array(2 * cap);
    this.slots = slots;
    this.mask = cap - 1;
    this.filter = new Int32Array(cap / 8);
    for (let i = 0; i < old.length; i += 2) {
      const id1 = old[i + 1]!;
      if (id1 === 0) continue;
      place(slots, cap - 1, old[i]!, id1);
      this.filterAdd(old[i]!);
    }
  }
}

/** Hash `h`'s two bits in its filter word (from a remix of `h`: the word is chosen by `h`'s low bits). */
const filterBits = (h: number): number => {
  const g = Math.imul(h, 0x9e3779b1);
  return (1 << (g >>> 27)) | (1 << ((g >>> 22) & 31));
};

/** (hash `h`, `id1`) into the first empty slot of its probe sequence. */
const place = (slots: Int32Array, mask: number, h: number, id1: number): void => {
  let j = h & mask;
  while (slots[2 * j + 1] !== 0) j = (j + 1) & mask;
  slots[2 * j] = h;
  slots[2 * j + 1] = id1;
};
