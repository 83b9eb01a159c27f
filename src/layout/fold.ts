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
import * as Either from "../result.js";
import type { ObjfoldError } from "../errors.js";
import { isaOf } from "../isa/index.js";
import { HOST_CALL_BYTE, HOST_CALL_SITE_SIZE } from "../isa/pulley.js";
import type { CallKind, Isa } from "../isa/types.js";
import type { FunctionItem, Header, Item, Unwind } from "../schema/records.js";
import { FunctionRows, KIND_CODE } from "../schema/rows.js";
import { parseTarget, type Target } from "../target.js";
import { f64, i32, u32, u8 } from "./columns.js";
import { guardItem } from "./guard.js";
import { alignUp, type FixupOrigin, IslandMachine, PatchBuilder } from "./islands.js";
import { NameTable } from "./names.js";
import {
  type FunctionColumns,
  functionItemOf,
  type HostCallWrite,
  type Island,
  type PlacedPadding,
  RELOCATION_KINDS,
  type RelocationColumns,
  TextPlan,
} from "./plan.js";
import { TextStore } from "./textStore.js";

/** Text offsets are u32, as in Cranelift's MachBuffer. */
export const MAX_TEXT = 0xffffffff;

/** One chain's builder: rows grow as items are stepped; `finish` hands the filled prefixes to the plan. */
class Arena {
  tip: LayoutState | undefined = undefined;
  offset = 0;
  failure: ObjfoldError | undefined = undefined;
  /** The last item's unwind record, checked by the guard (see `guardItem`). */
  private checkedUnwind: unknown = undefined;
  /** Per item: its function index, or −1 − its padding index (what a fork's replay rebuilds items from). */
  private readonly itemRef = i32();
  // Functions, by function index.
  private readonly fnOffset = u32();
  private readonly fnLength = u32();
  private readonly fnItem = i32();
  /** log2 of the alignment (a power of two up to 2^30): a byte, not four. */
  private readonly fnAlign = u8();
  /** Every name seen (functions' and call targets'), interned as UTF-8: ids. */
  readonly names = new NameTable();
  /** Per function: its name's id. */
  private readonly fnName = u32();
  /** Per name id: the function of that name, or −1 (a call target not placed yet, or never). */
  private readonly fnOfName = i32();
  private readonly fnUnwind: (Unwind | undefined)[] = [];
  private readonly fnReloc = i32();
  private readonly text = new TextStore();
  // Relocations of every kind, in item order.
  private readonly rOffset = u32();
  private readonly rKind = u8();
  /** Call target's name id; −1 for a host call. */
  private readonly rTarget = i32();
  private readonly rAddend = f64();
  private readonly rHost = u8();
  // Calls (the call relocations), by call index.
  private readonly cFn = i32();
  private readonly cReloc = i32();
  private readonly cAt = u32();
  private readonly paddings: PlacedPadding[] = [];
  private readonly hostCalls: HostCallWrite[] = [];
  private readonly patches = new PatchBuilder();
  readonly machine: IslandMachine | undefined;
  /** The call kind of each relocation kind code, for this ISA. */
  private readonly callKindOf: (CallKind | undefined)[];
  /** Where the function named `id` starts, if it is placed. */
  readonly labelOf = (id: number): number | undefined => {
    const i = this.fnOfName.data[id]!;
    return i < 0 ? undefined : this.fnOffset.data[i];
  };

  constructor(
    readonly header: Header,
    readonly target: Target,
    readonly isa: Isa,
  ) {
    const veneers = [...isa.calls.values()].some((k) => k.use.veneer !== undefined);
    this.machine = veneers ? new IslandMachine(isa.worstCaseVeneer, this.patches, (call) => this.origin(call)) : undefined;
    this.callKindOf = RELOCATION_KINDS.map((k) => isa.calls.get(k));
  }

