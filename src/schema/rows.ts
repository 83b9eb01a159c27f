/**
 * A function item as rows: what the fast decoder reads a line into and what
 * the fold reads, with no item object, no relocation objects and no buffer
 * per body on the way (docs/performance.md, "Fourth round": rows, not items).
 *
 * A transient builder: its owner (a scanner, or the fold turning an item
 * into rows) fills it again for every function, so it is valid until the
 * owner's next one, and whoever keeps something of it copies it. Internal:
 * it never crosses the API.
 */
import { RELOCATION_KINDS } from "./kinds.js";
import type { FunctionItem, SystemVUnwind, Unwind } from "./records.js";

const EMPTY = new Uint8Array(0);

/** `a`'s elements at the start of an array of its kind twice as long. */
const doubled = <T extends Uint8Array | Uint32Array | Float64Array>(a: T): T => {
  const b = new (a.constructor as new (length: number) => T)(2 * a.length);
  b.set(a);
  return b;
};

/**
 * Bodies at least this long are kept by the fold by reference (copying them
 * twice would cost more than the view they are held by; `layout/textStore.ts`),
 * so the decoder gives each a buffer or slab piece of its own; shorter ones
 * it decodes into scratch, which the fold copies.
 */
export const BY_REFERENCE = 256;

/** Relocation kind → its index in `RELOCATION_KINDS` (the code the rows and the plan store). */
export const KIND_CODE: Readonly<Record<string, number>> = Object.fromEntries(RELOCATION_KINDS.map((k, i) => [k, i]));

export class FunctionRows {
  readonly type = "rows" as const;
  /**
   * Where the names are: when set (the scanner), the function's name is
   * `src[nameStart, nameEnd)` and call k's target `src[targetStart[k],
   * targetEnd[k])`, UTF-8 (no string is made for them); when undefined (an
   * item), `name` and `target[k]`.
   */
  src: Uint8Array | undefined = undefined;
  nameStart = 0;
  nameEnd = 0;
  name = "";
  /** The body is `body[0, bodyLength)`: the whole of `body` when owned, the start of the owner's scratch when not. */
  body: Uint8Array = EMPTY;
  bodyLength = 0;
  /**
   * Whether `body` may be kept as it is: false when it is the owner's
   * scratch (small bodies, which the fold copies anyway: no view is made for
   * them), true for a buffer or slab piece nobody writes again (an item's
   * body, a large decoded one).
   */
  bodyOwned = true;
  /**
   * Whether the caller keeps `body` alive for as long as the fold needs it
   * (`stepMany`'s array of items): then even a small body is kept by
   * reference, not copied into the store's chunks.
   */
  bodyHeld = false;
  alignment = 1;
  unwind: Unwind | SystemVUnwind | undefined = undefined;
  /** Relocations: `count` rows. */
  count = 0;
  offset = new Uint32Array(4);
  /** Index into `RELOCATION_KINDS`. */
  kind = new Uint8Array(4);
  /** Call target; "" for a host call (an item's rows). */
  target: string[] = [];
  /** Call target as a range of `src` (the scanner's rows; 0, 0 for a host call). */
  targetStart = new Uint32Array(4);
  targetEnd = new Uint32Array(4);
  addend = new Float64Array(4);
  hostCall = new Uint8Array(4);

  /** Start a function: no relocations, no unwind record. */
  clear(): void {
    this.count = 0;
    this.unwind = undefined;
  }

  /** A relocation whose target is a string (an item's rows). */
  push(offset: number, kind: number, target: string, addend: number, hostCall: number): void {
    this.target[this.row(offset, kind, addend, hostCall)] = target;
  }

  /** A relocation whose target is `src[targetStart, targetEnd)` (the scanner's rows). */
  pushRange(offset: number, kind: number, targetStart: number, targetEnd: number, addend: number, hostCall: number): void {
    const k = this.row(offset, kind, addend, hostCall);
    this.targetStart[k] = targetStart;
    this.targetEnd[k] = targetEnd;
  }

  /** A new relocation row with the fields every relocation has; its index. */
  private row(offset: number, kind: number, addend: number, hostCall: number): number {
    const k = this.count;
    if (k === this.offset.length) {
      this.offset = doubled(this.offset);
      this.kind = doubled(this.kind);
      this.addend = doubled(this.addend);
      this.hostCall = doubled(this.hostCall);
      this.targetStart = doubled(this.targetStart);
      this.targetEnd = doubled(this.targetEnd);
    }
    this.offset[k] = offset;
    this.kind[k] = kind;
    this.addend[k] = addend;
    this.hostCall[k] = hostCall;
    this.count = k + 1;
    return k;
  }

  /** These rows hold `fn` (its body by reference: items are values); `held`: see `bodyHeld`. */
  fill(fn: FunctionItem, held = false): this {
    this.clear();
    this.src = undefined;
    this.name = fn.name;
    this.body = fn.body;
    this.bodyLength = fn.body.length;
    this.bodyOwned = true;
    this.bodyHeld = held;
    this.alignment = fn.alignment;
    this.unwind = fn.unwind;
    const rs = fn.relocations;
    for (let k = 0; k < rs.length; k++) {
      const r = rs[k]!;
      if (r.kind === "PulleyCallIndirectHost") this.push(r.offset, KIND_CODE[r.kind]!, "", r.addend, r.hostCall);
      else this.push(r.offset, KIND_CODE[r.kind]!, r.target, r.addend, 0);
    }
    return this;
  }
}
