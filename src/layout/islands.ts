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
  seq = 0;
  patches: Patch[] = [];
  islands: IslandDraft[] = [];
  /** Veneer offset per call index, for calls routed through one. */
  veneerOfCall = new Map<number, number>();

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
   */
  emit(cur: number, distance: number, force: boolean, labelOf: (name: string) => number | undefined): number | ObjfoldError {
    const threshold = this.worstCaseEnd(cur, distance);
    const veneers: VeneerDraft[] = [];
    const shouldApply = (f: Fixup): boolean => labelOf(f.label) !== undefined || (f.deadline < threshold && f.use.veneer !== undefined);
    const handle = (f: Fixup): ObjfoldError | undefined => {
      const label = labelOf(f.label);
      let veneer = force && f.use.veneer !== undefined;
      if (label !== undefined) {
        const delta = label - f.at;
        if (delta > f.use.maxPos) return outOfRange(f, delta);
        if (delta < 0 && -delta > f.use.maxNeg) veneer = true;
        if (!veneer) {
          this.patches.push({ at: f.at, use: f.use, label });
          return undefined;
        }
      }
      // Label unknown and about to fall out of reach, out of reach backwards, or forced.
      const v = f.use.veneer;
      if (v === undefined) return outOfRange(f, (label ?? threshold) - f.at);
      const vo = alignUp(cur, f.use.align);
      if (vo - f.at > f.use.maxPos) return outOfRange(f, (label ?? vo) - f.at);
      this.patches.push({ at: f.at, use: f.use, label: vo });
      veneers.push({ offset: vo, size: v.size, site: f.at, targetName: f.label, use: f.use });
      if (f.direct) this.veneerOfCall.set(f.origin.call, vo);
      cur = vo + v.size;
      this.use(vo + v.useOffset, f.label, v.use, f.origin, false);
      return undefined;
    };

    const pending = this.pending;
    this.pending = [];
    for (const f of pending) {
      if (shouldApply(f)) {
        const e = handle(f);
        if (e !== undefined) return e;
      } else this.push(f);
    }
    // As in MachBuffer, the deadline is reset after the pending list is drained:
    // veneer slots queued above reach ±2 GiB and are picked up by a later island.
    this.pendingDeadline = MAX;
    while (this.heap.length > 0 && shouldApply(this.heap[0]!)) {
      const e = handle(this.pop());
      if (e !== undefined) return e;
    }
    if (veneers.length > 0) this.islands.push({ offset: veneers[0]!.offset, end: cur, veneers });
    return cur;
  }

  private push(f: Fixup): void {
    const h = this.heap;
    h.push(f);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Fixup {
    const h = this.heap;
    const top = h[0]!;
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
        [h[i], h[m]] = [h[m]!, h[i]!];
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