  /**
   * Room for `items` more items, as functions with one call each (a guess
   * for the relocation rows): columns sized once instead of grown 1.5× at a
   * time, which copies about twice a column's final size along the way
   * (~100 MB for 13 columns at 10⁶ items) and adds to what sets off
   * collections (docs/performance.md, "GC at 10⁶ (third round)"); and in
   * plain buffers, faster to read than the resizable ones a column grows
   * into ("Sixth round").
   */
  reserve(items: number, nameUnits = 0): void {
    const n = this.itemRef.length + items;
    for (const c of [this.itemRef, this.fnOffset, this.fnLength, this.fnItem, this.fnAlign, this.fnReloc, this.fnName, this.fnOfName, this.rOffset, this.rKind, this.rTarget, this.rAddend, this.rHost, this.cFn, this.cReloc, this.cAt])
      c.reserve(n);
    this.names.reserve(n, nameUnits);
    this.machine?.reserve(n);
    // Every call is patched once, directly or in an island (veneer calls: their veneer's patch too, which may grow the columns).
    this.patches.reserve(n);
  }

  /** The id of the function's name (interned now if new). */
  private intern(fn: FunctionRows): number {
    const id = fn.src === undefined ? this.names.intern(fn.name) : this.names.internBytes(fn.src, fn.nameStart, fn.nameEnd);
    this.known(id);
    return id;
  }

  /** `fnOfName` covers name `id` (−1 until a function takes it). */
  private known(id: number): void {
    while (this.fnOfName.length <= id) this.fnOfName.push(-1);
  }

  /** The call's site, for errors. */
  private origin(call: number): FixupOrigin {
    const fn = this.cFn.data[call]!;
    const row = this.cReloc.data[call]!;
    return {
      at: this.cAt.data[call]!,
      item: this.fnItem.data[fn]!,
      function: this.names.string(this.fnName.data[fn]!),
      offset: this.rOffset.data[row]!,
      kind: RELOCATION_KINDS[this.rKind.data[row]!]!,
      target: this.names.string(this.rTarget.data[row]!),
    };
  }

  /** Item `i` as it was stepped (rebuilt from the rows: equal, not the same object). */
  itemAt(i: number): Item {
    const ref = this.itemRef.data[i]!;
    if (ref < 0) return { type: "padding", size: this.paddings[-1 - ref]!.size };
    return functionItemOf(this.functionColumns(), this.relocationColumns(), this.text, ref);
  }

  /** The function rows so far, as views (no copy). */
  private functionColumns(): FunctionColumns {
    return {
      count: this.fnOffset.length,
      offset: this.fnOffset.view(),
      length: this.fnLength.view(),
      item: this.fnItem.view(),
      alignmentLog2: this.fnAlign.view(),
      nameId: this.fnName.view(),
      names: this.names,
      nameOf: (k) => this.names.string(this.fnName.data[k]!),
      unwind: this.fnUnwind,
      relocStart: this.fnReloc.view(),
      relocCount: this.rOffset.length,
    };
  }

  private relocationColumns(): RelocationColumns {
    const target = this.rTarget.view();
    const names = this.names;
    return {
      offset: this.rOffset.view(),
      kind: this.rKind.view(),
      targetOf: (row) => (target[row]! < 0 ? undefined : names.string(target[row]!)),
      addend: this.rAddend.view(),
      hostCall: this.rHost.view(),
    };
  }

  /** An item's function as rows (see `FunctionRows`), filled again for each item. */
  private readonly rows = new FunctionRows();

