/**
 * The placed bodies' bytes, before host-call bytes, veneers and patches: what
 * the fold keeps of a function's body once it is placed, instead of the
 * decoded item (docs/performance.md, "Memory").
 *
 * A small body is copied into 1 MiB chunks at its text offset (the chunks are
 * allocated as text reaches them; fill between bodies stays zero). A large
 * body is kept by reference: copying it twice would cost more than the view
 * it is held by, and it is copied once, into the object, at the end. So is
 * every body of `stepMany`'s items, whose caller holds them anyway; bodies
 * that follow each other in one buffer are held as one run. (Items
 * are values: as before this store, a body kept by reference and changed by
 * its owner after the step would change the object.)
 *
 * Owned by one arena; written only while the arena is its chain's tip.
 */
import { BY_REFERENCE } from "../schema/rows.js";
import { u32 } from "./columns.js";

const CHUNK_BITS = 20;
const CHUNK = 1 << CHUNK_BITS;
/** Bodies of at least this many bytes are held by reference (one threshold with the decoder's). */
export { BY_REFERENCE };

export class TextStore {
  private readonly chunks: (Uint8Array | undefined)[] = [];
  /**
   * The bodies held by reference, as runs: run r is `runLen[r]` bytes at text
   * offset `runAt[r]`, read from `runRef[r]`'s buffer on from its start. A
   * body that follows the run before it both in the text and in the same
   * buffer extends it: `stepMany`'s decoded items have their bodies one after
   * another in the decoder's slabs, so at 10⁶ functions the object is
   * written with ~64 copies instead of 10⁶ (docs/performance.md, "Sixth round").
   */
  private readonly runRef: Uint8Array[] = [];
  private readonly runAt = u32();
  private readonly runLen = u32();

  /**
   * Place the next function's body, `body[0, n)`, at text offset `at`
   * (functions come in order). `owned`: nobody writes `body` again, so a
   * large one may be kept as it is; a large body that is someone's scratch
   * is copied. `held`: its owner keeps it alive as long as the store
   * (`stepMany`'s items), so a small one is kept as it is too.
   */
  put(at: number, body: Uint8Array, n: number, owned: boolean, held = false): void {
    if (n >= BY_REFERENCE || (held && owned && n === body.length)) {
      if (n > 0) this.hold(at, owned && n === body.length ? body : body.slice(0, n), n);
      return;
    }
    const within0 = at & (CHUNK - 1);
    if (within0 + n <= CHUNK) {
      // The usual case: the whole body in one chunk, copied byte by byte (a view to copy it from would cost more).
      const ch = this.chunk(at >>> CHUNK_BITS);
      for (let i = 0; i < n; i++) ch[within0 + i] = body[i]!;
      return;
    }
    let done = 0;
    while (done < n) {
      const pos = at + done;
      const c = pos >>> CHUNK_BITS;
      const within = pos & (CHUNK - 1);
      const take = Math.min(n - done, CHUNK - within);
      this.chunk(c).set(body.subarray(done, done + take), within);
      done += take;
    }
  }

  /** Keep `body` (n > 0 bytes, all of it) by reference at `at`: the last run extended, or a run of its own. */
  private hold(at: number, body: Uint8Array, n: number): void {
    const r = this.runRef.length - 1;
    if (r >= 0) {
      const len = this.runLen.data[r]!;
      const first = this.runRef[r]!;
      // Numbers first: `buffer` of a small array that lives in V8's heap would move it out. A body at a
      // byteOffset past 0 is a view, whose buffer exists; `first`'s is asked for only when they line up.
      if (at === this.runAt.data[r]! + len && body.byteOffset === first.byteOffset + len && body.buffer === first.buffer) {
        this.runLen.data[r] = len + n;
        return;
      }
    }
    this.runRef.push(body);
    this.runAt.push(at);
    this.runLen.push(n);
  }

  private chunk(c: number): Uint8Array {
    while (this.chunks.length <= c) this.chunks.push(undefined);
    let ch = this.chunks[c];
    if (ch === undefined) this.chunks[c] = ch = new Uint8Array(CHUNK);
    return ch;
  }

  /** The first run that ends after text offset `at` (runs are in text order). */
  private runAfter(at: number): number {
    const runAt = this.runAt.data;
    const runLen = this.runLen.data;
    let lo = 0;
    let hi = this.runRef.length;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (runAt[m]! + runLen[m]! <= at) lo = m + 1;
      else hi = m;
    }
    return lo;
  }

  /** The bytes of run `r` from text offset `from` to `to` (within it): its first body itself when that is all of them. */
  private runBytes(r: number, from: number, to: number): Uint8Array {
    const first = this.runRef[r]!;
    const start = from - this.runAt.data[r]!;
    if (start === 0 && to - from === first.length) return first;
    return new Uint8Array(first.buffer, first.byteOffset + start, to - from);
  }

  /** The body placed at `at`, `length` bytes long: the same bytes it was placed with. */
  body(at: number, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    const r = this.runAfter(at);
    if (r < this.runRef.length && this.runAt.data[r]! <= at) return this.runBytes(r, at, at + length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = at + done;
      const within = pos & (CHUNK - 1);
      const take = Math.min(length - done, CHUNK - within);
      const ch = this.chunks[pos >>> CHUNK_BITS];
      if (ch !== undefined) out.set(ch.subarray(within, within + take), done);
      done += take;
    }
    return out;
  }

  /**
   * Copy text offsets `[lo, hi)` into `dest`, text offset `x` going to
   * `dest[at0 + x]`. Bytes between bodies in `dest` must already be zero.
   */
  copyRange(dest: Uint8Array, at0: number, lo: number, hi: number): void {
    const chunks = this.chunks;
    for (let c = lo >>> CHUNK_BITS; c < chunks.length && c * CHUNK < hi; c++) {
      const ch = chunks[c];
      if (ch === undefined) continue;
      const start = Math.max(c * CHUNK, lo);
      const end = Math.min(c * CHUNK + CHUNK, hi);
      if (end > start) dest.set(ch.subarray(start - c * CHUNK, end - c * CHUNK), at0 + start);
    }
    // Chunks hold zeros where a referenced body goes: copy those after the chunks.
    const n = this.runRef.length;
    const runAt = this.runAt.data;
    const runLen = this.runLen.data;
    for (let r = n === 0 ? 0 : this.runAfter(lo); r < n && runAt[r]! < hi; r++) {
      const from = Math.max(runAt[r]!, lo);
      const to = Math.min(runAt[r]! + runLen[r]!, hi);
      dest.set(this.runBytes(r, from, to), at0 + from);
    }
  }
}
