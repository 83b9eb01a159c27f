/**
 * gcc relocatable object → objfold/v1 module, the way the shared fixtures
 * were made (`fixtures/README.md`): one function record per `.text.<name>`
 * section in section order, call relocations between the file's functions
 * as record relocations, and each function's FDE as its `systemv` unwind
 * program. Anything the module format cannot express is a typed error, never
 * a silently different module.
 *
 * @example
 *   importObject(readFileSync("sample.o"))
 *   // Right({ header: { format: "objfold/v1", target: "x86_64-unknown-linux-gnu", forceVeneers: false }, items: [...] })
 */
import { Either } from "effect";
import { bytesToBase64 } from "../bytes/base64.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHT_PROGBITS, SHT_SYMTAB } from "../elf/constants.js";
import { isReservedIndex, readElf, readRela, readSymbols, sectionData, SHN_UNDEF, SHT_NOBITS, SHT_REL, SHT_RELA, type ElfFile, type ElfRela, type ElfSection, type ElfSymbol } from "../elf/read.js";
import type { ObjfoldError } from "../errors.js";
import type { CallRelocation, CfaInstruction, ItemJson, ModuleJson } from "../schema/records.js";
import { FORMAT } from "../schema/records.js";
import { cieOf } from "../unwind/systemv/cie.js";
import { DW_EH_PE_absptr, DW_EH_PE_pcrel } from "../unwind/systemv/dwarf.js";
import { isRecordInstruction, parseEhFrame, sameRules, unwindRows, type ParsedCie, type ParsedFde, type UnwindRow } from "../unwind/systemv/parse.js";
import { importArchOf, type ImportArch } from "./arch.js";
import { branchSize, encodedDisplacement } from "./riscvBranch.js";

const ET_REL = 1;
const STT_FUNC = 2;
const STT_SECTION = 3;

type Result<A> = Either.Either<A, ObjfoldError>;

const unsupported = (reason: string): Result<never> => Either.left({ _tag: "UnsupportedObject", reason });
const malformed = (reason: string): Result<never> => Either.left({ _tag: "MalformedObject", reason });

