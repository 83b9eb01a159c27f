/**
 * Islands and veneers decided by deadline, as Cranelift's `MachBuffer` does
 * for inter-function calls (reference §5.2–5.3). Only ISAs whose call label
 * use supports a veneer (aarch64) run this; the others resolve every call in
 * `finish`.
 *
 * This is an internal, transient builder owned by one fold chain (see
 * `fold.ts`); it never crosses the API.
 */
import type { ObjfoldError } from "../errors.js";
import type { LabelUse } from "../isa/types.js";
import type { Island, Patch, PlacedVeneer } from "./plan.js";

const MAX = 0xffffffff;

/** Where a fixup came from: the call it serves (for errors and the call list). */
export interface FixupOrigin {
  readonly call: number;
  /** Text offset of the call site (a veneer's slot keeps its call's origin). */
  readonly at: number;
  readonly item: number;
  readonly function: string;
  readonly offset: number;
  readonly kind: string;
  readonly target: string;
}

interface Fixup {
  readonly at: number;
  readonly label: string;
  readonly use: LabelUse;
  readonly deadline: number;
  readonly seq: number;
  readonly origin: FixupOrigin;
  /** True for the call site itself, false for a veneer's own slot. */
  readonly direct: boolean;
}

/** A veneer before its target's function index is known. */
export interface VeneerDraft extends Omit<PlacedVeneer, "target"> {
  readonly targetName: string;
  readonly use: LabelUse;
}
export interface IslandDraft extends Omit<Island, "veneers"> {
  readonly veneers: ReadonlyArray<VeneerDraft>;
}

const before = (a: Fixup, b: Fixup): boolean => a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);

export class IslandMachine {
  pending: Fixup[] = [];
  pendingDeadline = MAX;
  /** Binary min-heap by (deadline, seq). */
  heap: Fixup[] = [];
  /** How many fixups in the heap could take a veneer (kept by push/pop: no walk per island). */
  veneerCapableInHeap = 0;
  seq = 0;
  patches: Patch[] = [];
  islands: IslandDraft[] = [];
  /** Veneer offset per call index, for calls routed through one. */
  veneerOfCall = new Map<number, number>();
  /** How many fixups islands have resolved so far (patched or routed through a veneer). */
  handled = 0;

  constructor(readonly worstCaseVeneer: number) {}

  use(at: number, label: string, use: LabelUse, origin: FixupOrigin, direct: boolean): void {
    const deadline = Math.min(MAX, at + use.maxPos);
    this.pending.push({ at, label, use, deadline, seq: this.seq++, origin, direct });
    this.pendingDeadline = Math.min(this.pendingDeadline, deadline - use.align);
  }

  get unresolved(): number {
    return this.pending.length + this.heap.length;
  }

  private worstCaseEnd(cur: number, distance: number): number {
    return Math.min(MAX, cur + distance + this.unresolved * this.worstCaseVeneer);
  }

  /** MachBuffer `island_needed`. */
  needed(cur: number, distance: number): boolean {
    const top = this.heap.length > 0 ? this.heap[0]!.deadline : MAX;
    const deadline = Math.min(top, this.pendingDeadline);
    return deadline < MAX && this.worstCaseEnd(cur, distance) > deadline;
  }

