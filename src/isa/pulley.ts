/**
 * Pulley: a 4-byte pc-relative call offset, little-endian even on big-endian
 * Pulley (Cranelift `PcRel`), and the host-call number of
 * `call_indirect_host` written at site + 3 (reference §5.4, §6).
 */
import { readU32LE, writeU32LE } from "./patch.js";
import { callKinds, type Isa, type LabelUse } from "./types.js";

const PcRel: LabelUse = {
  name: "PcRel",
  siteSize: 4,
  maxPos: 0x7fffffff,
  maxNeg: 0x80000000,
  align: 1,
  patch: (b, at, delta) => writeU32LE(b, at, (readU32LE(b, at) + delta) >>> 0),
};

/** `call_indirect_host` is 4 bytes: the extended-op byte, a u16 opcode, then the host-call number. */
export const HOST_CALL_SITE_SIZE = 4;
export const HOST_CALL_BYTE = 3;

export const pulley: Isa = {
  arch: "pulley",
  calls: callKinds({ kind: "PulleyPcRel", addend: 0, use: PcRel }),
  worstCaseVeneer: 0,
  minFunctionAlign: 1,
};
