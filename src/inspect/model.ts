/**
 * What `objfold inspect` recovers from an object: the `objfold-inspect/v1`
 * description. Every value is plain JSON (numbers, strings, booleans, null,
 * arrays, objects), so `JSON.stringify` of an `Inspection` is the `--json`
 * output; `docs/inspect.md` documents every field.
 *
 * Offsets called "text offset" count from the first byte of `.text` (the
 * function symbols' `st_value`); "relative" offsets count from the start of
 * the function they belong to (as the records' `at`).
 *
 * @example
 *   const r = inspectObject(bytes);   // Either<Inspection, ObjfoldError>
 *   // r.right.functions[0] → { name: "mix", offset: 0, size: 18, calls: [], unwind: { kind: "systemv", … } }
 */
import type { CfaInstruction, WinArm64Code, WinX64Code } from "../schema/records.js";
import type { Arch, UnwindAbi } from "../target.js";

/** The schema name and version of the JSON form; a change that removes or renames a field bumps it. */
export const INSPECT_SCHEMA = "objfold-inspect/v1" as const;

export interface ElfHeaderView {
  readonly class: "ELF64";
  readonly byteOrder: "little" | "big";
  readonly osAbi: number;
  readonly abiVersion: number;
  /** e_type (1 = ET_REL). */
  readonly type: number;
  readonly machine: number;
  /** e_flags. */
  readonly flags: number;
  readonly sectionHeaderOffset: number;
  readonly sectionCount: number;
  readonly sectionNameTable: number;
}

export interface TargetView {
  readonly arch: Arch;
  /** The supported triples (records.md) that give an object with this architecture, byte order, text alignment, Pulley width and unwind sections. */
  readonly triples: ReadonlyArray<string>;
  readonly textAlign: number;
  /** Which unwind tables the object carries ("none" when it has none, whatever the target). */
  readonly unwind: UnwindAbi;
  /** Pulley's pointer width from e_flags (`EF_WASMTIME_PULLEY32`/`64`), null on native targets. */
  readonly pulley: 32 | 64 | null;
  /** The Wasmtime artifact kind from e_flags (`EF_WASMTIME_MODULE`/`COMPONENT`), null when the object is not marked. */
  readonly wasmtime: "module" | "component" | null;
}

export interface SectionView {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  /** SHT_* name without the prefix ("PROGBITS", "SYMTAB", …), or "0x…" when unknown. */
  readonly typeName: string;
  readonly offset: number;
  readonly size: number;
  readonly align: number;
  readonly flags: number;
  /** SHF_* names without the prefix; Pulley's `.text` flag 0x1 reads "WRITE" here (Wasmtime's SH_WASMTIME_NOT_EXECUTED has the same value). */
  readonly flagNames: ReadonlyArray<string>;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
}

export interface SymbolView {
  readonly index: number;
  readonly name: string;
  /** Text offset (st_value). */
  readonly value: number;
  readonly size: number;
  /** STT_* name without the prefix, or the number as a string. */
  readonly type: string;
  /** STB_* name without the prefix, or the number as a string. */
  readonly bind: string;
  /** STV_* name without the prefix. */
  readonly visibility: string;
  readonly section: number;
}

export interface TextView {
  readonly section: number;
  readonly fileOffset: number;
  /** sh_size: Wasmtime's text_section_size S, padded to the text alignment. */
  readonly size: number;
  /** First byte after the last function or veneer: what follows up to `size` is padding. */
  readonly end: number;
}

/** A call found in a function's bytes (see "The call scan" in docs/inspect.md). */
export interface CallView {
  /** Text offset of the call instruction. */
  readonly instruction: number;
  /** Text offset of the relocation site the encoder patched (the record's `offset` + the function's offset). */
  readonly site: number;
  readonly mnemonic: string;
  /** Text offset where control ends up: the callee's start. */
  readonly target: number;
  /** Name of the function starting at `target`, null when none is known there. */
  readonly function: string | null;
  /** Text offset of the veneer the call goes through, null for a direct call. */
  readonly veneer: number | null;
}

/** A CFA rule of an unwind row. */
export type CfaRuleView = { readonly register: number; readonly offset: number } | { readonly expression: string };

/** A register rule of an unwind row. */
export type RegisterRuleView =
  | { readonly register: number; readonly rule: "undefined" | "sameValue" }
  | { readonly register: number; readonly rule: "offset" | "valOffset"; readonly offset: number }
  | { readonly register: number; readonly rule: "register"; readonly fromRegister: number }
  | { readonly register: number; readonly rule: "expression" | "valExpression"; readonly expression: string };

/** One row of a SystemV unwind table: the rules for relative addresses [start, end). */
export interface UnwindRowView {
  readonly start: number;
  readonly end: number;
  readonly cfa: CfaRuleView | null;
  readonly registers: ReadonlyArray<RegisterRuleView>;
}

/** A SystemV instruction: the record form, or one the records cannot carry (with its DWARF expression as hex). */
export type CfaInstructionView =
  | CfaInstruction
  | { readonly at: number; readonly op: "defCfaExpression"; readonly expression: string }
  | { readonly at: number; readonly op: "expression" | "valExpression"; readonly register: number; readonly expression: string }
  | { readonly at: number; readonly op: "negateRaState" };