  /**
   * MachBuffer `emit_island_maybe_forced`: returns the text offset after the
   * island, or the error of a call no veneer can rescue.
   *
   * Deliberate differences from MachBuffer, each closing a case where it
   * would leave a site out of reach (or take a veneer a call does not need):
   *
   * 1. Fixups are handled strictly in deadline order, the ones registered
   *    since the last island included (MachBuffer handles those first, in
   *    insertion order). A function's own calls are registered after the
   *    island check made before placing it, so they must not take island
   *    space promised to earlier sites with earlier deadlines.
   * 2. A fixup whose label is unknown and can take no veneer (a veneer's
   *    slot) does not stop the island from handling the fixups behind it.
   * 3. `next` is the function placed right after this island. A fixup whose
   *    target is that function gets no veneer when the function will start
   *    within its reach even if every other fixup still unresolved took a
   *    veneer in this island; it is patched directly by a later island.
   */
  emit(
    cur: number,
    distance: number,
    force: boolean,
    labelOf: (name: string) => number | undefined,
    next?: { readonly name: string; readonly align: number },
  ): number | ObjfoldError {
    const threshold = this.worstCaseEnd(cur, distance);
    const veneers: VeneerDraft[] = [];
    const putBack: Fixup[] = [];
    const shouldApply = (f: Fixup): boolean => labelOf(f.label) !== undefined || (f.deadline < threshold && f.use.veneer !== undefined);

    const veneerFor = (f: Fixup, label: number | undefined): ObjfoldError | undefined => {
      const v = f.use.veneer;
      if (v === undefined) return outOfRange(f, (label ?? threshold) - f.origin.at);
      const vo = alignUp(cur, f.use.align);
      // The veneer itself must be within reach; when the label is still unknown the distance is a lower bound.
      if (vo - f.at > f.use.maxPos) return outOfRange(f, (label ?? vo) - f.origin.at);
      this.handled++;
      this.patches.push({ at: f.at, use: f.use, label: vo });
      veneers.push({ offset: vo, size: v.size, site: f.at, targetName: f.label, use: f.use });
      if (f.direct) this.veneerOfCall.set(f.origin.call, vo);
      cur = vo + v.size;
      this.use(vo + v.useOffset, f.label, v.use, f.origin, false);
      return undefined;
    };

    // The usual last island of a module that needed none before: every label
    // known and in reach, so no veneer. Patch in insertion order without the
    // heap; the bytes are the same (fixups at one site share a deadline, so
    // the heap keeps their order too). Measured: 110 of 265 ms at 10^5 calls.
    if (!force && this.heap.length === 0 && this.pending.length > 0) {
      const p = this.pending;
      const labels = new Float64Array(p.length);
      let direct = true;
      for (let k = 0; k < p.length; k++) {
        const f = p[k]!;
        const label = labelOf(f.label);
        if (label === undefined || label - f.at > f.use.maxPos || f.at - label > f.use.maxNeg) {
          direct = false;
          break;
        }
        labels[k] = label;
      }
      if (direct) {
        for (let k = 0; k < p.length; k++) this.patches.push({ at: p[k]!.at, use: p[k]!.use, label: labels[k]! });
        this.handled += p.length;
        this.pending = [];
        this.pendingDeadline = MAX;
        return cur;
      }
    }

    // (1) Everything unresolved in one deadline-ordered heap.
    for (const f of this.pending) this.push(f);
    this.pending = [];
    this.pendingDeadline = MAX;
    // Upper bound on the veneers this island may still add (for 3): `veneerCapableInHeap`.

    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (!shouldApply(top)) {
        if (top.use.veneer === undefined && top.deadline < threshold) {
          // (2) Waits for its label; let the fixups behind it through.
          putBack.push(this.pop());
          continue;
        }
        break;
      }
      const f = this.pop();
      const label = labelOf(f.label);
      if (label === undefined) {
        // About to fall out of reach: a veneer, unless (3). Not under force:
        // there the call takes a veneer anyway, and it must come before the function.
        if (!force && next !== undefined && f.label === next.name) {
          // Veneers start on the use's alignment: at most `capable` more of them after `cur`.
          const capable = this.veneerCapableInHeap;
          const worstEnd = capable > 0 ? alignUp(cur, f.use.align) + capable * this.worstCaseVeneer : cur;
          const worstStart = alignUp(worstEnd, next.align);
          if (worstStart - f.at <= f.use.maxPos) {
            putBack.push(f);
            continue;
          }
        }
        const e = veneerFor(f, undefined);
        if (e !== undefined) return e;
        continue;
      }
      const delta = label - f.at;
      // A forward use whose label got bound beyond its reach: an island came too late (or a veneer's slot, which has no veneer of its own).
      if (delta > f.use.maxPos) return outOfRange(f, label - f.origin.at);
      const backwardOut = delta < 0 && -delta > f.use.maxNeg;
      if (backwardOut || (force && f.use.veneer !== undefined)) {
        const e = veneerFor(f, label);
        if (e !== undefined) return e;
        continue;
      }
      this.handled++;
      this.patches.push({ at: f.at, use: f.use, label });
    }
    for (const f of putBack) this.push(f);
    if (veneers.length > 0) this.islands.push({ offset: veneers[0]!.offset, end: cur, veneers });
    return cur;
  }

  private push(f: Fixup): void {
    if (f.use.veneer !== undefined) this.veneerCapableInHeap++;
    const h = this.heap;
    h.push(f);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const up = h[i]!, parent = h[p]!;
      if (!before(up, parent)) break;
      h[i] = parent;
      h[p] = up;
      i = p;
    }
  }

  private pop(): Fixup {
    const h = this.heap;
    const top = h[0]!;
    if (top.use.veneer !== undefined) this.veneerCapableInHeap--;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        const down = h[i]!;
        h[i] = h[m]!;
        h[m] = down;
        i = m;
      }
    }
    return top;
  }
}

export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

const outOfRange = (f: Fixup, distance: number): ObjfoldError => ({
  _tag: "CallOutOfRange",
  item: f.origin.item,
  function: f.origin.function,
  offset: f.origin.offset,
  kind: f.origin.kind,
  target: f.origin.target,
  distance,
  min: -f.use.maxNeg,
  max: f.use.maxPos,
});
