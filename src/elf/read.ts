/**
 * A pure ELF64 reader, little- and big-endian (System V gABI, "ELF Header",
 * "Sections", "Symbol Table", "Relocation"). It reads relocatable objects
 * from gcc as well as the objects objfold writes; `objfold inspect` and the
 * importer share it.
 *
 * Every offset and count is checked against the input before it is used, so
 * any byte string yields either a value or a `MalformedObject` error, never an
 * exception, and every loop is bounded by a size already checked against the
 * input length.
 *
 * Quantities that index the file (offsets, sizes, counts) are numbers;
 * 64-bit quantities that need not fit the file (addresses, symbol values and
 * sizes, relocation offsets and addends) are bigints, so nothing is rounded.
 *
 * @example
 *   const elf = readElf(bytes);            // Either<ElfFile, ObjfoldError>
 *   Either.map(elf, (f) => f.sections.map((s) => s.name));
 */
import { Either } from "effect";
import type { ObjfoldError } from "../errors.js";
import { EHDR_SIZE, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, SHDR_SIZE, SHN_LORESERVE, SHT_STRTAB, SHT_SYMTAB, SYM_SIZE } from "./constants.js";

// Spec names for the constants only the reader needs.
export const ELFCLASS32 = 1;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_SYMTAB_SHNDX = 18;
export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;
export const RELA_SIZE = 24;
const PHDR_SIZE = 56;

export interface ElfHeader {
  readonly littleEndian: boolean;
  /** e_ident[EI_VERSION]. */
  readonly identVersion: number;
  readonly osAbi: number;
  readonly abiVersion: number;
  readonly type: number;
  readonly machine: number;
  readonly version: number;
  readonly entry: bigint;
  readonly phoff: number;
  readonly shoff: number;
  readonly flags: number;
  readonly ehsize: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shentsize: number;
  /** The real section count: e_shnum, or section 0's sh_size when e_shnum is 0 (≥ SHN_LORESERVE sections). */
  readonly shnum: number;
  /** The real `.shstrtab` index: e_shstrndx, or section 0's sh_link when e_shstrndx is SHN_XINDEX. */
  readonly shstrndx: number;
  /** The raw e_shnum and e_shstrndx fields, before the SHN_XINDEX escapes were followed. */
  readonly rawShnum: number;
  readonly rawShstrndx: number;
}

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  /** sh_name: offset of the name in `.shstrtab`. */
  readonly nameOffset: number;
  readonly type: number;
  readonly flags: number;
  readonly addr: bigint;
  /** File offset of the data; with `size` inside the input unless the type is SHT_NOBITS. */
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

export interface ElfFile {
  readonly header: ElfHeader;
  /** All section headers, the null one at index 0 included. */
  readonly sections: ReadonlyArray<ElfSection>;
  readonly bytes: Uint8Array;
}

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly value: bigint;
  readonly size: bigint;
  /** STT_* (low 4 bits of st_info). */
  readonly type: number;
  /** STB_* (high 4 bits of st_info). */
  readonly bind: number;
  /** STV_* (low 2 bits of st_other). */
  readonly visibility: number;
  readonly other: number;
  /** The section index, with SHN_XINDEX already resolved through `.symtab_shndx`. */
  readonly shndx: number;
  /** st_shndx as stored: tells SHN_ABS/SHN_COMMON apart from a real index ≥ 0xff00 reached through SHN_XINDEX. */
  readonly rawShndx: number;
}

export interface ElfRela {
  readonly offset: bigint;
  readonly type: number;
  readonly symbol: number;
  readonly addend: bigint;
}

const malformed = (reason: string): Either.Either<never, ObjfoldError> => Either.left({ _tag: "MalformedObject", reason });

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A u64 as a number when it is a safe integer, otherwise undefined. */
const u64AsNumber = (dv: DataView, off: number, le: boolean): number | undefined => {
  const lo = dv.getUint32(off + (le ? 0 : 4), le);
  const hi = dv.getUint32(off + (le ? 4 : 0), le);
  return hi < 0x200000 ? hi * 0x100000000 + lo : undefined;
};

/** Does [off, off+len) lie inside an input of `total` bytes? (All arguments are safe integers.) */
const inside = (off: number, len: number, total: number): boolean => off >= 0 && len >= 0 && off <= total && len <= total - off;

