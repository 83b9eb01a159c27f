/**
 * The fold: `begin(header)`, then `step(state, item)` per item, then
 * `finish(state)` → the immutable `TextPlan`.
 *
 * A `LayoutState` is a value: stepping never changes a state anyone holds.
 * It is implemented as a transient builder (the "arena") shared along one
 * chain of states, so a step appends in O(1) and copies nothing already
 * placed. Each arena knows the one state allowed to extend it (its tip);
 * stepping or finishing any other state of the chain first replays that
 * state's prefix into a fresh arena. `finish` seals the arena. A law checks
 * that forks give the same bytes as fresh folds.
 */
import * as Either from "effect/Either";
import type { ObjfoldError } from "../errors.js";
import { isaOf } from "../isa/index.js";
import { HOST_CALL_BYTE, HOST_CALL_SITE_SIZE } from "../isa/pulley.js";
import type { CallKind, Isa } from "../isa/types.js";
import type { FunctionItem, Header, Item } from "../schema/records.js";
import { parseTarget, type Target } from "../target.js";
import { guardItem } from "./guard.js";
import { alignUp, IslandMachine } from "./islands.js";
import { NameTable } from "./names.js";
import type { CallSite, HostCallWrite, Island, Patch, PlacedFunction, PlacedPadding, TextPlan } from "./plan.js";

/** Text offsets are u32, as in Cranelift's MachBuffer. */
export const MAX_TEXT = 0xffffffff;

interface DraftCall {
  readonly caller: number;
  readonly item: number;
  readonly function: string;
  readonly offset: number;
  readonly kind: string;
  readonly targetName: string;
  readonly at: number;
  readonly useIndex: number;
}

class Arena {
  tip: LayoutState | undefined = undefined;
  readonly items: Item[] = [];
  offset = 0;
  failure: ObjfoldError | undefined = undefined;
  /** The last item's unwind record, checked by the guard (see `guardItem`). */
  private checkedUnwind: unknown = undefined;
  readonly functions: PlacedFunction[] = [];
  /** Name → function index (a `Map`'s get/set, faster here: see names.ts). */
  readonly names = new NameTable();
  readonly paddings: PlacedPadding[] = [];
  readonly calls: DraftCall[] = [];
  readonly hostCalls: HostCallWrite[] = [];
  readonly machine: IslandMachine | undefined;
  readonly uses: CallKind[] = [];
  readonly labelOf = (name: string): number | undefined => {
    const i = this.names.get(name);
    return i === undefined ? undefined : this.functions[i]!.offset;
  };

  constructor(
    readonly header: Header,
    readonly target: Target,
    readonly isa: Isa,
  ) {
    const veneers = [...isa.calls.values()].some((k) => k.use.veneer !== undefined);
    this.machine = veneers ? new IslandMachine(isa.worstCaseVeneer) : undefined;
  }

  add(item: Item): void {
    const index = this.items.length;
    this.items.push(item);
    if (this.failure !== undefined) return;
    const invalid = guardItem(item, this.checkedUnwind);
    if (invalid !== undefined) {
      this.failure = { _tag: "DecodeError", issues: [{ path: ["items", index, ...invalid.path], message: invalid.message }] };
      return;
    }
    if (item.type === "function") this.checkedUnwind = item.unwind;
    if (item.type === "padding") {
      // Wasmtime's `append_padding` appends the zeros through the text builder
      // (alignment 1), so a large padding gets its island first; size 0 appends nothing.
      if (item.size > 0) {
        const e = this.islandBefore(item.size, 1);
        if (e !== undefined) {
          this.failure = e;
          return;
        }
      }
      this.paddings.push({ item: index, offset: this.offset, size: item.size });
      this.offset += item.size;
      if (this.offset > MAX_TEXT) this.failure = { _tag: "TextTooLarge", item: index, size: this.offset, max: MAX_TEXT };
      return;
    }
    this.failure = this.addFunction(item, index);
  }

