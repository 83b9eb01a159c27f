/**
 * The ELF64 relocatable object, laid out as the `object` crate's writer lays
 * it out (reference §9): header; each section's data in creation order on
 * its alignment; `.symtab` (align 8); `.strtab`; `.shstrtab`; the section
 * header table (align 8). Every offset is planned first; the writer then
 * fills one exact-size buffer and checks each position against the plan.
 */
import { ByteWriter } from "../bytes/writer.js";
import { alignUp } from "../layout/islands.js";
import type { PatchColumns, TextPlan } from "../layout/plan.js";
import { EF_WASMTIME_COMPONENT, EF_WASMTIME_MODULE } from "../target.js";
import * as E from "./constants.js";
import { buildStringTable, type StringTable } from "./strtab.js";

/** A section after `.text` (unwind tables): its bytes come from `write`. */
export interface ExtraSection {
  readonly name: string;
  readonly align: number;
  readonly size: number;
  readonly write: (w: ByteWriter) => void;
}

export interface SectionPlan {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly align: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
  readonly nameOffset: number;
}

export interface ObjectPlan {
  readonly text: TextPlan;
  readonly extras: ReadonlyArray<ExtraSection>;
  /** Index 0 is the null section. */
  readonly sections: ReadonlyArray<SectionPlan>;
  readonly symbolCount: number;
  readonly strtab: StringTable;
  readonly shstrtab: StringTable;
  readonly symtabOffset: number;
  readonly strtabOffset: number;
  readonly shstrtabOffset: number;
  readonly shoff: number;
  readonly fileSize: number;
  readonly osAbi: number;
  readonly flags: number;
}

const TEXT_INDEX = 1;

export const planObject = (text: TextPlan, extras: ReadonlyArray<ExtraSection>): ObjectPlan => {
  const { target, header } = text;
  const { name, count } = text.fns;
  const symbols: ReadonlyArray<string> = !header.symbols ? [] : name.length === count ? name : name.slice(0, count);
  const strtab = buildStringTable(symbols);
  const names = [".text", ...extras.map((e) => e.name), ".symtab", ".strtab", ".shstrtab"];
  const shstrtab = buildStringTable(names);

  // Section data in creation order; an empty section takes the current offset unaligned (object's `reserve`).
  let pos = E.EHDR_SIZE;
  const reserve = (size: number, align: number): number => {
    if (size === 0) return pos;
    pos = alignUp(pos, align);
    const at = pos;
    pos += size;
    return at;
  };
  const sections: SectionPlan[] = [
    { name: "", type: E.SHT_NULL, flags: 0, offset: 0, size: 0, align: 0, link: 0, info: 0, entsize: 0, nameOffset: 0 },
  ];
  const textFlags = target.arch === "pulley" ? E.SH_WASMTIME_NOT_EXECUTED : E.SHF_ALLOC | E.SHF_EXECINSTR;
  sections.push({
    name: ".text",
    type: E.SHT_PROGBITS,
    flags: textFlags,
    offset: reserve(text.textSize, target.textAlign),
    size: text.textSize,
    align: target.textAlign,
    link: 0,
    info: 0,
    entsize: 0,
    nameOffset: shstrtab.offsets[0]!,
  });
  extras.forEach((e, k) =>
    sections.push({
      name: e.name,
      type: E.SHT_PROGBITS,
      flags: E.SHF_ALLOC,
      offset: reserve(e.size, e.align),
      size: e.size,
      align: e.align,
      link: 0,
      info: 0,
      entsize: 0,
      nameOffset: shstrtab.offsets[1 + k]!,
    }),
  );
  const symtabIndex = sections.length;
  const symbolCount = 1 + symbols.length;
  const symtabOffset = reserve(symbolCount * E.SYM_SIZE, 8);
  const strtabOffset = reserve(strtab.size, 1);
  const shstrtabOffset = reserve(shstrtab.size, 1);
  const n = extras.length;
  sections.push({
    name: ".symtab",
    type: E.SHT_SYMTAB,
    flags: 0,
    offset: symtabOffset,
    size: symbolCount * E.SYM_SIZE,
    align: 8,
    link: symtabIndex + 1,
    info: symbolCount, // every symbol is local: sh_info = one past the last local
    entsize: E.SYM_SIZE,
    nameOffset: shstrtab.offsets[1 + n]!,
  });
  sections.push({ name: ".strtab", type: E.SHT_STRTAB, flags: 0, offset: strtabOffset, size: strtab.size, align: 1, link: 0, info: 0, entsize: 0, nameOffset: shstrtab.offsets[2 + n]! });
  sections.push({ name: ".shstrtab", type: E.SHT_STRTAB, flags: 0, offset: shstrtabOffset, size: shstrtab.size, align: 1, link: 0, info: 0, entsize: 0, nameOffset: shstrtab.offsets[3 + n]! });
  const shoff = reserve(sections.length * E.SHDR_SIZE, 8);
  const kindFlag = header.wasmtime === "module" ? EF_WASMTIME_MODULE : header.wasmtime === "component" ? EF_WASMTIME_COMPONENT : 0;
  return {
    text,
    extras,
    sections,
    symbolCount,
    strtab,
    shstrtab,
    symtabOffset,
    strtabOffset,
    shstrtabOffset,
    shoff,
    fileSize: pos,
    osAbi: header.wasmtime === undefined ? E.ELFOSABI_NONE : E.ELFOSABI_WASMTIME,
    flags: target.archFlags | kindFlag,
  };
};

