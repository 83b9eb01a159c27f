/** x86_64: `call rel32` (Cranelift `JmpRel32`), no veneers (reference §5.4). */
import { readU32LE, writeU32LE } from "./patch.js";
import { callKinds, type Isa, type LabelUse } from "./types.js";

/**
 * The patch adds to what the body holds at the site, minus 4 (Cranelift emits 0 there).
 *
 * Range: the rel32 counts from the end of the field (site + 4), so it holds
 * Δ − 4 and must fit an i32. Cranelift's `JmpRel32` allows Δ down to −2^31,
 * where Δ − 4 wraps to a large positive displacement: a silently wrong call.
 * objfold refuses Δ < −2^31 + 4 instead (deliberate difference; found by the
 * decode law in laws/calls.test.ts).
 */
const JmpRel32: LabelUse = {
  name: "JmpRel32",
  siteSize: 4,
  maxPos: 0x7fffffff,
  maxNeg: 0x80000000 - 4,
  align: 1,
  patch: (b, at, delta) => writeU32LE(b, at, (readU32LE(b, at) + delta - 4) >>> 0),
};

export const x86_64: Isa = {
  arch: "x86_64",
  calls: callKinds({ kind: "X86CallPCRel4", addend: -4, use: JmpRel32 }),
  worstCaseVeneer: 0,
  minFunctionAlign: 1,
};
