/** The immutable layout plan: where everything in `.text` goes and which bytes get patched. */
import type { LabelUse } from "../isa/types.js";
import type { FunctionItem, Header } from "../schema/records.js";
import type { Target } from "../target.js";

export interface PlacedFunction {
  /** Function index (the n-th function item). */
  readonly index: number;
  /** Item index in the module (functions and padding counted). */
  readonly item: number;
  readonly offset: number;
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

export interface TextPlan {
  readonly header: Header;
  readonly target: Target;
  readonly functions: ReadonlyArray<PlacedFunction>;
  readonly paddings: ReadonlyArray<PlacedPadding>;
  readonly islands: ReadonlyArray<Island>;
  /** Applied in order after the bodies are copied and the host-call bytes written. */
  readonly patches: ReadonlyArray<Patch>;
  readonly hostCalls: ReadonlyArray<HostCallWrite>;
  readonly calls: ReadonlyArray<CallSite>;
  /** `.text` length before page padding. */
  readonly textLength: number;
  /** `.text` size after padding to the target's text alignment (Wasmtime's `text_section_size`). */
  readonly textSize: number;
}
