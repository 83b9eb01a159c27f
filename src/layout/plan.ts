/**
 * The immutable layout plan: where everything in `.text` goes and which bytes
 * get patched. Internal: the public API folds to bytes, never to a plan.
 *
 * The plan is columnar (typed arrays, one row per function, call or patch):
 * at 10⁶ functions an object per row was most of the heap and of the GC
 * time (docs/performance.md). The object views (`functions`, `calls`,
 * `patches`) are built on first use, for tests and tools; the object writer
 * and the unwind planners read the columns.
 */
import type { LabelUse } from "../isa/types.js";
import { RELOCATION_KINDS } from "../schema/kinds.js";
import type { FunctionItem, Header, Relocation, Unwind } from "../schema/records.js";
import type { Target } from "../target.js";
import type { TextStore } from "./textStore.js";

/** The fold's interned names, read-only: `layout/names.ts`. */
export interface NameView {
  string(id: number): string;
  /** How many names. */
  readonly size: number;
  /** The pool, and where each id's bytes start: id k's end where id k + 1's start (`start` has one entry more than there are ids). */
  bytes(): { readonly pool: Uint8Array; readonly start: Uint32Array };
}

export interface PlacedFunction {
  /** Function index (the n-th function item). */
  readonly index: number;
  /** Item index in the module (functions and padding counted). */
  readonly item: number;
  readonly offset: number;
  /** The function item as it was folded in (rebuilt from the plan's columns: equal, not the same object). */
  readonly fn: FunctionItem;
}

export interface PlacedPadding {
  readonly item: number;
  readonly offset: number;
  readonly size: number;
}

/** A veneer: `site` (a call that could not, or was forced not to, reach) jumps here, and the veneer reaches `target`. */
export interface PlacedVeneer {
  readonly offset: number;
  readonly size: number;
  /** Text offset of the use routed through this veneer (a call site, or another veneer's slot). */
  readonly site: number;
  /** Function index of the final target. */
  readonly target: number;
  /** The label use the veneer extends (its `veneer` field writes the instructions). */
  readonly use: LabelUse;
}

/** Veneers emitted together between two functions (or after the last one). */
export interface Island {
  readonly offset: number;
  readonly end: number;
  readonly veneers: ReadonlyArray<PlacedVeneer>;
}

/** One patch to apply to the placed bytes: the use at text offset `at` now reaches text offset `label`. */
export interface Patch {
  readonly at: number;
  readonly use: LabelUse;
  readonly label: number;
}

/** A call site as the module stated it, with where it ended up. */
export interface CallSite {
  /** Function index of the caller and the relocation's offset in its body. */
  readonly caller: number;
  readonly offset: number;
  readonly kind: string;
  /** Function index of the callee. */
  readonly target: number;
  /** Text offset of the site. */
  readonly at: number;
  /** Text offset of the veneer the site jumps to, if it goes through one. */
  readonly veneer?: number;
}

export interface HostCallWrite {
  readonly at: number;
  readonly value: number;
}

/** Functions as columns: row k is function index k. */
export interface FunctionColumns {
  readonly count: number;
  readonly offset: Uint32Array;
  readonly length: Uint32Array;
  readonly item: Int32Array;
  /** log2 of each function's alignment. */
  readonly alignmentLog2: Uint8Array;
  /** Each function's name, as an id of `names`. */
  readonly nameId: Uint32Array;
  readonly names: NameView;
  /** Function k's name as a string (made on each call: for errors and views). */
  readonly nameOf: (k: number) => string;
  readonly unwind: ReadonlyArray<Unwind | undefined>;
  /** First relocation row of each function: function k's rows run to the next function's first, or to `relocCount`. */
  readonly relocStart: Int32Array;
  readonly relocCount: number;
}

/** Every function's relocations, in item order (what `fn.relocations` is rebuilt from). */
export interface RelocationColumns {
  readonly offset: Uint32Array;
  /** Index into `RELOCATION_KINDS`. */
  readonly kind: Uint8Array;
  /** Row k's call target as a string (made on each call), undefined for a host call. */
  readonly targetOf: (row: number) => string | undefined;
  readonly addend: Float64Array;
  readonly hostCall: Uint8Array;
}

/** Patches as columns, applied in order: the use `uses[use[k]]` at `at[k]` reaches `label[k]`. */
export interface PatchColumns {
  readonly count: number;
  readonly at: Uint32Array;
  readonly label: Uint32Array;
  readonly use: Uint8Array;
  readonly uses: ReadonlyArray<LabelUse>;
}

