/**
 * Register names for the human-readable output: DWARF numbers per
 * architecture (reference §2; the psABIs' DWARF register tables) and
 * Windows x64 machine encodings. The JSON keeps the numbers.
 */
import type { Arch } from "../target.js";

const X86_64_DWARF = ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "ra"];
const RISCV_ABI = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"];
/** s390x DWARF 16..31 are f0, f2, f4, f6, f1, f3, f5, f7, f8, f10, f12, f14, f9, f11, f13, f15. */
const S390X_FPR = [0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15];

/** The name of DWARF register `n` on `arch`, or `r<n>` when it has none here. */
export const dwarfRegister = (arch: Arch, n: number): string => {
  switch (arch) {
    case "x86_64":
      if (n < X86_64_DWARF.length) return X86_64_DWARF[n]!;
      if (n >= 17 && n <= 32) return `xmm${n - 17}`;
      break;
    case "aarch64":
      if (n <= 30) return n === 29 ? "x29" : n === 30 ? "x30" : `x${n}`;
      if (n === 31) return "sp";
      if (n === 34) return "ra_sign_state";
      if (n >= 64 && n <= 95) return `v${n - 64}`;
      break;
    case "riscv64":
      if (n < 32) return RISCV_ABI[n]!;
      if (n < 64) return `f${n - 32}`;
      if (n < 96) return `v${n - 64}`;
      break;
    case "s390x":
      if (n < 16) return `r${n}`;
      if (n < 32) return `f${S390X_FPR[n - 16]!}`;
      break;
    case "pulley":
      break;
  }
  return `r${n}`;
};

const X64_MACHINE = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

/** Windows x64 machine register encoding `n` (0 = rax … 15 = r15). */
export const x64Register = (n: number): string => X64_MACHINE[n] ?? `r?${n}`;