  /**
   * Fold one item in; `decoded`: it comes from objfold's own decoder, which
   * the guard would pass (a law proves it). Rows come from the fast decoder
   * and are never guarded. `held`: the caller keeps the item alive as long
   * as the fold (`stepMany`), so its body is kept by reference whatever its size.
   */
  add(item: Item | FunctionRows, decoded = false, held = false): void {
    const index = this.itemRef.length;
    if (this.failure !== undefined) return;
    // `!= null`: a hand-built list may hold null, which the guard below refuses (it must not throw here).
    if (item != null && item.type === "rows") {
      this.failure = this.addFunction(item, index);
      return;
    }
    const invalid = decoded ? undefined : guardItem(item, this.checkedUnwind);
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
      this.itemRef.push(-1 - this.paddings.length);
      this.paddings.push({ item: index, offset: this.offset, size: item.size });
      this.offset += item.size;
      if (this.offset > MAX_TEXT) this.failure = { _tag: "TextTooLarge", item: index, size: this.offset, max: MAX_TEXT };
      return;
    }
    this.failure = this.addFunction(this.rows.fill(item, held), index);
  }

  private addFunction(fn: FunctionRows, item: number): ObjfoldError | undefined {
    const { target } = this;
    const id = this.intern(fn);
    if (fn.alignment > target.textAlign)
      return { _tag: "AlignmentTooLarge", item, function: this.names.string(id), alignment: fn.alignment, textAlign: target.textAlign };
    const first = this.fnOfName.data[id]!;
    if (first >= 0) return { _tag: "DuplicateName", item, name: this.names.string(id), firstItem: this.fnItem.data[first]! };
    const body = fn.body;
    const unwind = fn.unwind;
    const len = fn.bodyLength;
    const m = this.machine;
    const island = this.islandBefore(len, fn.alignment, id);
    if (island !== undefined) return island;
    if (unwind !== undefined && unwind.kind !== target.unwindAbi)
      return { _tag: "UnwindKindNotForTarget", item, function: this.names.string(id), kind: unwind.kind, expected: target.unwindAbi };
    const at = alignUp(this.offset, fn.alignment);
    // Check every relocation before anything of this function is kept: a failed step keeps nothing of it.
    const n = fn.count;
    for (let k = 0; k < n; k++) {
      const e = this.checkRelocation(fn, k, at, len, item, id);
      if (e !== undefined) return e;
    }
    // Before the body is stored: an offset past 2^32 would wrap in the store's chunk index, and a fork replays from the store.
    if (at + len > MAX_TEXT) return { _tag: "TextTooLarge", item, size: at + len, max: MAX_TEXT };
    const index = this.fnOffset.length;
    this.itemRef.push(index);
    this.fnName.push(id);
    this.fnOfName.data[id] = index;
    this.fnOffset.push(at);
    this.fnLength.push(len);
    this.fnItem.push(item);
    this.fnAlign.push(31 - Math.clz32(fn.alignment));
    this.fnUnwind.push(unwind);
    this.fnReloc.push(this.rOffset.length);
    this.text.put(at, body, len, fn.bodyOwned, fn.bodyHeld);
    for (let k = 0; k < n; k++) {
      const row = this.rOffset.length;
      const code = fn.kind[k]!;
      const offset = fn.offset[k]!;
      this.rOffset.push(offset);
      this.rKind.push(code);
      this.rAddend.push(fn.addend[k]!);
      if (code === HOST_CALL_CODE) {
        const hostCall = fn.hostCall[k]!;
        this.rTarget.push(-1);
        this.rHost.push(hostCall);
        this.hostCalls.push({ at: at + offset + HOST_CALL_BYTE, value: hostCall });
        continue;
      }
      const callee = fn.src === undefined ? this.names.intern(fn.target[k]!) : this.names.internBytes(fn.src, fn.targetStart[k]!, fn.targetEnd[k]!);
      this.known(callee);
      this.rTarget.push(callee);
      this.rHost.push(0);
      const site = at + offset;
      const call = this.cAt.length;
      this.cFn.push(index);
      this.cReloc.push(row);
      this.cAt.push(site);
      if (m !== undefined) m.use(site, callee, this.callKindOf[code]!.use, call, true);
    }
    this.offset = at + len;
    return undefined;
  }

  /** Relocation `k` of a function placed at `at` with a body of `len` bytes: its problem, if it has one. */
  private checkRelocation(fn: FunctionRows, k: number, at: number, len: number, item: number, nameId: number): ObjfoldError | undefined {
    const { target } = this;
    const code = fn.kind[k]!;
    const offset = fn.offset[k]!;
    const addend = fn.addend[k]!;
    const kind = RELOCATION_KINDS[code]!;
    if (code === HOST_CALL_CODE) {
      if (target.arch !== "pulley") return { _tag: "RelocationKindNotForTarget", item, function: this.names.string(nameId), offset, kind, arch: target.arch };
      if (addend !== 0) return { _tag: "RelocationAddend", item, function: this.names.string(nameId), offset, kind, addend, expected: 0 };
      if (offset + HOST_CALL_SITE_SIZE > len) return { _tag: "SiteOutsideBody", item, function: this.names.string(nameId), offset, kind, siteSize: HOST_CALL_SITE_SIZE, bodyLength: len };
      return undefined;
    }
    const ck = this.callKindOf[code];
    if (ck === undefined) return { _tag: "RelocationKindNotForTarget", item, function: this.names.string(nameId), offset, kind, arch: target.arch };
    if (ck.addend !== "any" && addend !== ck.addend) return { _tag: "RelocationAddend", item, function: this.names.string(nameId), offset, kind, addend, expected: ck.addend };
    const use = ck.use;
    if (offset + use.siteSize > len) return { _tag: "SiteOutsideBody", item, function: this.names.string(nameId), offset, kind, siteSize: use.siteSize, bodyLength: len };
    const site = at + offset;
    if (site % use.align !== 0) return { _tag: "MisalignedCallSite", item, function: this.names.string(nameId), offset, kind, align: use.align, which: "site", textOffset: site };
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
  private islandBefore(len: number, align: number, name?: number): ObjfoldError | undefined {
    const m = this.machine;
    if (m === undefined) return undefined;
    const force = this.header.forceVeneers;
    let forced = force;
    for (;;) {
      const distance = alignUp(this.offset, align) - this.offset + len;
      if (!forced && !m.needed(this.offset, distance)) return undefined;
      forced = false;
      const handled = m.handled;
      const r = m.emit(this.offset, distance, force, this.labelOf, name === undefined ? undefined : { label: name, align });
      if (typeof r !== "number") return r;
      this.offset = r;
      // No fixup could be resolved (say, a veneer slot whose label is still unknown): asking again would not help.
      if (m.handled === handled) return undefined;
    }
  }

  /**
   * Every call's target function index, or the first call whose target is
   * unknown or misaligned. (One loop per method here and in `finish`: see
   * `elf/strtab.ts` on loops that run once.)
   */
  private resolveTargets(): Int32Array | ObjfoldError {
    const { callKindOf } = this;
    const fnOffset = this.fnOffset.data;
    const fnOfName = this.fnOfName.data;
    const cReloc = this.cReloc.data;
    const rKind = this.rKind.data;
    const rTarget = this.rTarget.data;
    const n = this.cAt.length;
    const targets = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const row = cReloc[k]!;
      const t = fnOfName[rTarget[row]!]!;
      if (t < 0) {
        const o = this.origin(k);
        return { _tag: "UnknownCallTarget", item: o.item, function: o.function, offset: o.offset, target: o.target };
      }
      targets[k] = t;
      const use = callKindOf[rKind[row]!]!.use;
      const label = fnOffset[t]!;
      if (label % use.align !== 0) {
        const o = this.origin(k);
        return { _tag: "MisalignedCallSite", item: o.item, function: o.function, offset: o.offset, kind: o.kind, align: use.align, which: "target", textOffset: label };
      }
    }
    return targets;
  }

  /** Without islands: one patch per call, in call order, or the first call out of reach. */
  private patchDirect(targets: Int32Array): ObjfoldError | undefined {
    const { callKindOf, patches } = this;
    const fnOffset = this.fnOffset.data;
    const cAt = this.cAt.data;
    const cReloc = this.cReloc.data;
    const rKind = this.rKind.data;
    for (let k = 0; k < targets.length; k++) {
      const use = callKindOf[rKind[cReloc[k]!]!]!.use;
      const at = cAt[k]!;
      const label = fnOffset[targets[k]!]!;
      const delta = label - at;
      if (delta > use.maxPos || -delta > use.maxNeg) {
        const o = this.origin(k);
        return { _tag: "CallOutOfRange", item: o.item, function: o.function, offset: o.offset, kind: o.kind, target: o.target, distance: delta, min: -use.maxNeg, max: use.maxPos };
      }
      patches.add(at, use, label);
    }
    return undefined;
  }

  /** Resolve every call and close the text. Seals the arena (see the module comment). */
  finish(): Either.Either<TextPlan, ObjfoldError> {
    this.tip = undefined;
    if (this.failure !== undefined) return Either.left(this.failure);
    const { target } = this;
    const fnOfName = this.fnOfName.data;
    const n = this.cAt.length;
    const targets = this.resolveTargets();
    if (!(targets instanceof Int32Array)) return Either.left(targets);
    const fnOffset = this.fnOffset.data;
    let offset = this.offset;
    let islands: Island[] = [];
    const m = this.machine;
    let veneers: Float64Array | undefined;
    if (m !== undefined) {
      while (m.unresolved > 0) {
        // MachBuffer `finish`: islands of distance 0 until nothing is pending (every label is known now).
        const handled = m.handled;
        // Every target is resolved by now: a fixup's label is its call's target (no name lookups).
        const r = m.emit(offset, 0, this.header.forceVeneers, (_, call) => fnOffset[targets[call]!]);
        if (typeof r !== "number") return Either.left(r);
        offset = r;
        if (m.handled === handled) throw new Error("objfold defect: an island at finish resolved no fixup");
      }
      if (offset > MAX_TEXT) return Either.left({ _tag: "TextTooLarge", size: offset, max: MAX_TEXT });
      // A column only when some call goes through a veneer (8 MB of −1s at 10⁶ calls otherwise).
      if (m.veneerOfCall.size > 0) {
        veneers = new Float64Array(n).fill(-1);
        for (const [call, at] of m.veneerOfCall) veneers[call] = at;
      }
      islands = m.islands.map((i) => ({
        offset: i.offset,
        end: i.end,
        veneers: i.veneers.map((v) => ({ offset: v.offset, size: v.size, site: v.site, target: fnOfName[v.targetLabel]!, use: v.use })),
      }));
    } else {
      const e = this.patchDirect(targets);
      if (e !== undefined) return Either.left(e);
    }
    const textSize = alignUp(offset, target.textAlign);
    if (textSize > MAX_TEXT) return Either.left({ _tag: "TextTooLarge", size: textSize, max: MAX_TEXT });
    return Either.right(
      new TextPlan({
        header: this.header,
        target,
        fns: this.functionColumns(),
        relocs: this.relocationColumns(),
        text: this.text,
        paddings: this.paddings,
        islands,
        patchColumns: this.patches.columns(),
        hostCalls: this.hostCalls,
        callColumns: { count: n, caller: this.cFn.view(), reloc: this.cReloc.view(), target: targets, at: this.cAt.view(), veneer: veneers },
        textLength: offset,
        textSize,
      }),
    );
  }
}

