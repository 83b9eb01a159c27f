/**
 * What the importer needs to know per architecture: which ELF relocations in
 * gcc's output are calls the module format can carry, which are already
 * resolved by the assembler, and which `.eh_frame` relocations name an FDE's
 * function. Relocation numbers are the psABI values (`elf.h` names kept).
 */
import type { CallRelocationKind } from "../schema/records.js";
import type { Arch } from "../target.js";
import { EM_AARCH64, EM_RISCV, EM_S390, EM_X86_64 } from "../target.js";

/** A call relocation becomes a record relocation with this kind and addend; the site is `siteSize` bytes at r_offset. */
export interface CallRule {
  readonly kind: CallRelocationKind;
  readonly addend: number;
  readonly siteSize: number;
}

/** RISC-V branch immediates the assembler fills in itself when the target is in the same section. */
export type BranchFormat = "B" | "J" | "CB" | "CJ";

export type TextRule =
  | { readonly kind: "call"; readonly rule: CallRule }
  /** A marker with no effect on the bytes (R_*_NONE, R_RISCV_RELAX). */
  | { readonly kind: "ignore" }
  /** A branch inside the function, already encoded; the importer checks the encoded displacement. */
  | { readonly kind: "localBranch"; readonly format: BranchFormat }
  | { readonly kind: "unsupported"; readonly reason: string };

export interface ImportArch {
  readonly arch: Exclude<Arch, "pulley">;
  readonly machine: number;
  /** The triple written into the module header. */
  readonly triple: string;
  readonly littleEndian: boolean;
  /** Smallest function alignment the target's code needs (reference §7). */
  readonly minAlign: number;
  /** ELF name of a relocation type, `type N` when unknown here. */
  readonly relocName: (type: number) => string;
  readonly text: (type: number) => TextRule;
  /** How a `.eh_frame` pointer relocation computes its field: pc-relative or absolute. */
  readonly ehPointer: (type: number) => "pcrel" | "abs" | undefined;
  /**
   * Label-difference relocations in `.eh_frame` (RISC-V writes pc_range and
   * advance_loc deltas as `end − start` for a relaxing linker): how each one
   * changes its field.
   */
  readonly ehDifference: (type: number) => Difference | undefined;
}

/** `set`: field = S + A; `add`: field += S + A; `sub`: field −= S + A; over the low `width` bits. */
export interface Difference {
  readonly op: "set" | "add" | "sub";
  readonly width: 6 | 8 | 16 | 32 | 64;
}

const DATA_REFERENCE = "not a call: the module format has only function-to-function calls";

const names =
  (prefix: string, table: Record<number, string>) =>
  (type: number): string => {
    const n = table[type];
    return n === undefined ? `type ${type}` : prefix + n;
  };

// ---------------------------------------------------------------- x86_64 (psABI §4.4)

const R_X86_64_NONE = 0;
const R_X86_64_64 = 1;
const R_X86_64_PC32 = 2;
const R_X86_64_PLT32 = 4;
const R_X86_64_PC64 = 24;

const x86_64: ImportArch = {
  arch: "x86_64",
  machine: EM_X86_64,
  triple: "x86_64-unknown-linux-gnu",
  littleEndian: true,
  minAlign: 1,
  relocName: names("R_X86_64_", { 0: "NONE", 1: "64", 2: "PC32", 3: "GOT32", 4: "PLT32", 9: "GOTPCREL", 10: "32", 11: "32S", 24: "PC64", 41: "GOTPCRELX", 42: "REX_GOTPCRELX" }),
  text: (t) =>
    t === R_X86_64_PLT32 || t === R_X86_64_PC32
      ? { kind: "call", rule: { kind: "X86CallPCRel4", addend: -4, siteSize: 4 } }
      : t === R_X86_64_NONE
        ? { kind: "ignore" }
        : { kind: "unsupported", reason: DATA_REFERENCE },
  ehPointer: (t) => (t === R_X86_64_PC32 || t === R_X86_64_PC64 ? "pcrel" : t === R_X86_64_64 ? "abs" : undefined),
  ehDifference: () => undefined,
};

// ---------------------------------------------------------------- aarch64 (AAELF64 §5.7)

const R_AARCH64_NONE = 0;
const R_AARCH64_ABS64 = 257;
const R_AARCH64_PREL64 = 260;
const R_AARCH64_PREL32 = 261;
const R_AARCH64_JUMP26 = 282;
const R_AARCH64_CALL26 = 283;

const aarch64: ImportArch = {
  arch: "aarch64",
  machine: EM_AARCH64,
  triple: "aarch64-unknown-linux-gnu",
  littleEndian: true,
  minAlign: 4,
  relocName: names("R_AARCH64_", {
    0: "NONE",
    257: "ABS64",
    258: "ABS32",
    260: "PREL64",
    261: "PREL32",
    275: "ADR_PREL_PG_HI21",
    277: "ADD_ABS_LO12_NC",
    279: "TSTBR14",
    280: "CONDBR19",
    282: "JUMP26",
    283: "CALL26",
    286: "LDST64_ABS_LO12_NC",
    311: "ADR_GOT_PAGE",
    312: "LD64_GOT_LO12_NC",
  }),
  text: (t) =>
    t === R_AARCH64_CALL26 || t === R_AARCH64_JUMP26
      ? { kind: "call", rule: { kind: "Arm64Call", addend: 0, siteSize: 4 } }
      : t === R_AARCH64_NONE
        ? { kind: "ignore" }
        : { kind: "unsupported", reason: DATA_REFERENCE },
  ehPointer: (t) => (t === R_AARCH64_PREL32 || t === R_AARCH64_PREL64 ? "pcrel" : t === R_AARCH64_ABS64 ? "abs" : undefined),
  ehDifference: () => undefined,
};