/** Call sites as columns: row k is the k-th call relocation of the module. */
export interface CallColumns {
  readonly count: number;
  readonly caller: Int32Array;
  /** Row in the relocation columns. */
  readonly reloc: Int32Array;
  readonly target: Int32Array;
  readonly at: Uint32Array;
  /** Text offset of the call's veneer, or −1; undefined when no call goes through one (no column of 10⁶ −1s). */
  readonly veneer: Float64Array | undefined;
}

/** Relocation kind codes: index into this list (one list with the schema's: `schema/kinds.ts`). */
export { RELOCATION_KINDS };

export interface TextPlanParts {
  readonly header: Header;
  readonly target: Target;
  readonly fns: FunctionColumns;
  readonly relocs: RelocationColumns;
  readonly text: TextStore;
  readonly paddings: ReadonlyArray<PlacedPadding>;
  readonly islands: ReadonlyArray<Island>;
  readonly patchColumns: PatchColumns;
  readonly hostCalls: ReadonlyArray<HostCallWrite>;
  readonly callColumns: CallColumns;
  /** `.text` length before page padding. */
  readonly textLength: number;
  /** `.text` size after padding to the target's text alignment (Wasmtime's `text_section_size`). */
  readonly textSize: number;
}

/** Relocation rows `[from, to)` (one function's), rebuilt as the schema's values. */
const relocationsOf = (r: RelocationColumns, from: number, to: number): Relocation[] => {
  const out = new Array<Relocation>(to - from);
  for (let j = from; j < to; j++) {
    const kind = RELOCATION_KINDS[r.kind[j]!]!;
    out[j - from] =
      kind === "PulleyCallIndirectHost"
        ? { offset: r.offset[j]!, kind, hostCall: r.hostCall[j]!, addend: r.addend[j]! }
        : { offset: r.offset[j]!, kind, target: r.targetOf(j)!, addend: r.addend[j]! };
  }
  return out;
};

// The class and this interface merge: a `TextPlan` has every field of its parts.
export interface TextPlan extends TextPlanParts {}

/** Function k rebuilt from its rows: equal to the item it was stepped from, not the same object. */
export const functionItemOf = (f: FunctionColumns, r: RelocationColumns, text: TextStore, k: number): FunctionItem => {
  const name = f.nameOf(k);
  const body = text.body(k, f.offset[k]!, f.length[k]!);
  const alignment = 2 ** f.alignmentLog2[k]!;
  const relocations = relocationsOf(r, f.relocStart[k]!, k + 1 < f.count ? f.relocStart[k + 1]! : f.relocCount);
  const unwind = f.unwind[k];
  return unwind === undefined ? { type: "function", name, body, alignment, relocations } : { type: "function", name, body, alignment, relocations, unwind };
};

export class TextPlan {
  #functions: ReadonlyArray<PlacedFunction> | undefined;
  #patches: ReadonlyArray<Patch> | undefined;
  #calls: ReadonlyArray<CallSite> | undefined;

  constructor(p: TextPlanParts) {
    Object.assign(this, p);
  }

  /** Function k as the module stated it (body, relocations and unwind rebuilt from the columns). */
  functionItem(k: number): FunctionItem {
    return functionItemOf(this.fns, this.relocs, this.text, k);
  }

  /** The placed functions as objects (built on first use: tests and tools). */
  get functions(): ReadonlyArray<PlacedFunction> {
    if (this.#functions === undefined) {
      const f = this.fns;
      this.#functions = Array.from({ length: f.count }, (_, k) => ({ index: k, item: f.item[k]!, offset: f.offset[k]!, fn: this.functionItem(k) }));
    }
    return this.#functions;
  }

  /** The patches as objects, in the order they are applied. */
  get patches(): ReadonlyArray<Patch> {
    if (this.#patches === undefined) {
      const p = this.patchColumns;
      this.#patches = Array.from({ length: p.count }, (_, k) => ({ at: p.at[k]!, use: p.uses[p.use[k]!]!, label: p.label[k]! }));
    }
    return this.#patches;
  }

  /** The call sites as objects, in module order. */
  get calls(): ReadonlyArray<CallSite> {
    if (this.#calls === undefined) {
      const c = this.callColumns;
      const r = this.relocs;
      this.#calls = Array.from({ length: c.count }, (_, k) => {
        const row = c.reloc[k]!;
        const site = { caller: c.caller[k]!, offset: r.offset[row]!, kind: RELOCATION_KINDS[r.kind[row]!]!, target: c.target[k]!, at: c.at[k]! };
        const veneer = c.veneer === undefined ? -1 : c.veneer[k]!;
        return veneer < 0 ? site : { ...site, veneer };
      });
    }
    return this.#calls;
  }
}
