/** x86_64: `call rel32` (Cranelift `JmpRel32`), no veneers (reference §5.4). */
import { readU32LE, writeU32LE } from "./patch.js";
import { callKinds, type Isa, type LabelUse } from "./types.js";

/** The patch adds to what the body holds at the site, minus 4 (Cranelift emits 0 there). */
const JmpRel32: LabelUse = {
  name: "JmpRel32",
  siteSize: 4,
  maxPos: 0x7fffffff,
  maxNeg: 0x80000000,
  align: 1,
  patch: (b, at, delta) => writeU32LE(b, at, (readU32LE(b, at) + delta - 4) >>> 0),
};

export const x86_64: Isa = {
  arch: "x86_64",
  calls: callKinds({ kind: "X86CallPCRel4", addend: -4, use: JmpRel32 }),
  worstCaseVeneer: 0,
  minFunctionAlign: 1,
};
