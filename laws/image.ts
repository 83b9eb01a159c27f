/**
 * A sparse image of a plan's `.text`: the function bodies, host-call bytes,
 * veneers and patches exactly as the object writer applies them, but only
 * where there are bytes (padding and alignment fill read as zero). Lets the
 * decoders check layouts of hundreds of MiB without writing them out.
 */
import type { TextPlan } from "../src/layout/plan.js";
import type { Reader } from "./decode/index.js";

interface Chunk {
  readonly start: number;
  readonly bytes: Uint8Array;
}

export const planImage = (plan: TextPlan): Reader => {
  // Bodies are read in place (never copied: some are 100 MiB of zeros); every
  // byte the writer changes in a body goes to `changed` instead.
  const chunks: Chunk[] = [];
  for (const f of plan.functions) if (f.fn.body.length > 0) chunks.push({ start: f.offset, bytes: f.fn.body });
  for (const i of plan.islands)
    for (const v of i.veneers) {
      const bytes = new Uint8Array(v.size);
      v.use.veneer!.write(bytes, 0);
      chunks.push({ start: v.offset, bytes });
    }
  chunks.sort((a, b) => a.start - b.start);
  const find = (at: number): Chunk | undefined => {
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = chunks[mid]!;
      if (at < c.start) hi = mid - 1;
      else if (at >= c.start + c.bytes.length) lo = mid + 1;
      else return c;
    }
    return undefined;
  };
  const changed = new Map<number, number>();
  const read: Reader = (at) => {
    const v = changed.get(at);
    if (v !== undefined) return v;
    const c = find(at);
    return c === undefined ? 0 : c.bytes[at - c.start]!;
  };
  for (const h of plan.hostCalls) changed.set(h.at, h.value);
  for (const p of plan.patches) {
    if (find(p.at) === undefined) throw new Error(`patch at ${p.at} outside every function and veneer`);
    const n = p.use.siteSize;
    const window = Uint8Array.from({ length: n }, (_, k) => read(p.at + k));
    p.use.patch(window, 0, p.label - p.at);
    window.forEach((b, k) => changed.set(p.at + k, b));
  }
  return read;
};
