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
import { i32, u32, u8 } from "./columns.js";
import type { Island, PatchColumns, PlacedVeneer } from "./plan.js";

const MAX = 0xffffffff;

/** Where a fixup came from: the call it serves (for errors). */
export interface FixupOrigin {
  /** Text offset of the call site (a veneer's slot keeps its call's origin). */
  readonly at: number;
  readonly item: number;
  readonly function: string;
  readonly offset: number;
  readonly kind: string;
  readonly target: string;
}

/** A veneer before its target's function index is known. */
export interface VeneerDraft extends Omit<PlacedVeneer, "target"> {
  /** The final target's name id. */
  readonly targetLabel: number;
  readonly use: LabelUse;
}
export interface IslandDraft extends Omit<Island, "veneers"> {
  readonly veneers: ReadonlyArray<VeneerDraft>;
}

/** Index of `u` in `uses`, appended if new (an ISA has a handful: a linear search). */
const indexIn = (uses: LabelUse[], u: LabelUse): number => {
  for (let k = 0; k < uses.length; k++) if (uses[k] === u) return k;
  uses.push(u);
  return uses.length - 1;
};

/** Patches as they are decided, in application order: columns, and the few label uses they index. */
export class PatchBuilder {
  readonly at = u32();
  readonly label = u32();
  readonly use = u8();
  readonly uses: LabelUse[] = [];

  /** Room for `n` patches in all (see `U32Column.reserve`). */
  reserve(n: number): void {
    this.at.reserve(n);
    this.label.reserve(n);
    this.use.reserve(n);
  }

  add(at: number, u: LabelUse, label: number): void {
    this.at.push(at);
    this.label.push(label);
    this.use.push(indexIn(this.uses, u));
  }

  columns(): PatchColumns {
    return { count: this.at.length, at: this.at.view(), label: this.label.view(), use: this.use.view(), uses: this.uses };
  }
}

/**
 * Fixups are rows of columns, by id: the id is MachBuffer's insertion
 * sequence number, so (deadline, id) is its heap order. The ones registered
 * since the last island ("pending") are always the ids from `pendingFrom` on.
 */
export class IslandMachine {
  private readonly fAt = u32();
  private readonly fDeadline = u32();
  private readonly fUse = u8();
  private readonly fCall = i32();
  private readonly fDirect = u8();
  /** The name id of the function a fixup's label is. */
  private readonly fLabel = i32();
  private readonly uses: LabelUse[] = [];
  private pendingFrom = 0;
  private pendingDeadline = MAX;
  /** Binary min-heap of fixup ids by (deadline, id). */
  private readonly heap = i32();
  /** How many fixups in the heap could take a veneer (kept by push/pop: no walk per island). */
  private veneerCapableInHeap = 0;
  readonly islands: IslandDraft[] = [];
  /** Veneer offset per call index, for calls routed through one. */
  readonly veneerOfCall = new Map<number, number>();
  /** How many fixups islands have resolved so far (patched or routed through a veneer). */
  handled = 0;

  constructor(
    readonly worstCaseVeneer: number,
    readonly patches: PatchBuilder,
    /** The call a fixup serves, for errors. */
    private readonly origin: (call: number) => FixupOrigin,
  ) {}

  /** Room for `n` fixups in all (see `U32Column.reserve`). */
  reserve(n: number): void {
    for (const c of [this.fAt, this.fDeadline, this.fUse, this.fCall, this.fDirect, this.fLabel]) c.reserve(n);
  }

  use(at: number, label: number, use: LabelUse, call: number, direct: boolean): void {
    const deadline = Math.min(MAX, at + use.maxPos);
    this.fAt.push(at);
    this.fDeadline.push(deadline);
    this.fUse.push(indexIn(this.uses, use));
    this.fCall.push(call);
    this.fDirect.push(direct ? 1 : 0);
    this.fLabel.push(label);
    this.pendingDeadline = Math.min(this.pendingDeadline, deadline - use.align);
  }

  get unresolved(): number {
    return this.fAt.length - this.pendingFrom + this.heap.length;
  }

  private worstCaseEnd(cur: number, distance: number): number {
    return Math.min(MAX, cur + distance + this.unresolved * this.worstCaseVeneer);
  }

