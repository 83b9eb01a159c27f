/**
 * Function name → function index, for the fold: the `get`/`set` of a
 * `Map<string, number>` whose values are the keys' insertion order, faster
 * for this use. The keys array is the fold's list of function names too
 * (one array of 10⁶ strings, not two, and no array of values: at 10⁶
 * functions each growing array was more old-generation garbage and
 * collections of a large heap).
 *
 * Why (docs/performance.md): at 100 000 functions the fold's three lookups per
 * function (duplicate check, insert, and the call target in `finish`) were its
 * largest cost, ~200 ns each with a `Map`: each touches the map's bucket and
 * entry tables and the key string, scattered in a large heap. Here one probe
 * reads one (hash, entry) pair of an `Int32Array` and compares strings only
 * when the hashes agree — and then they are usually the same string object,
 * since the fast decoder hands out one string for a name and the calls to it.
 *
 * Open addressing, linear probing, load at most 1/2, FNV-1a over UTF-16 code
 * units with a finalizer and a per-table random seed (so no fixed set of
 * names collides everywhere; the output never depends on it).
 *
 * A transient builder owned by one fold arena; never crosses the API.
 */
export class NameTable {
  /** Entry k's key: the names in insertion order. */
  readonly keys: string[] = [];
  /** Pairs (hash, entry + 1); entry 0 marks an empty slot. */
  private slots = new Int32Array(64);
  private mask = 31;
  private readonly seed = (Math.random() * 0x100000000) | 0;
  /** The last key hashed and its hash: the fold asks for a name and then adds it, islands ask twice. */
  private lastKey = "";
  private lastHash = this.hashOf("");

  get size(): number {
    return this.keys.length;
  }

  private hashOf(key: string): number {
    let h = 0x811c9dc5 ^ this.seed;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    return h ^ (h >>> 13);
  }

  private hash(key: string): number {
    if (key === this.lastKey) return this.lastHash;
    const h = this.hashOf(key);
    this.lastKey = key;
    this.lastHash = h;
    return h;
  }

  /** Slot of `key`, or of the empty slot where it would go. */
  private find(key: string, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = slots[2 * i + 1]!;
      if (e === 0 || (slots[2 * i] === h && this.keys[e - 1] === key)) return i;
    }
  }

  /** The entry (insertion index) of `key`, if it was added. */
  get(key: string): number | undefined {
    const e = this.slots[2 * this.find(key, this.hash(key)) + 1]!;
    return e === 0 ? undefined : e - 1;
  }

  /** Add `key` if it is new; its entry either way. */
  add(key: string): number {
    const h = this.hash(key);
    const i = this.find(key, h);
    const e = this.slots[2 * i + 1]!;
    if (e !== 0) return e - 1;
    this.keys.push(key);
    this.slots[2 * i] = h;
    this.slots[2 * i + 1] = this.keys.length;
    if (2 * this.keys.length > this.mask) this.grow();
    return this.keys.length - 1;
  }

  private grow(): void {
    const old = this.slots;
    const cap = 2 * (this.mask + 1);
    this.slots = new Int32Array(2 * cap);
    this.mask = cap - 1;
    for (let i = 0; i < old.length; i += 2) {
      const e = old[i + 1]!;
      if (e === 0) continue;
      const h = old[i]!;
      let j = h & this.mask;
      while (this.slots[2 * j + 1] !== 0) j = (j + 1) & this.mask;
      this.slots[2 * j] = h;
      this.slots[2 * j + 1] = e;
    }
  }
}
