/**
 * The ELF64 relocatable object, laid out as the `object` crate's writer lays
 * it out (reference §9): header; each section's data in creation order on
 * its alignment; `.symtab` (align 8); `.strtab`; `.shstrtab`; the section
 * header table (align 8). Every offset is planned first; the writer then
 * fills one exact-size buffer and checks each position against the plan.
 */
import type { SectionRun } from "../bytes/runs.js";
import { ByteWriter, Defect, writeBytes } from "../bytes/writer.js";
import { alignUp } from "../layout/islands.js";
import type { PatchColumns, TextPlan } from "../layout/plan.js";
import { EF_WASMTIME_COMPONENT, EF_WASMTIME_MODULE } from "../target.js";
import * as E from "./constants.js";
import { buildStringTable, buildStringTableOfIds, buildStringTableOfNames, type StringTable } from "./strtab.js";

/** A section after `.text` (unwind tables). */
export interface ExtraSection {
  readonly name: string;
  readonly align: number;
  readonly size: number;
  /**
   * The section cut into runs of about `bytes` bytes (one run for an
   * infinite `bytes`), each written by its own `write` from the writer's
   * position; a section that is not cut gives one run (`wholeSection`).
   */
  readonly runs: (bytes: number) => ReadonlyArray<SectionRun>;
}

/** The `runs` of a section written whole, whatever the window. */
export const wholeSection =
  (size: number, write: (w: ByteWriter) => void) =>
  (): ReadonlyArray<SectionRun> => [{ offset: 0, size, write }];

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
  /**
   * Where function k's name is in `strtab.offsets`: at `strtabIndex[k]`, or
   * at k when undefined. The table holds every name of the fold, in id
   * order, when every name is a function's (the usual case: each call
   * target is some function's name); otherwise only the functions' names,
   * in function order.
   */
  readonly strtabIndex: Uint32Array | undefined;
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
  const { nameId } = text.fns;
  // The symbols' names straight from the fold's pool of interned names (no string per name).
  // Every name a function's (names are distinct per function): the table of all names, as they lie in the pool.
  const allNames = header.symbols && text.fns.names.size === nameId.length;
  const strtab = !header.symbols ? buildStringTable([]) : allNames ? buildStringTableOfNames(text.fns.names.bytes()) : buildStringTableOfIds(text.fns.names.bytes(), nameId);
  const symbolsCount = header.symbols ? nameId.length : 0;
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
  const symbolCount = 1 + symbolsCount;
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
    strtabIndex: allNames ? nameId : undefined,
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

// The object as pieces: non-overlapping file ranges in file order, each
// filled by one function from its own start. `writeObject` fills them into
// one buffer; `objectParts` hands them out one at a time, so a writer to a
// file never holds the whole object (docs/performance.md, "Memory"). The
// gaps between pieces are zero in both.

/** A file range `[offset, offset + size)` and how to fill it, starting at the writer's position. */
type Piece = SectionRun;

/** A section's runs as pieces of the file, the section starting at file offset `base`. */
const piecesOf = (base: number, runs: ReadonlyArray<SectionRun>): Piece[] => runs.map((r) => ({ offset: base + r.offset, size: r.size, write: r.write }));

// The loops below each have a function of their own: a function that runs
// once is optimized inside its first long loop and deoptimized where the next
// begins (see `elf/strtab.ts`).

/** Patches `order[from, to)` (indices into the columns; the rows themselves without `order`), text offset 0 being `buf[base]`. */
const applyPatches = (buf: Uint8Array, base: number, p: PatchColumns, order: Int32Array | undefined, from: number, to: number): void => {
  const pAt = p.at, pLabel = p.label, pUse = p.use, uses = p.uses;
  for (let j = from; j < to; j++) {
    const k = order === undefined ? j : order[j]!;
    const at = pAt[k]!;
    uses[pUse[k]!]!.patch(buf, base + at, pLabel[k]! - at);
  }
};

/**
 * Symbols `[from, to)`: one local STT_FUNC per function (the null symbol
 * comes before the first). Four 32-bit stores a symbol, not eight writes:
 * st_info, st_other and st_shndx are one word, and st_value and st_size
 * (text offsets and lengths, below 2^32) only their low words, the high
 * ones being the writer's zeros (at 10⁶ symbols, docs/performance.md).
 */
const writeSymbols = (w: ByteWriter, names: Uint32Array, index: Uint32Array | undefined, offsets: Uint32Array, lengths: Uint32Array, from: number, to: number): void => {
  const le = w.littleEndian;
  const view = new DataView(w.buf.buffer, w.buf.byteOffset, w.buf.byteLength);
  const info = (E.STB_LOCAL << 4) | E.STT_FUNC;
  const word = (le ? info | (E.STV_DEFAULT << 8) | (TEXT_INDEX << 16) : (info << 24) | (E.STV_DEFAULT << 16) | TEXT_INDEX) >>> 0;
  const low = le ? 0 : 4; // where an 8-byte field's low word is
  let p = w.pos;
  for (let k = from; k < to; k++) {
    view.setUint32(p, names[index === undefined ? k : index[k]!]!, le);
    view.setUint32(p + 4, word, le);
    view.setUint32(p + 8 + low, offsets[k]!, le);
    view.setUint32(p + 16 + low, lengths[k]!, le);
    p += E.SYM_SIZE;
  }
  w.pos = p;
};