const writeStrings = (w: ByteWriter, base: number, t: StringTable): void => {
  w.pos = base;
  w.bytes(t.bytes);
};

// The loops below each have a function of their own: a function that runs
// once is optimized inside its first long loop and deoptimized where the next
// begins (see `elf/strtab.ts`).

const applyPatches = (buf: Uint8Array, base: number, p: PatchColumns): void => {
  const pAt = p.at, pLabel = p.label, pUse = p.use, uses = p.uses;
  for (let k = 0; k < p.count; k++) {
    const at = pAt[k]!;
    uses[pUse[k]!]!.patch(buf, base + at, pLabel[k]! - at);
  }
};

/** One local STT_FUNC per function, after the null symbol. */
const writeSymbols = (w: ByteWriter, names: Uint32Array, offsets: Uint32Array, lengths: Uint32Array): void => {
  for (let k = 0; k < offsets.length; k++) {
    w.u32(names[k]!);
    w.u8((E.STB_LOCAL << 4) | E.STT_FUNC);
    w.u8(E.STV_DEFAULT);
    w.u16(TEXT_INDEX);
    w.i64(offsets[k]!);
    w.i64(lengths[k]!);
  }
};

/** Fill one buffer of `plan.fileSize` bytes. The only place the object's bytes are written. */
export const writeObject = (plan: ObjectPlan): Uint8Array => {
  const { text, sections } = plan;
  const w = new ByteWriter(plan.fileSize, text.target.littleEndian);
  // ELF header
  w.bytes(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, E.ELFCLASS64, text.target.littleEndian ? E.ELFDATA2LSB : E.ELFDATA2MSB, E.EV_CURRENT, plan.osAbi, 0]));
  w.zeros(7);
  w.u16(E.ET_REL);
  w.u16(text.target.machine);
  w.u32(E.EV_CURRENT);
  w.i64(0); // e_entry
  w.i64(0); // e_phoff
  w.i64(plan.shoff);
  w.u32(plan.flags);
  w.u16(E.EHDR_SIZE);
  w.u16(0); // e_phentsize
  w.u16(0); // e_phnum
  w.u16(E.SHDR_SIZE);
  w.u16(sections.length);
  w.u16(sections.length - 1); // .shstrtab is last
  w.expect(E.EHDR_SIZE, "ELF header");

  // .text: bodies, host-call bytes, patches, veneers. Alignment fill and page padding stay zero.
  const base = sections[TEXT_INDEX]!.offset;
  const buf = w.buf;
  // Indexed loops over the plan's columns: these run once per function or call (docs/performance.md).
  const fns = text.fns;
  text.text.copyInto(buf, base, text.textLength, fns.offset);
  for (const h of text.hostCalls) buf[base + h.at] = h.value;
  for (const i of text.islands) for (const v of i.veneers) v.use.veneer!.write(buf, base + v.offset);
  applyPatches(buf, base, text.patchColumns);

  plan.extras.forEach((e, k) => {
    const s = sections[TEXT_INDEX + 1 + k]!;
    w.pos = s.offset;
    e.write(w);
    w.expect(s.offset + s.size, e.name);
  });

  // .symtab: the null symbol, then one local STT_FUNC per function.
  w.pos = plan.symtabOffset + E.SYM_SIZE;
  if (text.header.symbols) writeSymbols(w, plan.strtab.offsets, fns.offset, fns.length);
  w.expect(plan.symtabOffset + plan.symbolCount * E.SYM_SIZE, ".symtab");
  writeStrings(w, plan.strtabOffset, plan.strtab);
  writeStrings(w, plan.shstrtabOffset, plan.shstrtab);

  w.pos = plan.shoff;
  for (const s of sections) {
    w.u32(s.nameOffset);
    w.u32(s.type);
    w.i64(s.flags);
    w.i64(0); // sh_addr
    w.i64(s.offset);
    w.i64(s.size);
    w.u32(s.link);
    w.u32(s.info);
    w.i64(s.align);
    w.i64(s.entsize);
  }
  w.expect(plan.fileSize, "section headers");
  return buf;
};