/** The NUL-terminated string at `off` of a string table; undefined when out of range or unterminated. */
const decoder = new TextDecoder("utf-8", { fatal: false });
const cString = (table: Uint8Array, off: number): string | undefined => {
  if (off >= table.length) return off === 0 && table.length === 0 ? "" : undefined;
  const end = table.indexOf(0, off);
  return end < 0 ? undefined : decoder.decode(table.subarray(off, end));
};

const hex = (n: number): string => `0x${n.toString(16)}`;

interface RawShdr {
  readonly name: number;
  readonly type: number;
  readonly flags: number | undefined;
  readonly addr: bigint;
  readonly offset: number | undefined;
  readonly size: number | undefined;
  readonly link: number;
  readonly info: number;
  readonly addralign: number | undefined;
  readonly entsize: number | undefined;
}

const rawShdr = (dv: DataView, at: number, le: boolean): RawShdr => ({
  name: dv.getUint32(at, le),
  type: dv.getUint32(at + 4, le),
  flags: u64AsNumber(dv, at + 8, le),
  addr: dv.getBigUint64(at + 16, le),
  offset: u64AsNumber(dv, at + 24, le),
  size: u64AsNumber(dv, at + 32, le),
  link: dv.getUint32(at + 40, le),
  info: dv.getUint32(at + 44, le),
  addralign: u64AsNumber(dv, at + 48, le),
  entsize: u64AsNumber(dv, at + 56, le),
});

/**
 * Read the ELF header and every section header (with its name) and check
 * that each section's data lies inside the input.
 */
