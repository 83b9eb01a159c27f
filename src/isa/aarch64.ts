/**
 * aarch64: `bl` imm26 (Cranelift `Branch26`, ±128 MiB). A use that cannot
 * reach goes through a 20-byte veneer whose own use is `PCRel32` (reference §5.4).
 */
import { readU32LE, writeU32LE } from "./patch.js";
import { callKinds, type Isa, type LabelUse } from "./types.js";

const PCRel32: LabelUse = {
  name: "PCRel32",
  siteSize: 4,
  maxPos: 0x7fffffff,
  maxNeg: 0x80000000,
  align: 4,
  patch: (b, at, delta) => writeU32LE(b, at, (readU32LE(b, at) + delta) >>> 0),
};

/** ldrsw x16, #16; adr x17, #12; add x16, x16, x17; br x16; .word label − (veneer + 16) */
export const VENEER_WORDS = [0x98000090, 0x10000071, 0x8b110210, 0xd61f0200] as const;
export const VENEER_SIZE = 20;

const Branch26: LabelUse = {
  name: "Branch26",
  siteSize: 4,
  maxPos: 0x7ffffff,
  maxNeg: 0x8000000,
  align: 4,
  patch: (b, at, delta) => writeU32LE(b, at, ((readU32LE(b, at) & 0xfc000000) | ((delta >> 2) & 0x03ffffff)) >>> 0),
  veneer: {
    size: VENEER_SIZE,
    useOffset: 16,
    use: PCRel32,
    write: (b, at) => {
      for (let i = 0; i < 4; i++) writeU32LE(b, at + 4 * i, VENEER_WORDS[i]!);
    },
  },
};

export const aarch64: Isa = {
  arch: "aarch64",
  calls: callKinds({ kind: "Arm64Call", addend: 0, use: Branch26 }),
  worstCaseVeneer: VENEER_SIZE,
  minFunctionAlign: 4,
};