  /** MachBuffer `island_needed`. */
  needed(cur: number, distance: number): boolean {
    const top = this.heap.length > 0 ? this.fDeadline.data[this.heap.data[0]!]! : MAX;
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
    /** Where a fixup's label is bound, if it is: given the label's name id and the call the fixup serves. */
    labelOf: (label: number, call: number) => number | undefined,
    next?: { readonly label: number; readonly align: number },
  ): number | ObjfoldError {
    const threshold = this.worstCaseEnd(cur, distance);
    const veneers: VeneerDraft[] = [];
    const putBack: number[] = [];
    const { fAt, fDeadline, fUse, fLabel, uses } = this;
    const useOf = (f: number): LabelUse => uses[fUse.data[f]!]!;
    const fCall = this.fCall;
    const labelOfFixup = (f: number): number | undefined => labelOf(fLabel.data[f]!, fCall.data[f]!);
    const shouldApply = (f: number): boolean => labelOfFixup(f) !== undefined || (fDeadline.data[f]! < threshold && useOf(f).veneer !== undefined);

    const veneerFor = (f: number, label: number | undefined): ObjfoldError | undefined => {
      const use = useOf(f);
      const at = fAt.data[f]!;
      const v = use.veneer;
      if (v === undefined) return this.outOfRange(f, label ?? threshold);
      const vo = alignUp(cur, use.align);
      // The veneer itself must be within reach; when the label is still unknown the distance is a lower bound.
      if (vo - at > use.maxPos) return this.outOfRange(f, label ?? vo);
      this.handled++;
      this.patches.add(at, use, vo);
      veneers.push({ offset: vo, size: v.size, site: at, targetLabel: fLabel.data[f]!, use });
      if (this.fDirect.data[f] === 1) this.veneerOfCall.set(this.fCall.data[f]!, vo);
      cur = vo + v.size;
      this.use(vo + v.useOffset, fLabel.data[f]!, v.use, this.fCall.data[f]!, false);
      return undefined;
    };

    const count = fAt.length;
    // The usual last island of a module that needed none before: every label
    // known and in reach, so no veneer. Patch in insertion order without the
    // heap; the bytes are the same (fixups at one site share a deadline, so
    // the heap keeps their order too). Measured: 110 of 265 ms at 10^5 calls.
    if (!force && this.heap.length === 0 && this.pendingFrom < count) {
      const from = this.pendingFrom;
      // Two passes, the labels looked up again in the second: an array of them was 8 MB at 10⁶ calls.
      let direct = true;
      for (let f = from; f < count; f++) {
        const label = labelOfFixup(f);
        const use = useOf(f);
        const at = fAt.data[f]!;
        if (label === undefined || label - at > use.maxPos || at - label > use.maxNeg) {
          direct = false;
          break;
        }
      }
      if (direct) {
        for (let f = from; f < count; f++) this.patches.add(fAt.data[f]!, useOf(f), labelOfFixup(f)!);
        this.handled += count - from;
        this.pendingFrom = count;
        this.pendingDeadline = MAX;
        return cur;
      }
    }

    // (1) Everything unresolved in one deadline-ordered heap.
    for (let f = this.pendingFrom; f < count; f++) this.push(f);
    this.pendingFrom = count;
    this.pendingDeadline = MAX;
    // Upper bound on the veneers this island may still add (for 3): `veneerCapableInHeap`.

    while (this.heap.length > 0) {
      const top = this.heap.data[0]!;
      if (!shouldApply(top)) {
        if (useOf(top).veneer === undefined && fDeadline.data[top]! < threshold) {
          // (2) Waits for its label; let the fixups behind it through.
          putBack.push(this.pop());
          continue;
        }
        break;
      }
      const f = this.pop();
      const use = useOf(f);
      const at = fAt.data[f]!;
      const label = labelOfFixup(f);
      if (label === undefined) {
        // About to fall out of reach: a veneer, unless (3). Not under force:
        // there the call takes a veneer anyway, and it must come before the function.
        if (!force && next !== undefined && fLabel.data[f] === next.label) {
          // Veneers start on the use's alignment: at most `capable` more of them after `cur`.
          const capable = this.veneerCapableInHeap;
          const worstEnd = capable > 0 ? alignUp(cur, use.align) + capable * this.worstCaseVeneer : cur;
          const worstStart = alignUp(worstEnd, next.align);
          if (worstStart - at <= use.maxPos) {
            putBack.push(f);
            continue;
          }
        }
        const e = veneerFor(f, undefined);
        if (e !== undefined) return e;
        continue;
      }
      const delta = label - at;
      // A forward use whose label got bound beyond its reach: an island came too late (or a veneer's slot, which has no veneer of its own).
      if (delta > use.maxPos) return this.outOfRange(f, label);
      const backwardOut = delta < 0 && -delta > use.maxNeg;
      if (backwardOut || (force && use.veneer !== undefined)) {
        const e = veneerFor(f, label);
        if (e !== undefined) return e;
        continue;
      }
      this.handled++;
      this.patches.add(at, use, label);
    }
    for (const f of putBack) this.push(f);
    if (veneers.length > 0) this.islands.push({ offset: veneers[0]!.offset, end: cur, veneers });
    return cur;
  }

  private before(a: number, b: number): boolean {
    const da = this.fDeadline.data[a]!, db = this.fDeadline.data[b]!;
    return da < db || (da === db && a < b);
  }

  private push(f: number): void {
    if (this.uses[this.fUse.data[f]!]!.veneer !== undefined) this.veneerCapableInHeap++;
    const heap = this.heap;
    heap.push(f);
    const h = heap.data;
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const up = h[i]!, parent = h[p]!;
      if (!this.before(up, parent)) break;
      h[i] = parent;
      h[p] = up;
      i = p;
    }
  }

  private pop(): number {
    const heap = this.heap;
    const h = heap.data;
    const top = h[0]!;
    if (this.uses[this.fUse.data[top]!]!.veneer !== undefined) this.veneerCapableInHeap--;
    const n = --heap.length;
    if (n > 0) {
      h[0] = h[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < n && this.before(h[l]!, h[m]!)) m = l;
        if (r < n && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        const down = h[i]!;
        h[i] = h[m]!;
        h[m] = down;
        i = m;
      }
    }
    return top;
  }

  /** The error of fixup `f`, whose label is (or would be) at `label`: distances are from its call site. */
  private outOfRange(f: number, label: number): ObjfoldError {
    const o = this.origin(this.fCall.data[f]!);
    const use = this.uses[this.fUse.data[f]!]!;
    return { _tag: "CallOutOfRange", item: o.item, function: o.function, offset: o.offset, kind: o.kind, target: o.target, distance: label - o.at, min: -use.maxNeg, max: use.maxPos };
  }
}

export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