  private addFunction(fn: FunctionItem, item: number): ObjfoldError | undefined {
    const { target, isa } = this;
    const name = fn.name;
    if (fn.alignment > target.textAlign)
      return { _tag: "AlignmentTooLarge", item, function: name, alignment: fn.alignment, textAlign: target.textAlign };
    const first = this.names.get(name);
    if (first !== undefined) return { _tag: "DuplicateName", item, name, firstItem: this.functions[first]!.item };
    const len = fn.body.length;
    const m = this.machine;
    const island = this.islandBefore(len, fn.alignment, name);
    if (island !== undefined) return island;
    const at = alignUp(this.offset, fn.alignment);
    const index = this.functions.length;
    this.names.set(name, index);
    this.functions.push({ index, item, offset: at, fn });
    if (fn.unwind !== undefined && fn.unwind.kind !== target.unwindAbi)
      return { _tag: "UnwindKindNotForTarget", item, function: name, kind: fn.unwind.kind, expected: target.unwindAbi };
    // An indexed loop: `for…of` here allocated an iterator and its results per function (12 MB a build at 10⁵; docs/performance.md).
    const relocations = fn.relocations;
    for (let k = 0; k < relocations.length; k++) {
      const r = relocations[k]!;
      if (r.kind === "PulleyCallIndirectHost") {
        if (target.arch !== "pulley") return { _tag: "RelocationKindNotForTarget", item, function: name, offset: r.offset, kind: r.kind, arch: target.arch };
        if (r.addend !== 0) return { _tag: "RelocationAddend", item, function: name, offset: r.offset, kind: r.kind, addend: r.addend, expected: 0 };
        if (r.offset + HOST_CALL_SITE_SIZE > len)
          return { _tag: "SiteOutsideBody", item, function: name, offset: r.offset, kind: r.kind, siteSize: HOST_CALL_SITE_SIZE, bodyLength: len };
        this.hostCalls.push({ at: at + r.offset + HOST_CALL_BYTE, value: r.hostCall });
        continue;
      }
      const ck = isa.calls.get(r.kind);
      if (ck === undefined) return { _tag: "RelocationKindNotForTarget", item, function: name, offset: r.offset, kind: r.kind, arch: target.arch };
      if (ck.addend !== "any" && r.addend !== ck.addend)
        return { _tag: "RelocationAddend", item, function: name, offset: r.offset, kind: r.kind, addend: r.addend, expected: ck.addend };
      const use = ck.use;
      if (r.offset + use.siteSize > len)
        return { _tag: "SiteOutsideBody", item, function: name, offset: r.offset, kind: r.kind, siteSize: use.siteSize, bodyLength: len };
      const site = at + r.offset;
      if (site % use.align !== 0)
        return { _tag: "MisalignedCallSite", item, function: name, offset: r.offset, kind: r.kind, align: use.align, which: "site", textOffset: site };
      const call = this.calls.length;
      this.calls.push({ caller: index, item, function: name, offset: r.offset, kind: r.kind, targetName: r.target, at: site, useIndex: 0 });
      this.uses.push(ck);
      if (m !== undefined) m.use(site, r.target, use, { call, at: site, item, function: name, offset: r.offset, kind: r.kind, target: r.target }, true);
    }
    this.offset = at + len;
    if (this.offset > MAX_TEXT) return { _tag: "TextTooLarge", item, size: this.offset, max: MAX_TEXT };
    return undefined;
  }

  /**
   * MachTextSectionBuilder `append`'s island check, before `len` bytes that
   * start on `align` are placed: under `forceVeneers` always, otherwise when
   * the bytes could carry a pending site past its deadline.
   *
   * Deliberate difference from Cranelift, which asks with `distance = len`
   * before aligning: objfold counts the alignment fill too, and asks again
   * after an island (which moves the fill), so a large function alignment can
   * never leave a site out of reach. The two agree except within one
   * alignment fill of a deadline, where Cranelift could fail.
   */
  private islandBefore(len: number, align: number, name?: string): ObjfoldError | undefined {
    const m = this.machine;
    if (m === undefined) return undefined;
    const force = this.header.forceVeneers;
    let forced = force;
    for (;;) {
      const distance = alignUp(this.offset, align) - this.offset + len;
      if (!forced && !m.needed(this.offset, distance)) return undefined;
      forced = false;
      const handled = m.handled;
      const r = m.emit(this.offset, distance, force, this.labelOf, name === undefined ? undefined : { name, align });
      if (typeof r !== "number") return r;
      this.offset = r;
      // No fixup could be resolved (say, a veneer slot whose label is still unknown): asking again would not help.
      if (m.handled === handled) return undefined;
    }
  }

