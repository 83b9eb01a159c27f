/**
 * riscv64: the `auipc`+`jalr` pair of a call (Cranelift `PCRel32`): Δ split
 * into hi20/lo12 with lo12 in [−2048, 2047], OR-ed into both words together
 * with their opcodes (reference §5.4). No veneers for inter-function calls.
 */
import { readU32LE, writeU32LE } from "./patch.js";
import { callKinds, type Isa, type LabelUse } from "./types.js";

const AUIPC = 0b0010111;
const JALR = 0b1100111;

/** (hi20, lo12) with Δ = hi20·4096 + lo12 and lo12 in [−2048, 2047]. */
export const riscvSplit = (delta: number): { hi20: number; lo12: number } => {
  const hi20 = Math.floor((delta + 0x800) / 4096);
  return { hi20, lo12: delta - hi20 * 4096 };
};

const PCRel32: LabelUse = {
  name: "PCRel32",
  siteSize: 8,
  maxPos: 0x7ffff7ff,
  maxNeg: 0x80000800,
  align: 2,
  patch: (b, at, delta) => {
    const { hi20, lo12 } = riscvSplit(delta);
    writeU32LE(b, at, (readU32LE(b, at) | AUIPC | ((hi20 & 0xfffff) << 12)) >>> 0);
    writeU32LE(b, at + 4, (readU32LE(b, at + 4) | JALR | ((lo12 & 0xfff) << 20)) >>> 0);
  },
};

export const riscv64: Isa = {
  arch: "riscv64",
  calls: callKinds({ kind: "RiscvCallPlt", addend: "any", use: PCRel32 }),
  worstCaseVeneer: 0,
  minFunctionAlign: 2,
};