/** A run of `.text`: text offsets `[lo, hi)`, holding functions `[fnFrom, fnTo)` whole. */
interface TextWindow {
  readonly lo: number;
  readonly hi: number;
  readonly fnFrom: number;
  readonly fnTo: number;
}

/**
 * Cut `.text` at function starts into windows of about `bytes` bytes (one
 * window when `bytes` is Infinity). Everything written into the text — a
 * body, its host-call bytes and patched sites, an island and its veneers —
 * lies between one function's start and the next's, so no write crosses a cut.
 */
const textWindows = (text: TextPlan, bytes: number): TextWindow[] => {
  const { offset, count } = text.fns;
  if (bytes >= text.textSize) return [{ lo: 0, hi: text.textSize, fnFrom: 0, fnTo: count }];
  const windows: TextWindow[] = [];
  let lo = 0;
  let from = 0;
  for (let k = 0; k < count; k++) {
    const o = offset[k]!;
    if (o - lo < bytes || o === lo) continue;
    windows.push({ lo, hi: o, fnFrom: from, fnTo: k });
    lo = o;
    from = k;
  }
  windows.push({ lo, hi: text.textSize, fnFrom: from, fnTo: count });
  return windows;
};

/** Index of the window holding text offset `at`, looked for near `w` first (patches come mostly in text order). */
const windowAt = (windows: ReadonlyArray<TextWindow>, at: number, w: number): number => {
  const n = windows.length;
  if (at >= windows[w]!.lo && (w + 1 === n || at < windows[w + 1]!.lo)) return w;
  if (w + 1 < n && at >= windows[w + 1]!.lo && (w + 2 === n || at < windows[w + 2]!.lo)) return w + 1;
  let a = 0;
  let b = n - 1;
  while (a < b) {
    const m = (a + b + 1) >>> 1;
    if (windows[m]!.lo <= at) a = m;
    else b = m - 1;
  }
  return a;
};

/**
 * The patches grouped by window, keeping their order within each (a stable
 * counting sort): window w's are `order[start[w], start[w + 1])`, or the
 * columns' own rows `start[w], start[w + 1]` when the patches are in text
 * order already (`order` undefined: no call goes through an island).
 * Islands decide patches as labels become known, not in text order.
 */
const patchesByWindow = (p: PatchColumns, windows: ReadonlyArray<TextWindow>): { order: Int32Array | undefined; start: Int32Array } => {
  const n = windows.length;
  const start = new Int32Array(n + 1);
  let w = 0;
  let sorted = true;
  for (let k = 0; k < p.count; k++) {
    const v = windowAt(windows, p.at[k]!, w);
    if (v < w) sorted = false;
    w = v;
    start[v + 1]!++;
  }
  for (let v = 0; v < n; v++) start[v + 1]! += start[v]!;
  if (sorted) return { order: undefined, start };
  // Out of order (islands): place each patch after those of its window so far (its window looked up again).
  const next = start.slice(0, n);
  const order = new Int32Array(p.count);
  w = 0;
  for (let k = 0; k < p.count; k++) {
    w = windowAt(windows, p.at[k]!, w);
    order[next[w]!++] = k;
  }
  return { order, start };
};

/** `.text` as pieces: bodies, host-call bytes, veneers and patches. Alignment fill and page padding stay zero. */
const textPieces = (plan: ObjectPlan, windowBytes: number): Piece[] => {
  const { text } = plan;
  const base = plan.sections[TEXT_INDEX]!.offset;
  const windows = textWindows(text, windowBytes);
  const p = text.patchColumns;
  const grouped = windows.length === 1 ? undefined : patchesByWindow(p, windows);
  const { hostCalls, islands } = text;
  let host = 0;
  let island = 0;
  return windows.map((win, w) => {
    // Host-call writes and islands are in text order: each window takes the next run of them.
    const hostFrom = host;
    while (host < hostCalls.length && hostCalls[host]!.at < win.hi) host++;
    const hostTo = host;
    const islandFrom = island;
    while (island < islands.length && islands[island]!.offset < win.hi) island++;
    const islandTo = island;
    const write = (wr: ByteWriter): void => {
      const at0 = wr.pos - win.lo; // buffer index of text offset 0
      const buf = wr.buf;
      text.text.copyRange(buf, at0, win.lo, Math.min(win.hi, text.textLength), text.fns.offset, win.fnFrom, win.fnTo);
      for (let h = hostFrom; h < hostTo; h++) buf[at0 + hostCalls[h]!.at] = hostCalls[h]!.value;
      for (let i = islandFrom; i < islandTo; i++) for (const v of islands[i]!.veneers) v.use.veneer!.write(buf, at0 + v.offset);
      if (grouped === undefined) applyPatches(buf, at0, p, undefined, 0, p.count);
      else applyPatches(buf, at0, p, grouped.order, grouped.start[w]!, grouped.start[w + 1]!);
      wr.pos = at0 + win.hi;
    };
    return { offset: base + win.lo, size: win.hi - win.lo, write };
  });
};

