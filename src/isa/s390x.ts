/**
 * s390x: the 32-bit halfword-scaled field of `brasl` (Cranelift `PCRel32Dbl`).
 * The site is the field, 2 bytes into the instruction; the big-endian word
 * gets (Δ >> 1) + 1 added (reference §5.4).
 */
import { readU32BE, writeU32BE } from "./patch.js";
import { callKinds, type Isa, type LabelUse } from "./types.js";

const PCRel32Dbl: LabelUse = {
  name: "PCRel32Dbl",
  siteSize: 4,
  maxPos: 0xfffffffc,
  maxNeg: 0xffffffff,
  align: 2,
  patch: (b, at, delta) => writeU32BE(b, at, (readU32BE(b, at) + Math.floor(delta / 2) + 1) >>> 0),
};

export const s390x: Isa = {
  arch: "s390x",
  calls: callKinds(
    { kind: "S390xPLTRel32Dbl", addend: 2, use: PCRel32Dbl },
    { kind: "S390xPCRel32Dbl", addend: 2, use: PCRel32Dbl },
  ),
  worstCaseVeneer: 0,
  minFunctionAlign: 2,
};
