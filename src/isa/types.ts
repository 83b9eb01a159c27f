/**
 * What the layout needs to know about an architecture: its call relocation
 * kinds (Cranelift's `LabelUse`: accepted addend, range, patch, veneer).
 * Adding a target is adding a file under `isa/`.
 */
import type { CallRelocationKind } from "../schema/records.js";
import type { Arch } from "../target.js";

/** A label use: how a site reaches a label, Δ = label − site (reference §5.4). */
export interface LabelUse {
  readonly name: string;
  /** Bytes at the site that the patch rewrites. */
  readonly siteSize: number;
  /** Largest forward Δ and largest backward |Δ|. */
  readonly maxPos: number;
  readonly maxNeg: number;
  /** Sites, labels and veneers of this use are aligned to this (LabelUse::ALIGN). */
  readonly align: number;
  /** Rewrite the site at `at` in `text` (a buffer holding the placed bytes) for distance Δ. */
  readonly patch: (text: Uint8Array, at: number, delta: number) => void;
  readonly veneer?: Veneer;
}

/** A veneer a use can be routed through when the label is out of reach (or forced). */
export interface Veneer {
  readonly size: number;
  /** Write the veneer's instructions at `at`; its own use of the label is `use` at `at + useOffset`. */
  readonly write: (text: Uint8Array, at: number) => void;
  readonly useOffset: number;
  readonly use: LabelUse;
}

export interface CallKind {
  readonly kind: CallRelocationKind;
  /** The only addend Cranelift's `from_reloc` accepts, or "any" (riscv64 ignores it). */
  readonly addend: number | "any";
  readonly use: LabelUse;
}

export interface Isa {
  readonly arch: Arch;
  readonly calls: ReadonlyMap<string, CallKind>;
  /** Largest veneer any use of this ISA can need (MachBuffer's worst_case_veneer_size). */
  readonly worstCaseVeneer: number;
  /** Preferred minimum function alignment: not enforced, documented for users. */
  readonly minFunctionAlign: number;
}

export const callKinds = (...kinds: CallKind[]): ReadonlyMap<string, CallKind> => new Map(kinds.map((k) => [k.kind, k]));