/** A function section on its way to becoming a record. */
interface Func {
  readonly section: ElfSection;
  readonly name: string;
  readonly body: Uint8Array;
  readonly alignment: number;
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

const isPowerOfTwo = (n: number): boolean => Number.isSafeInteger(n) && n >= 1 && n <= 0x40000000 && (n & (n - 1)) === 0;

/** How a symbol reads in a message: its name, or its section's for a section symbol. */
const symbolLabel = (elf: ElfFile, s: ElfSymbol): string =>
  s.type === STT_SECTION || s.name === "" ? `section symbol of ${elf.sections[s.shndx]?.name ?? `section ${s.shndx}`}` : JSON.stringify(s.name);

/**
 * The function symbol that starts a `.text.<name>` section: a STT_FUNC at
 * offset 0, preferring the one named like the section (gcc's
 * `-ffunction-sections` naming), then a global one.
 */
const functionSymbol = (section: ElfSection, inSection: ReadonlyArray<ElfSymbol>): ElfSymbol | undefined => {
  const candidates = inSection.filter((s) => s.type === STT_FUNC && s.value === 0n && s.name !== "");
  const suffix = section.name.slice(".text.".length);
  return candidates.find((s) => s.name === suffix) ?? candidates.find((s) => s.bind !== 0) ?? candidates[0];
};

/** The function sections, in section order. */
const functionsOf = (elf: ElfFile, symbols: ReadonlyArray<ElfSymbol>, arch: ImportArch): Result<Func[]> => {
  const out: Func[] = [];
  const names = new Map<string, string>();
  // Index the symbols by section once, so large objects stay linear.
  const bySection = new Map<number, ElfSymbol[]>();
  for (const sym of symbols) {
    if (isReservedIndex(sym)) continue;
    const list = bySection.get(sym.shndx);
    if (list === undefined) bySection.set(sym.shndx, [sym]);
    else list.push(sym);
  }
  for (const s of elf.sections) {
    if ((s.flags & SHF_EXECINSTR) === 0 || (s.flags & SHF_ALLOC) === 0) continue;
    if (!s.name.startsWith(".text.")) {
      if (s.size > 0) return unsupported(`code in section ${JSON.stringify(s.name)} is not in a .text.<name> section of its own (compile with -ffunction-sections)`);
      continue;
    }
    const sym = functionSymbol(s, bySection.get(s.index) ?? []);
    if (sym === undefined) {
      if (s.size === 0) continue;
      return unsupported(`section ${JSON.stringify(s.name)} has no function symbol at offset 0`);
    }
    if (s.type !== SHT_PROGBITS) return unsupported(`function section ${JSON.stringify(s.name)} has type ${s.type}, not SHT_PROGBITS`);
    const seen = names.get(sym.name);
    if (seen !== undefined) return unsupported(`function name ${JSON.stringify(sym.name)} starts both ${seen} and ${s.name}`);
    names.set(sym.name, s.name);
    const alignment = Math.max(s.addralign === 0 ? 1 : s.addralign, arch.minAlign);
    if (!isPowerOfTwo(alignment)) return unsupported(`section ${JSON.stringify(s.name)} has alignment ${s.addralign}, not a power of two up to 2^30`);
    out.push({ section: s, name: sym.name, body: sectionData(elf, s), alignment });
  }
  return Either.right(out);
};

interface Located {
  readonly func: Func;
  /** Byte offset inside the function's section. */
  readonly offset: bigint;
}

type Where = { readonly section: string; readonly offset: number; readonly type: string };

const badReloc = (w: Where, reason: string): Result<never> => Either.left({ _tag: "UnsupportedRelocation", ...w, reason });

/** The function (and offset in it) a relocation's symbol plus `addend` points at. */
const locate = (elf: ElfFile, symbols: ReadonlyArray<ElfSymbol>, funcs: ReadonlyMap<number, Func>, r: ElfRela, addend: bigint, w: Where): Result<Located> => {
  const sym = symbols[r.symbol];
  if (sym === undefined) return malformed(`${w.section}+${hex(w.offset)}: relocation refers to symbol ${r.symbol}, but there are ${symbols.length}`);
  if (sym.shndx === SHN_UNDEF) return badReloc(w, `refers to the external symbol ${symbolLabel(elf, sym)}, which is not a function of this file`);
  if (isReservedIndex(sym)) return badReloc(w, `refers to ${symbolLabel(elf, sym)}, an absolute or common symbol`);
  const func = funcs.get(sym.shndx);
  if (func === undefined)
    return badReloc(w, `refers to ${symbolLabel(elf, sym)} in section ${JSON.stringify(elf.sections[sym.shndx]?.name ?? String(sym.shndx))}, which holds no function (a data reference)`);
  return Either.right({ func, offset: sym.value + addend });
};

/** A text relocation as record relocations: a call becomes one, a marker none. */
const textRelocation = (
  elf: ElfFile,
  arch: ImportArch,
  symbols: ReadonlyArray<ElfSymbol>,
  funcs: ReadonlyMap<number, Func>,
  func: Func,
  r: ElfRela,
): Result<CallRelocation | undefined> => {
  const type = arch.relocName(r.type);
  const offset = r.offset <= BigInt(func.body.length) ? Number(r.offset) : -1;
  // Beyond 2^53 the offset in the message is rounded; it is out of range either way.
  const w: Where = { section: func.section.name, offset: offset < 0 ? Number(r.offset) : offset, type };
  if (offset < 0) return badReloc(w, `offset ${hex(r.offset)} lies outside the ${func.body.length}-byte section`);
  const rule = arch.text(r.type);
  switch (rule.kind) {
    case "ignore":
      return Either.right(undefined);
    case "unsupported":
      return badReloc(w, rule.reason);
    case "localBranch": {
      const sym = symbols[r.symbol];
      if (sym === undefined) return malformed(`${w.section}+${hex(offset)}: relocation refers to symbol ${r.symbol}, but there are ${symbols.length}`);
      if (sym.shndx !== func.section.index) return badReloc(w, `a branch to ${symbolLabel(elf, sym)} outside the function cannot be expressed (only calls can)`);
      const encoded = encodedDisplacement(func.body, offset, rule.format);
      if (encoded === undefined) return badReloc(w, `the ${branchSize(rule.format)}-byte instruction runs past the end of the section`);
      const wanted = sym.value + r.addend - BigInt(offset);
      if (BigInt(encoded) !== wanted)
        return badReloc(w, `the instruction holds displacement ${encoded} but the branch needs ${wanted}: the assembler left it for a relaxing linker (compile with -mno-relax)`);
      return Either.right(undefined);
    }
    case "call":
      return Either.flatMap(locate(elf, symbols, funcs, r, r.addend - BigInt(rule.rule.addend), w), (t) => {
        if (t.offset !== 0n) return badReloc(w, `refers to ${JSON.stringify(t.func.name)}${t.offset < 0n ? "" : "+"}${t.offset}, not the start of a function`);
        if (offset + rule.rule.siteSize > func.body.length) return badReloc(w, `the ${rule.rule.siteSize}-byte site runs past the end of the ${func.body.length}-byte section`);
        return Either.right({ offset, kind: rule.rule.kind, target: t.func.name, addend: rule.rule.addend });
      });
  }
};

const describeRow = (row: UnwindRow | undefined): string => {
  if (row === undefined) return "no rules";
  const cfa = row.cfa === undefined ? "CFA undefined" : row.cfa.kind === "registerOffset" ? `CFA=r${row.cfa.register}${row.cfa.offset < 0 ? "" : "+"}${row.cfa.offset}` : "CFA=expression";
  const regs = row.registers.map(({ register, rule }) => `r${register}=${rule.kind}${"offset" in rule ? `(${rule.offset})` : ""}`);
  return [cfa, ...regs].join(" ");
};

/** gcc's CIE must mean what the target's standard CIE means (reference §2), or the FDE programs would be read against different rules. */
const checkCie = (cie: ParsedCie, arch: ImportArch): Result<void> => {
  const where = `gcc's CIE at .eh_frame+${hex(cie.offset)}`;
  const std = cieOf(arch.arch);
  if (std === undefined) throw new Error(`internal: no standard CIE for ${arch.arch}`);
  const extra = cie.augmentation.replace(/^z/, "").replace("R", "");
  if (extra !== "" || (cie.augmentation !== "" && !cie.augmentation.startsWith("z")))
    return unsupported(`${where} has augmentation ${JSON.stringify(cie.augmentation)}; only "zR" can be expressed (no personality, LSDA or signal frame)`);
  if (cie.returnAddressRegister !== std.returnAddressRegister)
    return unsupported(`${where} names return-address register ${cie.returnAddressRegister}, the ${arch.arch} standard CIE ${std.returnAddressRegister}`);
  return Either.flatMap(Either.all([unwindRows(cie.initialInstructions, [], 1), unwindRows(std.initialInstructions, [], 1)]), ([mine, theirs]) => {
    const a = mine[0];
    const b = theirs[0];
    if (a !== undefined && b !== undefined && sameRules(a, b)) return Either.right(undefined);
    return unsupported(`${where} starts with ${describeRow(a)}, but the ${arch.arch} standard CIE (reference.md §2) starts with ${describeRow(b)}`);
  });
};

const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;

/** The FDE's program in record form, checked against what the target's CIE can encode. */
const recordProgram = (fde: ParsedFde, func: Func, length: number, arch: ImportArch): Result<CfaInstruction[]> => {
  const std = cieOf(arch.arch)!;
  const out: CfaInstruction[] = [];
  const where = `the FDE of ${JSON.stringify(func.name)} (.eh_frame+${hex(fde.offset)})`;
  for (const i of fde.instructions) {
    if (!isRecordInstruction(i)) return unsupported(`${where} uses ${i.op}, which the module format cannot express`);
    if (i.at > length) return unsupported(`${where} has an instruction at ${i.at}, beyond its range ${length}`);
    if (i.at % std.codeAlign !== 0) return unsupported(`${where}: location ${i.at} is not a multiple of the ${arch.arch} code alignment ${std.codeAlign}`);
    if ("register" in i && i.register > 0xffff) return unsupported(`${where}: register ${i.register} does not fit a u16`);
    if ("offset" in i) {
      if (i.offset < I32_MIN || i.offset > I32_MAX) return unsupported(`${where}: offset ${i.offset} does not fit an i32`);
      const factored = i.op === "offset" || i.op === "valOffset" || i.offset < 0;
      if (factored && i.offset % std.dataAlign !== 0) return unsupported(`${where}: offset ${i.offset} is not a multiple of the ${arch.arch} data alignment ${std.dataAlign}`);
    }
    out.push(i);
  }
  return Either.right(out);
};

interface Unwind {
  readonly length: number;
  readonly instructions: CfaInstruction[];
}

/**
 * Apply `.eh_frame`'s label-difference relocations to a copy of its bytes.
 * Each field must end up independent of where the linker puts sections:
 * every section base added must be subtracted again.
 */
const applyDifferences = (
  elf: ElfFile,
  arch: ImportArch,
  symbols: ReadonlyArray<ElfSymbol>,
  data: Uint8Array,
  relocs: ReadonlyArray<ElfRela>,
): Result<Uint8Array> => {
  const out = data.slice();
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const le = elf.header.littleEndian;
  const bases = new Map<number, Map<number, number>>();
  const touched = new Map<number, ElfRela>();
  for (const r of relocs) {
    const d = arch.ehDifference(r.type);
    if (d === undefined) continue;
    const at = Number(r.offset);
    const w: Where = { section: ".eh_frame", offset: at, type: arch.relocName(r.type) };
    const size = d.width === 6 ? 1 : d.width / 8;
    if (at + size > out.length) return malformed(`.eh_frame+${hex(at)}: ${w.type} field runs past the end of the section`);
    const sym = symbols[r.symbol];
    if (sym === undefined) return malformed(`.eh_frame+${hex(at)}: relocation refers to symbol ${r.symbol}, but there are ${symbols.length}`);
    if (sym.shndx === SHN_UNDEF) return badReloc(w, `refers to the external symbol ${symbolLabel(elf, sym)}`);
    const modulus = 1n << BigInt(d.width);
    const old =
      d.width === 6 ? BigInt(out[at]! & 0x3f) : d.width === 8 ? BigInt(out[at]!) : d.width === 16 ? BigInt(dv.getUint16(at, le)) : d.width === 32 ? BigInt(dv.getUint32(at, le)) : dv.getBigUint64(at, le);
    const sa = sym.value + r.addend;
    const value = BigInt.asUintN(d.width, ((d.op === "set" ? sa : d.op === "add" ? old + sa : old - sa) % modulus) + modulus);
    if (d.width === 6) out[at] = (out[at]! & 0xc0) | Number(value);
    else if (d.width === 8) out[at] = Number(value);
    else if (d.width === 16) dv.setUint16(at, Number(value), le);
    else if (d.width === 32) dv.setUint32(at, Number(value), le);
    else dv.setBigUint64(at, value, le);
    // Track each section base's net count in the field; absolute symbols have none.
    const field = d.op === "set" ? new Map<number, number>() : (bases.get(at) ?? new Map<number, number>());
    if (!isReservedIndex(sym)) field.set(sym.shndx, (field.get(sym.shndx) ?? 0) + (d.op === "sub" ? -1 : 1));
    bases.set(at, field);
    touched.set(at, r);
  }
  for (const [at, field] of bases) {
    const left = [...field].find(([, n]) => n !== 0);
    if (left !== undefined)
      return badReloc(
        { section: ".eh_frame", offset: at, type: arch.relocName(touched.get(at)!.type) },
        `the field depends on where the linker places section ${JSON.stringify(elf.sections[left[0]]?.name ?? String(left[0]))}`,
      );
  }
  return Either.right(out);
};

/** Each function's FDE, matched through `.rela.eh_frame`. */
const unwindOf = (elf: ElfFile, arch: ImportArch, symbols: ReadonlyArray<ElfSymbol>, funcs: ReadonlyMap<number, Func>): Result<Map<Func, Unwind>> =>
  Either.gen(function* () {
    const out = new Map<Func, Unwind>();
    // PROGBITS, or SHT_X86_64_UNWIND where the assembler marks it so.
    const eh = elf.sections.find((s) => s.name === ".eh_frame" && s.type !== SHT_NOBITS && s.index !== 0);
    if (eh === undefined) return out;
    const all: ElfRela[] = [];
    for (const s of elf.sections) {
      if (s.type === SHT_REL && s.info === eh.index) return yield* unsupported(`.eh_frame has SHT_REL relocations (${s.name}); only SHT_RELA is read`);
      if (s.type !== SHT_RELA || s.info !== eh.index) continue;
      for (const r of yield* readRela(elf, s)) {
        if (r.offset >= BigInt(eh.size)) return yield* malformed(`${s.name}: relocation offset ${hex(r.offset)} lies outside .eh_frame`);
        all.push(r);
      }
    }
    const bytes = yield* applyDifferences(elf, arch, symbols, sectionData(elf, eh), all);
    const frame = yield* parseEhFrame(bytes, { littleEndian: elf.header.littleEndian, addressSize: 8 });
    // What is left after the differences: pointers, which must each be some FDE's pc_begin.
    const pointers = new Map<number, ElfRela[]>();
    for (const r of all) {
      if (arch.ehDifference(r.type) !== undefined) continue;
      const at = Number(r.offset);
      if (arch.ehPointer(r.type) === undefined)
        return yield* badReloc({ section: ".eh_frame", offset: at, type: arch.relocName(r.type) }, "is neither an FDE's pc_begin pointer nor a label difference");
      const list = pointers.get(at);
      if (list === undefined) pointers.set(at, [r]);
      else list.push(r);
    }
    const used = new Set<number>();
    const cies = new Map(frame.cies.map((c) => [c.offset, c]));
    const checked = new Set<number>();
    for (const fde of frame.fdes) {
      const cie = cies.get(fde.cieOffset)!;
      if (!checked.has(cie.offset)) {
        yield* checkCie(cie, arch);
        checked.add(cie.offset);
      }
      const fdeWhere = `FDE at .eh_frame+${hex(fde.offset)}`;
      // pc_begin: exactly one pointer relocation says which function the FDE covers.
      const begin = pointers.get(fde.pcBeginField) ?? [];
      const r = begin[0];
      if (r === undefined) return yield* unsupported(`${fdeWhere} has no relocation on its pc_begin, so its function is unknown`);
      const w: Where = { section: ".eh_frame", offset: fde.pcBeginField, type: arch.relocName(r.type) };
      const kind = arch.ehPointer(r.type);
      const application = cie.fdeEncoding & 0x70;
      if (begin.length !== 1) return yield* badReloc(w, "is one of several relocations on an FDE's pc_begin");
      if ((kind === "pcrel" && application !== DW_EH_PE_pcrel) || (kind === "abs" && application !== DW_EH_PE_absptr))
        return yield* badReloc(w, `does not match the CIE's pointer encoding ${hex(cie.fdeEncoding)}`);
      used.add(fde.pcBeginField);
      const target = yield* locate(elf, symbols, funcs, r, r.addend, w);
      if (target.offset !== 0n) return yield* unsupported(`${fdeWhere} starts at ${JSON.stringify(target.func.name)}+${target.offset}, not at a function's start`);
      const length = fde.pcRange;
      if (length > target.func.body.length)
        return yield* unsupported(`${fdeWhere} covers ${length} bytes, more than the ${target.func.body.length} bytes of ${JSON.stringify(target.func.name)}`);
      if (out.has(target.func)) return yield* unsupported(`${JSON.stringify(target.func.name)} has more than one FDE (another at .eh_frame+${hex(fde.offset)})`);
      out.set(target.func, { length, instructions: yield* recordProgram(fde, target.func, length, arch) });
    }
    for (const [at, rs] of pointers) {
      if (!used.has(at))
        return yield* badReloc({ section: ".eh_frame", offset: at, type: arch.relocName(rs[0]!.type) }, "is not on an FDE's pc_begin (a personality or LSDA pointer?)");
    }
    return out;
  });

/**
 * Turn a gcc relocatable object (x86_64, aarch64, riscv64 or s390x, compiled
 * with `-ffunction-sections`) into an objfold/v1 module.
 */
export const importObject = (bytes: Uint8Array): Either.Either<ModuleJson, ObjfoldError> =>
  Either.gen(function* () {
    const elf = yield* readElf(bytes);
    if (elf.header.type !== ET_REL) return yield* unsupported(`ELF type ${elf.header.type} is not ET_REL (1): only relocatable objects can be imported`);
    const arch = importArchOf(elf.header.machine);
    if (arch === undefined) return yield* unsupported(`e_machine ${elf.header.machine} is none of x86_64 (62), aarch64 (183), riscv64 (243), s390x (22)`);
    if (arch.littleEndian !== elf.header.littleEndian) return yield* unsupported(`a ${elf.header.littleEndian ? "little" : "big"}-endian ${arch.arch} object is not supported`);
    const symtabs = elf.sections.filter((s) => s.type === SHT_SYMTAB);
    const symtab = symtabs[0];
    if (symtab === undefined || symtabs.length > 1) return yield* unsupported(`expected one symbol table, found ${symtabs.length}`);
    const symbols = yield* readSymbols(elf, symtab);
    const funcs = yield* functionsOf(elf, symbols, arch);
    const bySection = new Map(funcs.map((f) => [f.section.index, f]));

    const relocations = new Map<Func, CallRelocation[]>(funcs.map((f) => [f, []]));
    for (const s of elf.sections) {
      const func = bySection.get(s.info);
      if (func === undefined || (s.type !== SHT_RELA && s.type !== SHT_REL)) continue;
      if (s.type === SHT_REL) return yield* unsupported(`${s.name}: SHT_REL relocations are not read (these targets use SHT_RELA)`);
      if (s.link !== symtab.index) return yield* malformed(`${s.name} links to section ${s.link}, not the symbol table`);
      for (const r of yield* readRela(elf, s)) {
        const rec = yield* textRelocation(elf, arch, symbols, bySection, func, r);
        if (rec !== undefined) relocations.get(func)!.push(rec);
      }
    }
    const unwind = yield* unwindOf(elf, arch, symbols, bySection);

    const items: ItemJson[] = funcs.map((f) => {
      const u = unwind.get(f);
      return {
        type: "function",
        name: f.name,
        body: bytesToBase64(f.body),
        alignment: f.alignment,
        relocations: relocations.get(f)!,
        ...(u === undefined ? {} : { unwind: { kind: "systemv", length: u.length, instructions: u.instructions } }),
      };
    });
    return { header: { format: FORMAT, target: arch.triple, forceVeneers: false }, items };
  });