// ---------------------------------------------------------------- riscv64 (RISC-V ELF psABI, "Relocations")

const R_RISCV_NONE = 0;
const R_RISCV_64 = 2;
const R_RISCV_BRANCH = 16;
const R_RISCV_JAL = 17;
const R_RISCV_CALL = 18;
const R_RISCV_CALL_PLT = 19;
const R_RISCV_ALIGN = 43;
const R_RISCV_RVC_BRANCH = 44;
const R_RISCV_RVC_JUMP = 45;
const R_RISCV_RELAX = 51;
const R_RISCV_32_PCREL = 57;

// R_RISCV_ADD8…ADD64 (33–36), SUB8…SUB64 (37–40), SUB6 (52), SET6…SET32 (53–56).
const RISCV_DIFFERENCES: ReadonlyMap<number, Difference> = new Map<number, Difference>([
  [33, { op: "add", width: 8 }],
  [34, { op: "add", width: 16 }],
  [35, { op: "add", width: 32 }],
  [36, { op: "add", width: 64 }],
  [37, { op: "sub", width: 8 }],
  [38, { op: "sub", width: 16 }],
  [39, { op: "sub", width: 32 }],
  [40, { op: "sub", width: 64 }],
  [52, { op: "sub", width: 6 }],
  [53, { op: "set", width: 6 }],
  [54, { op: "set", width: 8 }],
  [55, { op: "set", width: 16 }],
  [56, { op: "set", width: 32 }],
]);

const riscv64: ImportArch = {
  arch: "riscv64",
  machine: EM_RISCV,
  triple: "riscv64gc-unknown-linux-gnu",
  littleEndian: true,
  minAlign: 2,
  relocName: names("R_RISCV_", {
    0: "NONE",
    1: "32",
    2: "64",
    16: "BRANCH",
    17: "JAL",
    18: "CALL",
    19: "CALL_PLT",
    20: "GOT_HI20",
    23: "PCREL_HI20",
    24: "PCREL_LO12_I",
    25: "PCREL_LO12_S",
    26: "HI20",
    27: "LO12_I",
    28: "LO12_S",
    33: "ADD8",
    34: "ADD16",
    35: "ADD32",
    36: "ADD64",
    37: "SUB8",
    38: "SUB16",
    39: "SUB32",
    40: "SUB64",
    43: "ALIGN",
    44: "RVC_BRANCH",
    45: "RVC_JUMP",
    51: "RELAX",
    52: "SUB6",
    53: "SET6",
    54: "SET8",
    55: "SET16",
    56: "SET32",
    57: "32_PCREL",
  }),
  text: (t) => {
    switch (t) {
      case R_RISCV_CALL_PLT:
      case R_RISCV_CALL:
        return { kind: "call", rule: { kind: "RiscvCallPlt", addend: 0, siteSize: 8 } };
      case R_RISCV_NONE:
      case R_RISCV_RELAX:
        return { kind: "ignore" };
      case R_RISCV_BRANCH:
        return { kind: "localBranch", format: "B" };
      case R_RISCV_JAL:
        return { kind: "localBranch", format: "J" };
      case R_RISCV_RVC_BRANCH:
        return { kind: "localBranch", format: "CB" };
      case R_RISCV_RVC_JUMP:
        return { kind: "localBranch", format: "CJ" };
      case R_RISCV_ALIGN:
        return { kind: "unsupported", reason: "alignment padding only a relaxing linker can fix (compile with -mno-relax)" };
      default:
        return { kind: "unsupported", reason: DATA_REFERENCE };
    }
  },
  ehPointer: (t) => (t === R_RISCV_32_PCREL ? "pcrel" : t === R_RISCV_64 ? "abs" : undefined),
  ehDifference: (t) => RISCV_DIFFERENCES.get(t),
};

// ---------------------------------------------------------------- s390x (s390x ELF ABI, "Relocation Types")

const R_390_NONE = 0;
const R_390_PC32 = 5;
const R_390_PC32DBL = 19;
const R_390_PLT32DBL = 20;
const R_390_64 = 22;
const R_390_PC64 = 23;

const s390x: ImportArch = {
  arch: "s390x",
  machine: EM_S390,
  triple: "s390x-unknown-linux-gnu",
  littleEndian: false,
  minAlign: 4,
  relocName: names("R_390_", { 0: "NONE", 4: "32", 5: "PC32", 17: "PC16DBL", 19: "PC32DBL", 20: "PLT32DBL", 22: "64", 23: "PC64", 26: "GOTENT" }),
  text: (t) =>
    t === R_390_PLT32DBL
      ? { kind: "call", rule: { kind: "S390xPLTRel32Dbl", addend: 2, siteSize: 4 } }
      : t === R_390_PC32DBL
        ? { kind: "call", rule: { kind: "S390xPCRel32Dbl", addend: 2, siteSize: 4 } }
        : t === R_390_NONE
          ? { kind: "ignore" }
          : { kind: "unsupported", reason: DATA_REFERENCE },
  ehPointer: (t) => (t === R_390_PC32 || t === R_390_PC64 ? "pcrel" : t === R_390_64 ? "abs" : undefined),
  ehDifference: () => undefined,
};

const BY_MACHINE: ReadonlyMap<number, ImportArch> = new Map([x86_64, aarch64, riscv64, s390x].map((a) => [a.machine, a]));

/** The import rules for an ELF e_machine, if it is one objfold targets. */
export const importArchOf = (machine: number): ImportArch | undefined => BY_MACHINE.get(machine);
