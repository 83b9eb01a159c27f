/**
 * A minimal ELF64 reader for tests: section headers and symbols, nothing
 * else. Deliberately separate from objfold's own code so a test does not
 * read back an object with the code that wrote it.
 */

export interface ElfSection {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly align: number;
}

export interface ElfSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  readonly info: number;
  readonly shndx: number;
}

export interface ElfView {
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly sections: ReadonlyArray<ElfSection>;
  readonly symbols: ReadonlyArray<ElfSymbol>;
  section(name: string): ElfSection;
}

const cstr = (b: Uint8Array, at: number): string => {
  let end = at;
  while (b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(at, end));
};

export const readElf = (bytes: Uint8Array): ElfView => {
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46 || bytes[4] !== 2) throw new Error("not an ELF64 file");
  const le = bytes[5] === 1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const u64 = (o: number) => Number(dv.getBigUint64(o, le));
  const shoff = u64(0x28);
  const shnum = u16(0x3c);
  const shstrndx = u16(0x3e);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const h = shoff + 64 * i;
    return { nameOff: u32(h), type: u32(h + 4), flags: u64(h + 8), offset: u64(h + 24), size: u64(h + 32), link: u32(h + 40), align: u64(h + 48) };
  });
  const shstr = raw[shstrndx]!;
  const sections = raw.map((s) => ({ name: cstr(bytes, shstr.offset + s.nameOff), type: s.type, flags: s.flags, offset: s.offset, size: s.size, align: s.align }));
  const symtab = raw.find((s) => s.type === 2);
  const symbols: ElfSymbol[] = [];
  if (symtab !== undefined) {
    const strtab = raw[symtab.link]!;
    for (let o = symtab.offset; o < symtab.offset + symtab.size; o += 24) {
      symbols.push({ name: cstr(bytes, strtab.offset + u32(o)), info: bytes[o + 4]!, shndx: u16(o + 6), value: u64(o + 8), size: u64(o + 16) });
    }
  }
  return {
    littleEndian: le,
    machine: u16(0x12),
    sections,
    symbols,
    section(name) {
      const s = sections.find((x) => x.name === name);
      if (s === undefined) throw new Error(`no section ${name}`);
      return s;
    },
  };
};