export const readElf = (bytes: Uint8Array): Either.Either<ElfFile, ObjfoldError> => {
  const total = bytes.length;
  if (total < 16) return malformed(`${total} bytes is shorter than the ELF identification (16 bytes)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return malformed("wrong magic: not an ELF file");
  const cls = bytes[4]!;
  if (cls === ELFCLASS32) return malformed("ELFCLASS32 objects are not supported (only ELFCLASS64)");
  if (cls !== ELFCLASS64) return malformed(`unknown ELF class ${cls}`);
  const data = bytes[5]!;
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) return malformed(`unknown ELF data encoding ${data}`);
  const le = data === ELFDATA2LSB;
  if (total < EHDR_SIZE) return malformed(`${total} bytes is shorter than the ELF64 header (${EHDR_SIZE} bytes)`);
  const dv = view(bytes);
  const phoff = u64AsNumber(dv, 32, le);
  const shoff = u64AsNumber(dv, 40, le);
  const phentsize = dv.getUint16(54, le);
  const phnum = dv.getUint16(56, le);
  const shentsize = dv.getUint16(58, le);
  const rawShnum = dv.getUint16(60, le);
  const rawShstrndx = dv.getUint16(62, le);
  if (phoff === undefined) return malformed("e_phoff is out of range");
  if (shoff === undefined) return malformed("e_shoff is out of range");
  if (phnum > 0) {
    if (phentsize !== PHDR_SIZE) return malformed(`e_phentsize is ${phentsize}, expected ${PHDR_SIZE}`);
    if (!inside(phoff, phnum * PHDR_SIZE, total)) return malformed(`program header table (${phnum} entries at ${hex(phoff)}) lies outside the ${total}-byte file`);
  }

  // Section 0 carries the real count and .shstrtab index when they overflow (gABI "Sections").
  let shnum = rawShnum;
  let shstrndx = rawShstrndx;
  if (shoff !== 0) {
    if (shentsize !== SHDR_SIZE) return malformed(`e_shentsize is ${shentsize}, expected ${SHDR_SIZE}`);
    if (!inside(shoff, SHDR_SIZE, total)) return malformed(`section header table at ${hex(shoff)} lies outside the ${total}-byte file`);
    const zero = rawShdr(dv, shoff, le);
    if (rawShnum === 0) {
      if (zero.size === undefined) return malformed("section count in section 0's sh_size is out of range");
      shnum = zero.size;
    }
    if (rawShstrndx === SHN_XINDEX) shstrndx = zero.link;
    if (!inside(shoff, shnum * SHDR_SIZE, total)) return malformed(`section header table (${shnum} entries at ${hex(shoff)}) lies outside the ${total}-byte file`);
  } else if (rawShnum !== 0) {
    return malformed(`e_shnum is ${rawShnum} but e_shoff is 0`);
  }
  if (shnum > 0 && shstrndx >= shnum) return malformed(`e_shstrndx ${shstrndx} is not below the section count ${shnum}`);

  const raws: RawShdr[] = [];
  for (let i = 0; i < shnum; i++) raws.push(rawShdr(dv, shoff + i * SHDR_SIZE, le));

  const checked: Array<Omit<ElfSection, "name">> = [];
  for (let i = 0; i < raws.length; i++) {
    const r = raws[i]!;
    const { flags, offset, size, addralign, entsize } = r;
    if (flags === undefined || offset === undefined || size === undefined || addralign === undefined || entsize === undefined)
      return malformed(`section ${i}: a 64-bit field (flags, offset, size, alignment or entry size) is out of range`);
    // Section 0 holds the overflow fields, not data; SHT_NOBITS occupies no file bytes.
    if (i > 0 && r.type !== SHT_NOBITS && !inside(offset, size, total))
      return malformed(`section ${i}: data (${size} bytes at ${hex(offset)}) lies outside the ${total}-byte file`);
    checked.push({ index: i, nameOffset: r.name, type: r.type, flags, addr: r.addr, offset, size, link: r.link, info: r.info, addralign, entsize });
  }

  const strSection = shnum > 0 && shstrndx !== SHN_UNDEF ? checked[shstrndx] : undefined;
  if (strSection !== undefined && strSection.type === SHT_NOBITS) return malformed(`section name table (section ${shstrndx}) has no data`);
  const names = strSection === undefined ? new Uint8Array(0) : bytes.subarray(strSection.offset, strSection.offset + strSection.size);
  const sections: ElfSection[] = [];
  for (const s of checked) {
    const name = strSection === undefined ? "" : cString(names, s.nameOffset);
    if (name === undefined) return malformed(`section ${s.index}: name offset ${s.nameOffset} is outside the section name table or unterminated`);
    sections.push({ ...s, name });
  }

  return Either.right({
    header: {
      littleEndian: le,
      identVersion: bytes[6]!,
      osAbi: bytes[7]!,
      abiVersion: bytes[8]!,
      type: dv.getUint16(16, le),
      machine: dv.getUint16(18, le),
      version: dv.getUint32(20, le),
      entry: dv.getBigUint64(24, le),
      phoff,
      shoff,
      flags: dv.getUint32(48, le),
      ehsize: dv.getUint16(52, le),
      phentsize,
      phnum,
      shentsize,
      shnum,
      shstrndx,
      rawShnum,
      rawShstrndx,
    },
    sections,
    bytes,
  });
};

/** Does the symbol's st_shndx name a reserved index (SHN_ABS, SHN_COMMON, …) rather than a section? */
export const isReservedIndex = (s: ElfSymbol): boolean => s.rawShndx >= SHN_LORESERVE && s.rawShndx !== SHN_XINDEX;

/** A section's bytes (a view into the input; empty for SHT_NOBITS and the null section). */
export const sectionData = (elf: ElfFile, s: ElfSection): Uint8Array =>
  s.type === SHT_NOBITS || s.index === 0 ? new Uint8Array(0) : elf.bytes.subarray(s.offset, s.offset + s.size);

/** The first section with this name. */
export const sectionByName = (elf: ElfFile, name: string): ElfSection | undefined => elf.sections.find((s) => s.name === name);

/** The section whose header is at `index`, or a `MalformedObject` naming `what` refers to it. */
const sectionAt = (elf: ElfFile, index: number, what: string): Either.Either<ElfSection, ObjfoldError> => {
  const s = elf.sections[index];
  return s === undefined ? malformed(`${what} refers to section ${index}, but there are ${elf.sections.length}`) : Either.right(s);
};

const tableEntries = (s: ElfSection, entry: number, what: string): Either.Either<number, ObjfoldError> => {
  // Section 0 carries header overflow fields, never data.
  if (s.type === SHT_NOBITS || s.index === 0) return malformed(`${what} (section ${s.index}) has no data`);
  if (s.entsize !== entry) return malformed(`${what} (section ${s.index}) has entry size ${s.entsize}, expected ${entry}`);
  if (s.size % entry !== 0) return malformed(`${what} (section ${s.index}) size ${s.size} is not a multiple of ${entry}`);
  return Either.right(s.size / entry);
};

/**
 * The symbols of a SHT_SYMTAB or SHT_DYNSYM section, the null symbol at index
 * 0 included, with names from the linked string table and SHN_XINDEX section
 * indices resolved through the matching SHT_SYMTAB_SHNDX section.
 */
export const readSymbols = (elf: ElfFile, symtab: ElfSection): Either.Either<ReadonlyArray<ElfSymbol>, ObjfoldError> => {
  const what = `symbol table ${JSON.stringify(symtab.name)}`;
  if (symtab.type !== SHT_SYMTAB && symtab.type !== SHT_DYNSYM) return malformed(`${what} (section ${symtab.index}) is not a symbol table`);
  return Either.gen(function* () {
    const count = yield* tableEntries(symtab, SYM_SIZE, what);
    const strtab = yield* sectionAt(elf, symtab.link, what);
    if (strtab.type !== SHT_STRTAB) return yield* malformed(`${what} links to section ${strtab.index}, which is not a string table`);
    const strings = sectionData(elf, strtab);
    const shndxSection = elf.sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
    let xindex: Uint8Array | undefined;
    if (shndxSection !== undefined) {
      xindex = sectionData(elf, shndxSection);
      if (xindex.length < count * 4) return yield* malformed(`extended section index table (section ${shndxSection.index}) is shorter than ${count} entries`);
    }
    const le = elf.header.littleEndian;
    const dv = view(sectionData(elf, symtab));
    const xv = xindex === undefined ? undefined : view(xindex);
    const out: ElfSymbol[] = [];
    for (let i = 0; i < count; i++) {
      const at = i * SYM_SIZE;
      const nameOff = dv.getUint32(at, le);
      const info = dv.getUint8(at + 4);
      const other = dv.getUint8(at + 5);
      const rawShndx = dv.getUint16(at + 6, le);
      const name = cString(strings, nameOff);
      if (name === undefined) return yield* malformed(`${what}: symbol ${i} name offset ${nameOff} is outside the string table or unterminated`);
      let shndx = rawShndx;
      if (rawShndx === SHN_XINDEX) {
        if (xv === undefined) return yield* malformed(`${what}: symbol ${i} uses SHN_XINDEX but there is no SHT_SYMTAB_SHNDX section`);
        shndx = xv.getUint32(i * 4, le);
      }
      out.push({
        index: i,
        name,
        value: dv.getBigUint64(at + 8, le),
        size: dv.getBigUint64(at + 16, le),
        type: info & 0xf,
        bind: info >> 4,
        visibility: other & 0x3,
        other,
        shndx,
        rawShndx,
      });
    }
    return out;
  });
};

/**
 * The entries of a SHT_RELA section. When the section links to a symbol
 * table, each symbol index is checked against that table's size.
 */
export const readRela = (elf: ElfFile, rela: ElfSection): Either.Either<ReadonlyArray<ElfRela>, ObjfoldError> => {
  const what = `relocation section ${JSON.stringify(rela.name)}`;
  if (rela.type !== SHT_RELA) return malformed(`${what} (section ${rela.index}) is not SHT_RELA`);
  return Either.gen(function* () {
    const count = yield* tableEntries(rela, RELA_SIZE, what);
    const linked = elf.sections[rela.link];
    const symbols = linked !== undefined && (linked.type === SHT_SYMTAB || linked.type === SHT_DYNSYM) && linked.entsize === SYM_SIZE ? Math.floor(linked.size / SYM_SIZE) : undefined;
    const le = elf.header.littleEndian;
    const dv = view(sectionData(elf, rela));
    const out: ElfRela[] = [];
    for (let i = 0; i < count; i++) {
      const at = i * RELA_SIZE;
      // ELF64 r_info: symbol in the high 32 bits, type in the low 32.
      const symbol = dv.getUint32(at + 8 + (le ? 4 : 0), le);
      const type = dv.getUint32(at + 8 + (le ? 0 : 4), le);
      if (symbols !== undefined && symbol >= symbols) return yield* malformed(`${what}: entry ${i} refers to symbol ${symbol}, but the symbol table has ${symbols}`);
      out.push({ offset: dv.getBigUint64(at, le), type, symbol, addend: dv.getBigInt64(at + 16, le) });
    }
    return out;
  });
};
