/**
 * `inspectObject(bytes)`: read an object objfold wrote back into the
 * `objfold-inspect/v1` description (`model.ts`, docs/inspect.md): sections,
 * symbols, functions with their calls and unwind data, islands, veneers and
 * padding. Pure: any bytes give a description or a typed error
 * (`MalformedObject`: unreadable; `UnsupportedObject`: readable, but not an
 * object objfold writes, such as gcc's `.o`), never an exception.
 *
 * What is recovered from where:
 * - the target: e_machine, byte order, e_flags (Pulley's width bit on the
 *   RISC-V machine, Wasmtime's module/component bits), `.text` alignment and
 *   which unwind sections exist;
 * - functions: the local STT_FUNC symbols in `.text`; without symbols (the
 *   header's `symbols: false`), one function per FDE (SystemV) or per
 *   `.pdata` entry (Windows; ARM64 fragments joined), named `fn@0x<offset>`;
 * - unwind data: FDEs through their pc-relative pc_begin, `.eh_frame` placed
 *   at text + S (the layout contract, reference §10); `.pdata` RVAs relative
 *   to `.text`, `.xdata` at text + S;
 * - calls, veneers, islands: `calls.ts`.
 *
 * @example
 *   Either.map(inspectObject(bytes), (d) => d.functions.map((f) => f.name))
 */
import { Either } from "effect";
import { type ElfFile, type ElfSection, type ElfSymbol, readElf, readSymbols, sectionByName, sectionData } from "../elf/read.js";
import type { ObjfoldError } from "../errors.js";
import { EF_WASMTIME_COMPONENT, EF_WASMTIME_MODULE, EF_WASMTIME_PULLEY32, EF_WASMTIME_PULLEY64, EM_AARCH64, EM_RISCV, EM_S390, EM_X86_64, parseTarget, SUPPORTED_TRIPLES, type Arch, type UnwindAbi } from "../target.js";
import { type EhFrame, fdeRows, type ParsedCfaInstruction, type ParsedFde, parseEhFrame, type RegisterRule, type UnwindRow } from "../unwind/systemv/parse.js";
import { scanCalls, scanVeneers } from "./calls.js";
import {
  type Arm64FragmentView,
  type CfaInstructionView,
  type CieView,
  type FunctionView,
  INSPECT_SCHEMA,
  type Inspection,
  type IslandView,
  type PaddingView,
  type RegisterRuleView,
  type SectionView,
  type SymbolView,
  type UnwindRowView,
  type UnwindTablesView,
  type UnwindView,
  type VeneerView,
} from "./model.js";
import { decodeArm64Xdata, decodeX64UnwindInfo, isProblem, type Problem, u32le } from "./windows.js";

const ET_REL = 1;
const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const STT_FUNC = 2;
const X64_PDATA_ENTRY = 12;
const ARM64_PDATA_ENTRY = 8;
/** Longest FDE program whose unwind rows are computed (see `fdeUnit`). */
export const MAX_ROW_INSTRUCTIONS = 4096;

/** The sections objfold writes, with their types: anything else means another producer. */
const OBJFOLD_SECTIONS: ReadonlyMap<string, number> = new Map([
  [".text", SHT_PROGBITS],
  [".eh_frame", SHT_PROGBITS],
  [".xdata", SHT_PROGBITS],
  [".pdata", SHT_PROGBITS],
  [".symtab", SHT_SYMTAB],
  [".strtab", SHT_STRTAB],
  [".shstrtab", SHT_STRTAB],
]);

const MACHINES: ReadonlyMap<number, Exclude<Arch, "pulley">> = new Map([
  [EM_X86_64, "x86_64"],
  [EM_AARCH64, "aarch64"],
  [EM_RISCV, "riscv64"],
  [EM_S390, "s390x"],
]);

const hex = (n: number): string => `0x${n.toString(16)}`;
const malformed = (reason: string): Either.Either<never, ObjfoldError> => Either.left({ _tag: "MalformedObject", reason });
const unsupported = (reason: string): Either.Either<never, ObjfoldError> => Either.left({ _tag: "UnsupportedObject", reason });
const fromProblem = (p: Problem): Either.Either<never, ObjfoldError> => Either.left(p);