  /** Resolve every call and close the text. Seals the arena (see the module comment). */
  finish(): Either.Either<TextPlan, ObjfoldError> {
    this.tip = undefined;
    if (this.failure !== undefined) return Either.left(this.failure);
    const { calls, functions, names, target } = this;
    const targets = new Int32Array(calls.length);
    for (let k = 0; k < calls.length; k++) {
      const c = calls[k]!;
      const t = names.get(c.targetName);
      if (t === undefined) return Either.left({ _tag: "UnknownCallTarget", item: c.item, function: c.function, offset: c.offset, target: c.targetName });
      targets[k] = t;
      const use = this.uses[k]!.use;
      const label = functions[t]!.offset;
      if (label % use.align !== 0)
        return Either.left({ _tag: "MisalignedCallSite", item: c.item, function: c.function, offset: c.offset, kind: c.kind, align: use.align, which: "target", textOffset: label });
    }
    let offset = this.offset;
    let patches: Patch[];
    let islands: Island[] = [];
    let veneerOf: ReadonlyMap<number, number> | undefined;
    const m = this.machine;
    if (m !== undefined) {
      while (m.unresolved > 0) {
        // MachBuffer `finish`: islands of distance 0 until nothing is pending (every label is known now).
        const handled = m.handled;
        const r = m.emit(offset, 0, this.header.forceVeneers, this.labelOf);
        if (typeof r !== "number") return Either.left(r);
        offset = r;
        if (m.handled === handled) throw new Error("objfold defect: an island at finish resolved no fixup");
      }
      if (offset > MAX_TEXT) return Either.left({ _tag: "TextTooLarge", size: offset, max: MAX_TEXT });
      patches = m.patches;
      veneerOf = m.veneerOfCall;
      islands = m.islands.map((i) => ({
        offset: i.offset,
        end: i.end,
        veneers: i.veneers.map((v) => ({ offset: v.offset, size: v.size, site: v.site, target: names.get(v.targetName)!, use: v.use })),
      }));
    } else {
      patches = new Array<Patch>(calls.length);
      for (let k = 0; k < calls.length; k++) {
        const c = calls[k]!;
        const use = this.uses[k]!.use;
        const label = functions[targets[k]!]!.offset;
        const delta = label - c.at;
        if (delta > use.maxPos || -delta > use.maxNeg)
          return Either.left({
            _tag: "CallOutOfRange",
            item: c.item,
            function: c.function,
            offset: c.offset,
            kind: c.kind,
            target: c.targetName,
            distance: delta,
            min: -use.maxNeg,
            max: use.maxPos,
          });
        patches[k] = { at: c.at, use, label };
      }
    }
    const callSites: CallSite[] = new Array<CallSite>(calls.length);
    for (let k = 0; k < calls.length; k++) {
      const c = calls[k]!;
      const veneer = veneerOf?.get(k);
      callSites[k] = veneer === undefined
        ? { caller: c.caller, offset: c.offset, kind: c.kind, target: targets[k]!, at: c.at }
        : { caller: c.caller, offset: c.offset, kind: c.kind, target: targets[k]!, at: c.at, veneer };
    }
    const textSize = alignUp(offset, target.textAlign);
    if (textSize > MAX_TEXT) return Either.left({ _tag: "TextTooLarge", size: textSize, max: MAX_TEXT });
    return Either.right({
      header: this.header,
      target,
      functions,
      paddings: this.paddings,
      islands,
      patches,
      hostCalls: this.hostCalls,
      calls: callSites,
      textLength: offset,
      textSize,
    });
  }
}

let arenaOf: (s: LayoutState) => Arena | undefined;

/**
 * The fold's state after some items: a value; see the module comment. Its
 * arena is a private field: nothing outside this module can reach it.
 */
export class LayoutState {
  readonly #arena: Arena | undefined;
  constructor(
    readonly header: Header,
    readonly target: Target | undefined,
    /** How many items were folded in. */
    readonly steps: number,
    /** The first error met, after which steps change nothing. */
    readonly failure: ObjfoldError | undefined,
    arena: Arena | undefined,
  ) {
    this.#arena = arena;
    if (arena !== undefined) arena.tip = this;
  }
  static {
    arenaOf = (s) => s.#arena;
  }
}

/** The empty fold for a module header (a failed state if the target is unsupported). */
export const begin = (header: Header): LayoutState => {
  const t = parseTarget(header.target);
  if (Either.isLeft(t)) return new LayoutState(header, undefined, 0, t.left, undefined);
  return new LayoutState(header, t.right, 0, undefined, new Arena(header, t.right, isaOf(t.right.arch)));
};

/** The arena this state may extend: its own, or a replay of its prefix. */
const own = (s: LayoutState): Arena => {
  const a = arenaOf(s)!;
  if (a.tip === s) return a;
  const fresh = new Arena(s.header, s.target!, a.isa);
  for (let i = 0; i < s.steps; i++) fresh.add(a.items[i]!);
  return fresh;
};

/** Fold one item in. Pure: `state` itself is never changed. */
export const step = (state: LayoutState, item: Item): LayoutState => {
  if (state.failure !== undefined || arenaOf(state) === undefined) return state;
  const a = own(state);
  a.add(item);
  return new LayoutState(state.header, state.target, state.steps + 1, a.failure, a);
};

/**
 * Fold the items of an array in, as `step` does one by one (stopping at the
 * first error), but with one new state at the end instead of one per item:
 * `encodeModule`'s loop (a state object per item was 7 MB a build at 10⁵).
 */
export const stepMany = (state: LayoutState, items: ReadonlyArray<Item>): LayoutState => {
  if (state.failure !== undefined || arenaOf(state) === undefined || items.length === 0) return state;
  const a = own(state);
  let n = 0;
  while (n < items.length) {
    a.add(items[n++]!);
    if (a.failure !== undefined) break;
  }
  return new LayoutState(state.header, state.target, state.steps + n, a.failure, a);
};

/** Data-last `step`, for `pipe` and reducers. */
export const stepWith =
  (item: Item) =>
  (state: LayoutState): LayoutState =>
    step(state, item);

/** Close the fold: resolve every call, place the last islands, and return the plan. */
export const finish = (state: LayoutState): Either.Either<TextPlan, ObjfoldError> => {
  if (state.failure !== undefined) return Either.left(state.failure);
  return own(state).finish();
};