/** The host call's kind code: the one relocation that is not a call. */
const HOST_CALL_CODE = KIND_CODE["PulleyCallIndirectHost"]!;

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
  for (let i = 0; i < s.steps; i++) fresh.add(a.itemAt(i));
  return fresh;
};

/** One item in; `decoded` skips the guard (see `stepDecoded`). */
const stepOne = (state: LayoutState, item: Item | FunctionRows, decoded: boolean): LayoutState => {
  if (state.failure !== undefined || arenaOf(state) === undefined) return state;
  const a = own(state);
  a.add(item, decoded);
  return new LayoutState(state.header, state.target, state.steps + 1, a.failure, a);
};

/** Fold one item in. Pure: `state` itself is never changed. */
export const step = (state: LayoutState, item: Item): LayoutState => stepOne(state, item, false);

/**
 * `step` for an item objfold's own decoder (`schema/fast.ts` or the schema)
 * just made, or for the rows the fast decoder read a function line into:
 * the guard against hand-built items is skipped, since decoded items are
 * the schema's values (laws/fastdecode: the fast decoder gives exactly the
 * schema's; laws/guard: the guard passes every schema value). Internal: the
 * line fronts use it; the public `step` always guards.
 */
export const stepDecoded = (state: LayoutState, item: Item | FunctionRows): LayoutState => stepOne(state, item, true);