/** Every piece of the object, in file order; `windowBytes` bounds the `.text` and `.symtab` pieces (roughly). */
const pieces = (plan: ObjectPlan, windowBytes: number): Piece[] => {
  const { text, sections } = plan;
  const le = text.target.littleEndian;
  const out: Piece[] = [{ offset: 0, size: E.EHDR_SIZE, write: (w) => writeHeader(w, plan, le) }];
  if (text.textSize > 0) out.push(...textPieces(plan, windowBytes));
  plan.extras.forEach((e, k) => {
    const s = sections[TEXT_INDEX + 1 + k]!;
    if (s.size > 0) out.push(...piecesOf(s.offset, e.runs(windowBytes)));
  });
  // .symtab: the null symbol (zeros), then one local STT_FUNC per function.
  const fns = text.fns;
  const symbols = plan.symbolCount - 1;
  const per = windowBytes === Infinity ? symbols : Math.max(1, Math.floor(windowBytes / E.SYM_SIZE));
  out.push({ offset: plan.symtabOffset, size: E.SYM_SIZE, write: (w) => w.zeros(E.SYM_SIZE) });
  for (let from = 0; from < symbols; from += per) {
    const to = Math.min(symbols, from + per);
    out.push({
      offset: plan.symtabOffset + (1 + from) * E.SYM_SIZE,
      size: (to - from) * E.SYM_SIZE,
      write: (w) => writeSymbols(w, plan.strtab.offsets, plan.strtabIndex, fns.offset, fns.length, from, to),
    });
  }
  out.push(...piecesOf(plan.strtabOffset, plan.strtab.runs(windowBytes)), ...piecesOf(plan.shstrtabOffset, plan.shstrtab.runs(windowBytes)));
  out.push({ offset: plan.shoff, size: sections.length * E.SHDR_SIZE, write: (w) => writeSectionHeaders(w, sections) });
  return out;
};

const writeHeader = (w: ByteWriter, plan: ObjectPlan, le: boolean): void => {
  const { text, sections } = plan;
  w.bytes(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, E.ELFCLASS64, le ? E.ELFDATA2LSB : E.ELFDATA2MSB, E.EV_CURRENT, plan.osAbi, 0]));
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
};

const writeSectionHeaders = (w: ByteWriter, sections: ReadonlyArray<SectionPlan>): void => {
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
};

/** Fill one buffer of `plan.fileSize` bytes with every piece, each checked against the plan. */
export const writeObject = (plan: ObjectPlan): Uint8Array => {
  const w = new ByteWriter(plan.fileSize, plan.text.target.littleEndian);
  for (const p of pieces(plan, Infinity)) {
    w.pos = p.offset;
    p.write(w);
    w.expect(p.offset + p.size, "object piece");
  }
  return w.buf;
};

/**
 * The object as a sequence of byte arrays whose concatenation is
 * `writeObject(plan)`: what the CLI writes to a file, so that the whole
 * object is never in memory at once (docs/performance.md, "Memory"). No
 * part is much larger than `windowBytes`: `.text` is cut at function starts,
 * `.eh_frame` between entries, `.symtab` between symbols and `.strtab`
 * between names; only `.xdata` and `.pdata` come whole.
 *
 * Each part is a fresh buffer; or, with `reuse`, a view of one buffer the
 * generator owns and fills again for the next part, so that a writer to a
 * file leaves no garbage behind it (fresh 1 MiB parts were ~35 MB waiting
 * for the collector at the peak of a 10⁶-function encode): then a part is
 * valid only until the next is asked for.
 */
export function* objectParts(plan: ObjectPlan, windowBytes = 1 << 20, reuse = false): Generator<Uint8Array, void, undefined> {
  const le = plan.text.target.littleEndian;
  let scratch = new Uint8Array(0);
  let pos = 0;
  for (const p of pieces(plan, windowBytes)) {
    if (pos < p.offset) yield new Uint8Array(p.offset - pos); // alignment fill: short
    else if (pos !== p.offset) throw new Defect(`object piece at ${p.offset} overlaps the one before (ends at ${pos})`);
    if (!reuse) yield writeBytes(p.size, le, p.write);
    else {
      if (scratch.length < p.size) scratch = new Uint8Array(Math.max(p.size, windowBytes === Infinity ? 0 : Math.min(2 * windowBytes, 1 << 24)));
      else scratch.fill(0, 0, p.size);
      yield writeBytes(p.size, le, p.write, scratch);
    }
    pos = p.offset + p.size;
  }
  if (pos !== plan.fileSize) throw new Defect(`object parts end at ${pos}, plan says ${plan.fileSize}`);
}