export interface SystemVUnwindView {
  readonly kind: "systemv";
  /** Offset of the FDE in `.eh_frame`, and of the CIE it uses. */
  readonly fde: number;
  readonly cie: number;
  /** Text offset the FDE starts at (its pc-relative pc_begin, `.eh_frame` placed at text + S). */
  readonly pcBegin: number;
  readonly pcRange: number;
  /** The FDE's instructions in record form (`records.md`): `at` and offsets in bytes, factors applied. */
  readonly instructions: ReadonlyArray<CfaInstructionView>;
  /** The unwind table (CIE initial instructions, then the FDE's), rows merged where the rules repeat; null with `rowsProblem` when the program cannot be run. */
  readonly rows: ReadonlyArray<UnwindRowView> | null;
  readonly rowsProblem: string | null;
}

export interface WindowsX64UnwindView {
  readonly kind: "windowsX64";
  /** Byte offset of the entry in `.pdata`, its begin/end text offsets and its UNWIND_INFO RVA. */
  readonly pdata: number;
  readonly begin: number;
  readonly end: number;
  readonly unwindInfo: number;
  /** Offset of the UNWIND_INFO in `.xdata`. */
  readonly xdata: number;
  readonly flags: number;
  readonly prologueSize: number;
  readonly frameRegister: number | null;
  readonly frameRegisterOffset: number;
  /** The codes in prologue order (the record's `windowsX64` codes). */
  readonly codes: ReadonlyArray<WinX64Code>;
}

export interface Arm64FragmentView {
  readonly pdata: number;
  /** Text offset and length the fragment covers. */
  readonly begin: number;
  readonly length: number;
  /** Offset of the fragment's record in `.xdata`. */
  readonly xdata: number;
  /** False for the continuation fragments of a function longer than 1 MiB − 4 (codes bracketed by `end_c`). */
  readonly hasPrologue: boolean;
  readonly codeWords: number;
}

export interface WindowsArm64UnwindView {
  readonly kind: "windowsArm64";
  readonly fragments: ReadonlyArray<Arm64FragmentView>;
  /** The first fragment's codes in prologue order (the record's `windowsArm64` codes). */
  readonly codes: ReadonlyArray<WinArm64Code>;
}

export type UnwindView = SystemVUnwindView | WindowsX64UnwindView | WindowsArm64UnwindView;

export interface FunctionView {
  readonly name: string;
  /** Text offset of the first byte. */
  readonly offset: number;
  readonly size: number;
  /** Where the function came from: its symbol, or (without symbols) its FDE or `.pdata` entry. */
  readonly source: "symbol" | "fde" | "pdata";
  /** Calls in this function, by ascending instruction offset. */
  readonly calls: ReadonlyArray<CallView>;
  readonly unwind: UnwindView | null;
}

export interface VeneerView {
  readonly offset: number;
  readonly size: number;
  /** Text offset of the 4-byte slot holding the distance to the target. */
  readonly slot: number;
  readonly target: number;
  readonly function: string | null;
}

/** A run of back-to-back veneers between functions (or after the last one). */
export interface IslandView {
  readonly offset: number;
  readonly end: number;
  readonly veneers: ReadonlyArray<VeneerView>;
}

/** Bytes of `.text` outside every function and veneer: alignment fill, padding items, page padding. */
export interface PaddingView {
  readonly offset: number;
  readonly size: number;
}

export interface CieView {
  readonly offset: number;
  readonly size: number;
  readonly version: number;
  readonly augmentation: string;
  readonly codeAlign: number;
  readonly dataAlign: number;
  readonly returnAddressRegister: number;
  readonly fdeEncoding: number;
  readonly initialInstructions: ReadonlyArray<CfaInstructionView>;
}

export type UnwindTablesView =
  | {
      readonly kind: "systemv";
      readonly section: number;
      /** Run-time address of `.eh_frame` relative to `.text` (S: it follows the padded text). */
      readonly address: number;
      readonly cies: ReadonlyArray<CieView>;
      readonly fdes: number;
      /** Offset of the zero terminator, null when the section has none. */
      readonly terminator: number | null;
    }
  | {
      readonly kind: "windowsX64" | "windowsArm64";
      readonly xdataSection: number;
      readonly pdataSection: number;
      /** RVA of `.xdata` relative to `.text` (S). */
      readonly xdataAddress: number;
      readonly entries: number;
    };

export interface Inspection {
  readonly schema: typeof INSPECT_SCHEMA;
  readonly fileSize: number;
  readonly elf: ElfHeaderView;
  readonly target: TargetView;
  readonly sections: ReadonlyArray<SectionView>;
  /** Every symbol but the null one. */
  readonly symbols: ReadonlyArray<SymbolView>;
  readonly text: TextView;
  /** By ascending offset (symbol order for functions at the same offset). */
  readonly functions: ReadonlyArray<FunctionView>;
  readonly islands: ReadonlyArray<IslandView>;
  readonly padding: ReadonlyArray<PaddingView>;
  readonly unwindTables: UnwindTablesView | null;
  /** Things that are readable but not as objfold writes them (one sentence each). */
  readonly warnings: ReadonlyArray<string>;
}