/**
 * Internal: for a front that owns its state and shows none in between (the
 * line fold), steps as `stepDecoded` does, one by one, but in place, with one
 * state at the end instead of one per item (at 10⁶ lines a state a line was
 * ~40 MB of garbage). `state()` ends it.
 */
export class Stepper {
  #arena: Arena | undefined;
  #steps: number;
  #failure: ObjfoldError | undefined;

  constructor(private readonly start: LayoutState) {
    this.#steps = start.steps;
    this.#failure = start.failure;
    if (start.failure === undefined && arenaOf(start) !== undefined) {
      const a = own(start);
      a.tip = undefined; // until `state()`, no state may extend this arena: `start` would be replayed
      this.#arena = a;
    }
  }

  /**
   * Room for about `items` more items and `nameBytes` more bytes of names
   * (see `Arena.reserve`): the line fold's estimate from the input's size,
   * so that the columns are sized once instead of grown. A hint only: too
   * few and they grow as before, too many and rows stay unused; the object
   * is the same either way (laws/stepper).
   */
  reserve(items: number, nameBytes: number): void {
    if (this.#failure === undefined && items > 0) this.#arena?.reserve(items, nameBytes);
  }

  /** Fold one item (or the scanner's rows) in, unguarded: see `stepDecoded`. */
  add(item: Item | FunctionRows): void {
    const a = this.#arena;
    if (a === undefined || this.#failure !== undefined) return;
    a.add(item, true);
    this.#steps++;
    this.#failure = a.failure;
  }

  #end: LayoutState | undefined;

  /** The state after every item added; the stepper takes no more after it. */
  state(): LayoutState {
    if (this.#end !== undefined) return this.#end;
    const a = this.#arena;
    this.#arena = undefined;
    this.#end = a === undefined ? this.start : new LayoutState(this.start.header, this.start.target, this.#steps, this.#failure, a);
    return this.#end;
  }
}

/**
 * Fold the items of an array in, as `step` does one by one (stopping at the
 * first error), but with one new state at the end instead of one per item:
 * `encodeModule`'s loop (a state object per item was 7 MB a build at 10⁵).
 * The same idea as `Stepper`, written as a loop of its own: through a
 * `Stepper`, an in-memory build at 10⁵ took 5–10 % longer (measured).
 */
export const stepMany = (state: LayoutState, items: ReadonlyArray<Item>): LayoutState => {
  if (state.failure !== undefined || arenaOf(state) === undefined || items.length === 0) return state;
  const a = own(state);
  a.reserve(items.length, nameUnits(items));
  let n = 0;
  while (n < items.length) {
    // The caller holds `items` for the whole fold: their bodies are kept by reference, not copied
    // (an in-memory build at 10⁵ went from ~122 to ~90 ms; docs/performance.md).
    a.add(items[n++]!, false, true);
    if (a.failure !== undefined) break;
  }
  return new LayoutState(state.header, state.target, state.steps + n, a.failure, a);
};

/**
 * Room for the functions' names in the name pool: their UTF-16 lengths (an
 * ASCII name's bytes), and three bytes a unit of the longest, which `intern`
 * asks for before it encodes. Sized once, the pool is not copied 1.5× at a
 * time (~40 MB of copies and garbage at 10⁶ names, each 64 MB of which
 * starts a marking of the whole heap: docs/performance.md, "Sixth round").
 * Items are not guarded yet: anything not a function's string name counts 0.
 */
const nameUnits = (items: ReadonlyArray<Item>): number => {
  let units = 0;
  let longest = 0;
  for (let k = 0; k < items.length; k++) {
    const it = items[k] as Partial<FunctionItem> | undefined;
    const name = it?.type === "function" ? it.name : undefined;
    if (typeof name !== "string") continue;
    units += name.length;
    if (name.length > longest) longest = name.length;
  }
  return units + 3 * longest;
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