export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** The name a function gets when the object has no symbols. */
export const anonymousName = (offset: number): string => `fn@${hex(offset)}`;

// ---------------------------------------------------------------- names of ELF values

const SHT_NAMES: Record<number, string> = { 0: "NULL", 1: "PROGBITS", 2: "SYMTAB", 3: "STRTAB", 4: "RELA", 5: "HASH", 6: "DYNAMIC", 7: "NOTE", 8: "NOBITS", 9: "REL", 11: "DYNSYM", 18: "SYMTAB_SHNDX" };
const SHF_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x1, "WRITE"],
  [0x2, "ALLOC"],
  [0x4, "EXECINSTR"],
  [0x10, "MERGE"],
  [0x20, "STRINGS"],
  [0x40, "INFO_LINK"],
  [0x80, "LINK_ORDER"],
  [0x100, "OS_NONCONFORMING"],
  [0x200, "GROUP"],
  [0x400, "TLS"],
  [0x800, "COMPRESSED"],
];
const STT_NAMES: Record<number, string> = { 0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE", 5: "COMMON", 6: "TLS" };
const STB_NAMES: Record<number, string> = { 0: "LOCAL", 1: "GLOBAL", 2: "WEAK" };
const STV_NAMES = ["DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED"] as const;

const flagNames = (flags: number): string[] => {
  const out: string[] = [];
  let rest = flags;
  for (const [bit, name] of SHF_NAMES)
    if ((flags & bit) !== 0) {
      out.push(name);
      rest -= bit;
    }
  if (rest !== 0) out.push(hex(rest));
  return out;
};

const sectionView = (s: ElfSection): SectionView => ({
  index: s.index,
  name: s.name,
  type: s.type,
  typeName: SHT_NAMES[s.type] ?? hex(s.type),
  offset: s.offset,
  size: s.size,
  align: s.addralign,
  flags: s.flags,
  flagNames: flagNames(s.flags),
  link: s.link,
  info: s.info,
  entsize: s.entsize,
});

// ---------------------------------------------------------------- SystemV views

const ruleView = (register: number, r: RegisterRule): RegisterRuleView => {
  switch (r.kind) {
    case "undefined":
    case "sameValue":
      return { register, rule: r.kind };
    case "offset":
    case "valOffset":
      return { register, rule: r.kind, offset: r.offset };
    case "register":
      return { register, rule: "register", fromRegister: r.register };
    case "expression":
    case "valExpression":
      return { register, rule: r.kind, expression: toHex(r.expression) };
  }
};

const rowView = (r: UnwindRow): UnwindRowView => ({
  start: r.start,
  end: r.end,
  cfa: r.cfa === undefined ? null : r.cfa.kind === "registerOffset" ? { register: r.cfa.register, offset: r.cfa.offset } : { expression: toHex(r.cfa.expression) },
  registers: r.registers.map((x) => ruleView(x.register, x.rule)),
});

export const instructionView = (i: ParsedCfaInstruction): CfaInstructionView => {
  switch (i.op) {
    case "defCfaExpression":
      return { at: i.at, op: i.op, expression: toHex(i.expression) };
    case "expression":
    case "valExpression":
      return { at: i.at, op: i.op, register: i.register, expression: toHex(i.expression) };
    default:
      return i;
  }
};

// ---------------------------------------------------------------- the target

interface TargetFacts {
  readonly arch: Arch;
  readonly pulley: 32 | 64 | null;
  readonly wasmtime: "module" | "component" | null;
}

const targetOf = (elf: ElfFile): Either.Either<TargetFacts, ObjfoldError> => {
  const h = elf.header;
  if (h.type !== ET_REL) return unsupported(`e_type is ${h.type}, not ET_REL (1): objfold writes relocatable objects`);
  const native = MACHINES.get(h.machine);
  if (native === undefined) return unsupported(`e_machine ${h.machine} is not one objfold writes (62 x86_64, 183 aarch64, 243 riscv64/Pulley, 22 s390x)`);
  const known = EF_WASMTIME_MODULE | EF_WASMTIME_COMPONENT | EF_WASMTIME_PULLEY32 | EF_WASMTIME_PULLEY64;
  if ((h.flags & ~known) !== 0) return unsupported(`e_flags ${hex(h.flags)} sets bits objfold never writes (it writes only Wasmtime's module/component and Pulley bits)`);
  const kind = h.flags & (EF_WASMTIME_MODULE | EF_WASMTIME_COMPONENT);
  if (kind === (EF_WASMTIME_MODULE | EF_WASMTIME_COMPONENT)) return unsupported(`e_flags ${hex(h.flags)} marks the object both a Wasmtime module and a component`);
  const width = h.flags & (EF_WASMTIME_PULLEY32 | EF_WASMTIME_PULLEY64);
  if (width === (EF_WASMTIME_PULLEY32 | EF_WASMTIME_PULLEY64)) return unsupported(`e_flags ${hex(h.flags)} sets both Pulley32 and Pulley64`);
  if (width !== 0 && native !== "riscv64") return unsupported(`e_flags ${hex(h.flags)} sets a Pulley bit on machine ${h.machine} (Pulley objects use the RISC-V machine)`);
  const arch: Arch = width === 0 ? native : "pulley";
  const bigEndianArch = arch === "s390x";
  if (arch !== "pulley" && bigEndianArch === h.littleEndian) return unsupported(`a ${h.littleEndian ? "little" : "big"}-endian ${arch} object (objfold writes ${arch} ${bigEndianArch ? "big" : "little"}-endian)`);
  return Either.right({
    arch,
    pulley: width === EF_WASMTIME_PULLEY32 ? 32 : width === EF_WASMTIME_PULLEY64 ? 64 : null,
    wasmtime: kind === EF_WASMTIME_MODULE ? "module" : kind === EF_WASMTIME_COMPONENT ? "component" : null,
  });
};

/** The supported triples that would give this object. */
const triplesOf = (t: TargetFacts, littleEndian: boolean, textAlign: number, unwind: UnwindAbi): string[] =>
  SUPPORTED_TRIPLES.filter((triple) => {
    const p = parseTarget(triple);
    if (Either.isLeft(p)) return false;
    const x = p.right;
    const width = x.archFlags === EF_WASMTIME_PULLEY32 ? 32 : x.archFlags === EF_WASMTIME_PULLEY64 ? 64 : null;
    return x.arch === t.arch && x.littleEndian === littleEndian && x.textAlign === textAlign && width === t.pulley && (unwind === "none" || x.unwindAbi === unwind);
  });

// ---------------------------------------------------------------- unwind units

/** A run of text an unwind table describes: one FDE, or one `.pdata` entry (ARM64: a function's fragments). */
interface Unit {
  readonly begin: number;
  readonly size: number;
  readonly what: string;
  readonly source: "fde" | "pdata";
  readonly unwind: UnwindView;
}

const systemvUnits = (elf: ElfFile, eh: ElfSection, textSize: number): Either.Either<{ units: Unit[]; tables: UnwindTablesView }, ObjfoldError> =>
  Either.gen(function* () {
    const frame: EhFrame = yield* parseEhFrame(sectionData(elf, eh), { littleEndian: elf.header.littleEndian, sectionAddress: BigInt(textSize) });
    const units: Unit[] = [];
    for (const fde of frame.fdes) units.push(yield* fdeUnit(frame, fde, textSize));
    const cies: CieView[] = frame.cies.map((c) => ({
      offset: c.offset,
      size: c.size,
      version: c.version,
      augmentation: c.augmentation,
      codeAlign: c.codeAlign,
      dataAlign: c.dataAlign,
      returnAddressRegister: c.returnAddressRegister,
      fdeEncoding: c.fdeEncoding,
      initialInstructions: c.initialInstructions.map(instructionView),
    }));
    return { units, tables: { kind: "systemv", section: eh.index, address: textSize, cies, fdes: frame.fdes.length, terminator: frame.terminator ?? null } };
  });

const fdeUnit = (frame: EhFrame, fde: ParsedFde, textSize: number): Either.Either<Unit, ObjfoldError> => {
  const what = `FDE at .eh_frame+${hex(fde.offset)}`;
  // pc_begin is relative to the FDE field at run time, .eh_frame at text + S: text offsets are what stays inside [0, S].
  if (fde.pcBegin > BigInt(textSize) || fde.pcBegin + BigInt(fde.pcRange) > BigInt(textSize))
    return malformed(`${what} covers 0x${fde.pcBegin.toString(16)} + ${hex(fde.pcRange)}, outside the ${hex(textSize)}-byte .text (with .eh_frame at text + S)`);
  const pcBegin = Number(fde.pcBegin);
  // A row holds up to one rule per instruction, so the table costs up to n² to build: bounded for hostile inputs.
  const rows: Either.Either<ReadonlyArray<UnwindRow>, ObjfoldError> =
    fde.instructions.length > MAX_ROW_INSTRUCTIONS
      ? Either.left({ _tag: "MalformedObject", reason: `the FDE has ${fde.instructions.length} instructions; rows are computed for up to ${MAX_ROW_INSTRUCTIONS}` })
      : fdeRows(frame, fde);
  return Either.right({
    begin: pcBegin,
    size: fde.pcRange,
    what,
    source: "fde",
    unwind: {
      kind: "systemv",
      fde: fde.offset,
      cie: fde.cieOffset,
      pcBegin,
      pcRange: fde.pcRange,
      instructions: fde.instructions.map(instructionView),
      rows: Either.isRight(rows) ? rows.right.map(rowView) : null,
      rowsProblem: Either.isLeft(rows) ? (rows.left._tag === "MalformedObject" ? rows.left.reason : rows.left._tag) : null,
    },
  });
};

interface WindowsTables {
  readonly units: Unit[];
  readonly tables: UnwindTablesView;
  readonly warnings: string[];
}

const windowsUnits = (elf: ElfFile, arch: "x86_64" | "aarch64", xs: ElfSection, ps: ElfSection, textSize: number): Either.Either<WindowsTables, ObjfoldError> => {
  const xdata = sectionData(elf, xs);
  const pdata = sectionData(elf, ps);
  const entry = arch === "x86_64" ? X64_PDATA_ENTRY : ARM64_PDATA_ENTRY;
  if (pdata.length % entry !== 0) return malformed(`.pdata is ${pdata.length} bytes, not a multiple of the ${entry}-byte ${arch === "x86_64" ? "RUNTIME_FUNCTION" : "ARM64 RUNTIME_FUNCTION"} entry`);
  const count = pdata.length / entry;
  const units: Unit[] = [];
  const warnings: string[] = [];
  const xdataOffset = (rva: number, at: number): Either.Either<number, ObjfoldError> =>
    rva < textSize || rva - textSize >= xdata.length
      ? malformed(`.pdata entry at +${hex(at)}: unwind data RVA ${hex(rva)} is not inside .xdata (RVAs ${hex(textSize)}..${hex(textSize + xdata.length)}, .xdata at text + S)`)
      : Either.right(rva - textSize);
  for (let k = 0; k < count; k++) {
    const at = k * entry;
    const begin = u32le(pdata, at);
    if (arch === "x86_64") {
      const end = u32le(pdata, at + 4);
      if (end < begin || end > textSize) return malformed(`.pdata entry at +${hex(at)}: range ${hex(begin)}..${hex(end)} is not inside the ${hex(textSize)}-byte .text`);
      const rva = u32le(pdata, at + 8);
      const off = xdataOffset(rva, at);
      if (Either.isLeft(off)) return Either.left(off.left);
      const info = decodeX64UnwindInfo(xdata, off.right);
      if (isProblem(info)) return fromProblem(info);
      units.push({
        begin,
        size: end - begin,
        what: `.pdata entry at +${hex(at)}`,
        source: "pdata",
        unwind: {
          kind: "windowsX64",
          pdata: at,
          begin,
          end,
          unwindInfo: rva,
          xdata: off.right,
          flags: info.flags,
          prologueSize: info.prologueSize,
          frameRegister: info.frameRegister,
          frameRegisterOffset: info.frameRegisterOffset,
          codes: info.codes,
        },
      });
    } else {
      const word = u32le(pdata, at + 4);
      const flag = word & 3;
      if (flag !== 0) return unsupported(`.pdata entry at +${hex(at)}: packed unwind data (Flag ${flag}), which objfold never writes`);
      const off = xdataOffset(word, at);
      if (Either.isLeft(off)) return Either.left(off.left);
      const x = decodeArm64Xdata(xdata, off.right);
      if (isProblem(x)) return fromProblem(x);
      if (begin > textSize || begin + x.functionLength > textSize)
        return malformed(`.pdata entry at +${hex(at)}: ${hex(begin)} + ${hex(x.functionLength)} is not inside the ${hex(textSize)}-byte .text`);
      const fragment: Arm64FragmentView = { pdata: at, begin, length: x.functionLength, xdata: off.right, hasPrologue: x.hasPrologue, codeWords: x.codeWords };
      const last = units[units.length - 1];
      if (!x.hasPrologue && last !== undefined && last.unwind.kind === "windowsArm64" && last.begin + last.size === begin) {
        // A continuation fragment (docs/windows-unwind.md, "fragments"): part of the function before it.
        units[units.length - 1] = { ...last, size: last.size + x.functionLength, unwind: { ...last.unwind, fragments: [...last.unwind.fragments, fragment] } };
        continue;
      }
      if (!x.hasPrologue) warnings.push(`.pdata entry at +${hex(at)} is a fragment without prologue that does not continue the entry before it`);
      units.push({ begin, size: x.functionLength, what: `.pdata entry at +${hex(at)}`, source: "pdata", unwind: { kind: "windowsArm64", fragments: [fragment], codes: x.codes } });
    }
  }
  return Either.right({
    units,
    tables: { kind: arch === "x86_64" ? "windowsX64" : "windowsArm64", xdataSection: xs.index, pdataSection: ps.index, xdataAddress: textSize, entries: count },
    warnings,
  });
};

// ---------------------------------------------------------------- functions

interface FnDraft {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly source: FunctionView["source"];
  unwind: UnwindView | null;
}

/**
 * Give each unwind unit to the function starting where it begins. Two passes
 * keep it exact when several functions share an offset (empty bodies): first
 * the unit whose size equals the function's, then any left at that offset,
 * each time the earliest one (units are in function order, as written).
 */
const assignUnits = (fns: FnDraft[], units: ReadonlyArray<Unit>): Unit[] => {
  const byBegin = new Map<number, number[]>();
  units.forEach((u, k) => {
    const l = byBegin.get(u.begin);
    if (l === undefined) byBegin.set(u.begin, [k]);
    else l.push(k);
  });
  const used = new Set<number>();
  const pass = (exact: boolean): void => {
    for (const f of fns) {
      if (f.unwind !== null) continue;
      const k = (byBegin.get(f.offset) ?? []).find((k) => !used.has(k) && (!exact || units[k]!.size === f.size));
      if (k === undefined) continue;
      used.add(k);
      f.unwind = units[k]!.unwind;
    }
  };
  pass(true);
  pass(false);
  return units.filter((_, k) => !used.has(k));
};

const symbolView = (s: ElfSymbol): SymbolView => ({
  index: s.index,
  name: s.name,
  value: Number(s.value),
  size: Number(s.size),
  type: STT_NAMES[s.type] ?? String(s.type),
  bind: STB_NAMES[s.bind] ?? String(s.bind),
  visibility: STV_NAMES[s.visibility] ?? String(s.visibility),
  section: s.shndx,
});

/** Intervals of [0, size) not covered by `covered` (half-open, any order, may overlap). */
const gapsOf = (covered: ReadonlyArray<readonly [number, number]>, size: number): Array<[number, number]> => {
  const sorted = covered.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const gaps: Array<[number, number]> = [];
  let at = 0;
  for (const [a, b] of sorted) {
    if (a > at) gaps.push([at, Math.min(a, size)]);
    at = Math.max(at, b);
  }
  if (at < size) gaps.push([at, size]);
  return gaps.filter(([a, b]) => b > a);
};

// ---------------------------------------------------------------- the whole object

/**
 * Describe an object objfold wrote. Any input gives a description or a
 * `MalformedObject` / `UnsupportedObject` error; it never throws.
 */
export const inspectObject = (bytes: Uint8Array): Either.Either<Inspection, ObjfoldError> =>
  Either.gen(function* () {
    const elf = yield* readElf(bytes);
    const h = elf.header;
    const target = yield* targetOf(elf);
    const warnings: string[] = [];

    const seen = new Set<string>();
    for (const s of elf.sections) {
      if (s.index === 0) continue;
      const type = OBJFOLD_SECTIONS.get(s.name);
      if (type === undefined)
        return yield* unsupported(`section ${JSON.stringify(s.name)} (index ${s.index}) is not one objfold writes (.text, .eh_frame or .xdata/.pdata, .symtab, .strtab, .shstrtab): not an objfold object`);
      if (s.type !== type) return yield* unsupported(`section ${s.name} has type ${SHT_NAMES[s.type] ?? hex(s.type)}, objfold writes ${SHT_NAMES[type]}`);
      if (seen.has(s.name)) return yield* unsupported(`section ${s.name} appears twice`);
      seen.add(s.name);
    }
    const text = sectionByName(elf, ".text");
    if (text === undefined) return yield* unsupported("the object has no .text section");
    const textBytes = sectionData(elf, text);
    const textSize = text.size;
    const textAlign = text.addralign;
    const eh = sectionByName(elf, ".eh_frame");
    const xs = sectionByName(elf, ".xdata");
    const ps = sectionByName(elf, ".pdata");
    if ((xs === undefined) !== (ps === undefined)) return yield* malformed(`${xs === undefined ? ".pdata" : ".xdata"} without ${xs === undefined ? ".xdata" : ".pdata"}`);
    if (eh !== undefined && xs !== undefined) return yield* unsupported("both .eh_frame and .xdata/.pdata: objfold writes one kind of unwind table");
    let unwind: UnwindAbi = "none";
    if (eh !== undefined) {
      if (target.arch === "pulley") return yield* unsupported("a Pulley object with .eh_frame (Pulley has no unwind tables)");
      unwind = "systemv";
    } else if (xs !== undefined) {
      if (target.arch !== "x86_64" && target.arch !== "aarch64") return yield* unsupported(`.xdata/.pdata on ${target.arch} (Windows unwind tables exist for x86_64 and aarch64 only)`);
      unwind = target.arch === "x86_64" ? "windowsX64" : "windowsArm64";
    }
    const after = (s: ElfSection | undefined, prev: ElfSection, why: string): void => {
      if (s !== undefined && s.size > 0 && s.offset !== prev.offset + prev.size)
        warnings.push(`${s.name} is at file offset ${hex(s.offset)}, not right after ${prev.name} (${hex(prev.offset + prev.size)}): ${why}`);
    };
    after(eh, text, "Wasmtime maps the file as-is, so its pc-relative pointers would not reach the functions");
    after(xs, text, "Wasmtime maps the file as-is, so the .pdata RVAs would not reach it");
    if (xs !== undefined) after(ps, xs, "Wasmtime expects .pdata right after .xdata");

    // Symbols
    const symtab = sectionByName(elf, ".symtab");
    const rawSymbols = symtab === undefined ? [] : (yield* readSymbols(elf, symtab)).slice(1);
    for (const s of rawSymbols) {
      if (s.value > BigInt(Number.MAX_SAFE_INTEGER) || s.size > BigInt(Number.MAX_SAFE_INTEGER)) return yield* malformed(`symbol ${s.index} (${JSON.stringify(s.name)}) has a value or size beyond 2^53`);
      if (s.type === STT_FUNC && s.shndx === text.index && s.value + s.size > BigInt(textSize))
        return yield* malformed(`function symbol ${JSON.stringify(s.name)} at ${hex(Number(s.value))} + ${hex(Number(s.size))} lies outside the ${hex(textSize)}-byte .text`);
    }
    const symbols = rawSymbols.map(symbolView);

    // Unwind tables
    let units: Unit[] = [];
    let tables: UnwindTablesView | null = null;
    if (eh !== undefined) {
      const r = yield* systemvUnits(elf, eh, textSize);
      units = r.units;
      tables = r.tables;
    } else if (xs !== undefined && ps !== undefined) {
      const r = yield* windowsUnits(elf, target.arch === "aarch64" ? "aarch64" : "x86_64", xs, ps, textSize);
      units = r.units;
      tables = r.tables;
      warnings.push(...r.warnings);
    }

    // Functions: from symbols, or else from the unwind units.
    const fnSymbols = rawSymbols.filter((s) => s.type === STT_FUNC && s.shndx === text.index);
    let drafts: FnDraft[];
    if (fnSymbols.length > 0) {
      drafts = fnSymbols
        .map((s) => ({ s, offset: Number(s.value) }))
        .sort((a, b) => a.offset - b.offset || a.s.index - b.s.index)
        .map(({ s, offset }) => ({ name: s.name, offset, size: Number(s.size), source: "symbol" as const, unwind: null }));
      for (const u of assignUnits(drafts, units)) warnings.push(`${u.what} begins at text offset ${hex(u.begin)}, where no function symbol takes it`);
    } else {
      drafts = [...units]
        .sort((a, b) => a.begin - b.begin)
        .map((u) => ({ name: anonymousName(u.begin), offset: u.begin, size: u.size, source: u.source, unwind: u.unwind }));
    }

    // objfold never writes overlapping functions; refusing them also bounds the call scan by the text size.
    let reach = 0;
    let reacher: FnDraft | undefined;
    for (const f of drafts) {
      if (f.size > 0 && f.offset < reach && reacher !== undefined)
        return yield* unsupported(`functions ${JSON.stringify(reacher.name)} (${hex(reacher.offset)}..${hex(reach)}) and ${JSON.stringify(f.name)} (${hex(f.offset)}..${hex(f.offset + f.size)}) overlap`);
      if (f.offset + f.size > reach) {
        reach = f.offset + f.size;
        reacher = f;
      }
    }

    // Names by start: the function with bytes wins over empty ones at the same offset.
    const starts = new Map<number, FnDraft>();
    for (const f of drafts) {
      const there = starts.get(f.offset);
      if (there === undefined || (there.size === 0 && f.size > 0)) starts.set(f.offset, f);
    }
    const nameAt = (at: number): string | null => starts.get(at)?.name ?? null;

    // Islands and veneers (aarch64), in the gaps between functions.
    const fnRanges = drafts.map((f) => [f.offset, f.offset + f.size] as const);
    const islands: IslandView[] = target.arch === "aarch64" ? scanVeneers(textBytes, gapsOf(fnRanges, textSize), nameAt) : [];
    const veneers = new Map<number, VeneerView>();
    for (const i of islands) for (const v of i.veneers) veneers.set(v.offset, v);

    const ctx = { arch: target.arch, text: textBytes, functionAt: (at: number) => starts.get(at)?.name, veneerAt: (at: number) => veneers.get(at) };
    const functions: FunctionView[] = drafts.map((f) => ({
      name: f.name,
      offset: f.offset,
      size: f.size,
      source: f.source,
      calls: scanCalls(ctx, f.offset, f.offset + f.size),
      unwind: f.unwind,
    }));

    const covered = [...fnRanges, ...islands.map((i) => [i.offset, i.end] as const)];
    const padding: PaddingView[] = gapsOf(covered, textSize).map(([a, b]) => ({ offset: a, size: b - a }));
    const end = covered.reduce((m, [a, b]) => (b > a ? Math.max(m, b) : m), 0);

    return {
      schema: INSPECT_SCHEMA,
      fileSize: bytes.length,
      elf: {
        class: "ELF64",
        byteOrder: h.littleEndian ? "little" : "big",
        osAbi: h.osAbi,
        abiVersion: h.abiVersion,
        type: h.type,
        machine: h.machine,
        flags: h.flags,
        sectionHeaderOffset: h.shoff,
        sectionCount: h.shnum,
        sectionNameTable: h.shstrndx,
      },
      target: {
        arch: target.arch,
        triples: triplesOf(target, h.littleEndian, textAlign, unwind),
        textAlign,
        unwind,
        pulley: target.pulley,
        wasmtime: target.wasmtime,
      },
      sections: elf.sections.filter((s) => s.index > 0).map(sectionView),
      symbols,
      text: { section: text.index, fileOffset: text.offset, size: textSize, end },
      functions,
      islands,
      padding,
      unwindTables: tables,
      warnings,
    } satisfies Inspection;
  });
