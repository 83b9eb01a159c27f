/**
 * The placed bodies' bytes, before host-call bytes, veneers and patches: what
 * the fold keeps of a function's body once it is placed, instead of the
 * decoded item (docs/performance.md, "Memory").
 *
 * A small body is copied into 1 MiB chunks at its text offset (the chunks are
 * allocated as text reaches them; fill between bodies stays zero). A large
 * body is kept by reference: copying it twice would cost more than the view
 * it is held by, and it is copied once, into the object, at the end. So is
 * every body of `stepMany`'s items, whose caller holds them anyway. (Items
 * are values: as before this store, a body kept by reference and changed by
 * its owner after the step would change the object.)
 *
 * Owned by one arena; written only while the arena is its chain's tip.
 */
import { BY_REFERENCE } from "../schema/rows.js";

const CHUNK_BITS = 20;
const CHUNK = 1 << CHUNK_BITS;
/** Bodies of at least this many bytes are held by reference (one threshold with the decoder's). */
export { BY_REFERENCE };

export class TextStore {
  private readonly chunks: (Uint8Array | undefined)[] = [];
  /** Per function: its body when held by reference, else undefined (copied into the chunks). */
  private readonly refs: (Uint8Array | undefined)[] = [];
  private hasRefs = false;

  /**
   * Place the next function's body, `body[0, n)`, at text offset `at`
   * (functions come in order). `owned`: nobody writes `body` again, so a
   * large one may be kept as it is; a large body that is someone's scratch
   * is copied. `held`: its owner keeps it alive as long as the store
   * (`stepMany`'s items), so a small one is kept as it is too.
   */
  put(at: number, body: Uint8Array, n: number, owned: boolean, held = false): void {
    if (n >= BY_REFERENCE || (held && owned && n === body.length)) {
      this.refs.push(owned && n === body.length ? body : body.slice(0, n));
      this.hasRefs = true;
      return;
    }
    this.refs.push(undefined);
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

  private chunk(c: number): Uint8Array {
    while (this.chunks.length <= c) this.chunks.push(undefined);
    let ch = this.chunks[c];
    if (ch === undefined) this.chunks[c] = ch = new Uint8Array(CHUNK);
    return ch;
  }

  /** Function `index`'s body (at `at`, `length` bytes long): the same bytes it was placed with. */
  body(index: number, at: number, length: number): Uint8Array {
    const ref = this.refs[index];
    if (ref !== undefined) return ref;
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
   * `dest[at0 + x]`; functions `[fnFrom, fnTo)` are the ones placed there
   * (`offsets[k]` is function k's offset). Bytes between bodies in `dest`
   * must already be zero.
   */
  copyRange(dest: Uint8Array, at0: number, lo: number, hi: number, offsets: Uint32Array, fnFrom: number, fnTo: number): void {
    const chunks = this.chunks;
    for (let c = lo >>> CHUNK_BITS; c < chunks.length && c * CHUNK < hi; c++) {
      const ch = chunks[c];
      if (ch === undefined) continue;
      const start = Math.max(c * CHUNK, lo);
      const end = Math.min(c * CHUNK + CHUNK, hi);
      if (end > start) dest.set(ch.subarray(start - c * CHUNK, end - c * CHUNK), at0 + start);
    }
    // Chunks hold zeros where a referenced body goes: copy those after the chunks.
    if (!this.hasRefs) return;
    const refs = this.refs;
    for (let k = fnFrom; k < fnTo; k++) {
      const r = refs[k];
      if (r !== undefined) dest.set(r, at0 + offsets[k]!);
    }
  }
}
