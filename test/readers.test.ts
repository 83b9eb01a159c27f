/**
 * The ELF reader and the `.eh_frame` parser, checked against tools nobody
 * here wrote: `readelf -h/-S/-s/-r -W` for the ELF structures and
 * `readelf --debug-dump=frames` / `frames-interp` for CIEs, FDEs and the
 * unwind rows, on gcc's objects (the shared fixtures) and on objects objfold
 * writes. Then malformed input: every truncation, wrong magic, ELFCLASS32,
 * absurd counts and random mutations give a typed error, never an exception.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Either } from "effect";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { readElf, readRela, readSymbols, sectionData, SHT_RELA, type ElfFile } from "../src/elf/read.js";
import { SHT_SYMTAB } from "../src/elf/constants.js";
import { encodeModule } from "../src/encode.js";
import type { ObjfoldError } from "../src/errors.js";
import { importObject } from "../src/importer/index.js";
import { parseModule } from "../src/schema/decode.js";
import { fdeRows, parseEhFrame, unwindRows, type EhFrame, type RegisterRule, type UnwindRow } from "../src/unwind/systemv/parse.js";
import { requireTools, run } from "./support/tools.js";

const ARCHES = ["x86_64", "aarch64", "riscv64", "s390x"] as const;
type ArchName = (typeof ARCHES)[number];
const fixturePath = (arch: ArchName, file: string): string => join(import.meta.dirname, "fixtures", "import", arch, file);
const gccObject = (arch: ArchName): Uint8Array => new Uint8Array(readFileSync(fixturePath(arch, "sample.o")));

const right = <A>(r: Either.Either<A, ObjfoldError>): A => {
  if (Either.isLeft(r)) throw new Error(`expected a value, got ${JSON.stringify(r.left)}`);
  return r.right;
};
const left = (r: Either.Either<unknown, ObjfoldError>): ObjfoldError => {
  if (Either.isRight(r)) throw new Error("expected an error, got a value");
  return r.left;
};

/** Objects objfold itself writes from the same fixtures (what `inspect` will read). */
const objfoldObject = (arch: ArchName): Uint8Array => {
  const m = right(parseModule(readFileSync(fixturePath(arch, "sample.jsonl"), "utf8")));
  return right(encodeModule({ header: m.header, items: m.items }));
};

const SOURCES: ReadonlyArray<{ what: string; arch: ArchName; bytes: () => Uint8Array }> = [
  ...ARCHES.map((arch) => ({ what: `gcc ${arch} sample.o`, arch, bytes: () => gccObject(arch) })),
  ...ARCHES.map((arch) => ({ what: `objfold ${arch} object`, arch, bytes: () => objfoldObject(arch) })),
];

/** readelf reads files; hand it the bytes through a temporary file. */
const work = mkdtempSync(join(tmpdir(), "objfold-readers-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let fileCounter = 0;
const onDisk = (bytes: Uint8Array): string => {
  const p = join(work, `o${fileCounter++}.o`);
  writeFileSync(p, bytes);
  return p;
};
const readelf = (args: string[], bytes: Uint8Array): string => run("readelf", ["-W", ...args, onDisk(bytes)]);

// ---------------------------------------------------------------- ELF structures vs readelf

const FLAG_LETTERS: ReadonlyArray<[number, string]> = [
  [0x1, "W"],
  [0x2, "A"],
  [0x4, "X"],
  [0x10, "M"],
  [0x20, "S"],
  [0x40, "I"],
  [0x80, "L"],
  [0x100, "O"],
  [0x200, "G"],
  [0x400, "T"],
  [0x800, "C"],
  [0x80000000, "E"],
];
const flagString = (flags: number): string => FLAG_LETTERS.filter(([b]) => (flags & b) !== 0).map(([, l]) => l).join("");

const SYMBOL_TYPES = ["NOTYPE", "OBJECT", "FUNC", "SECTION", "FILE", "COMMON", "TLS"];
const BINDS = ["LOCAL", "GLOBAL", "WEAK"];
const VISIBILITIES = ["DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED"];

describe("ELF reader vs readelf", () => {
  for (const src of SOURCES) {
    it(`${src.what}: header`, () => {
      if (!requireTools("ELF header vs readelf", "readelf")) return;
      const bytes = src.bytes();
      const elf = right(readElf(bytes));
      const text = readelf(["-h"], bytes);
      const field = (name: string): string => {
        const m = new RegExp(`^\\s*${name}:\\s+(.*)$`, "m").exec(text);
        if (m === null) throw new Error(`readelf -h has no ${name}`);
        return m[1]!.trim();
      };
      expect(field("Class")).toBe("ELF64");
      expect(field("Data").includes(elf.header.littleEndian ? "little endian" : "big endian")).toBe(true);
      expect(field("Type").startsWith("REL ")).toBe(elf.header.type === 1);
      expect(Number(field("Flags").split(",")[0])).toBe(elf.header.flags);
      expect(Number(field("Number of section headers"))).toBe(elf.header.shnum);
      expect(Number(field("Section header string table index"))).toBe(elf.header.shstrndx);
      expect(Number(field("Start of section headers").split(" ")[0])).toBe(elf.header.shoff);
      expect(BigInt(field("Entry point address"))).toBe(elf.header.entry);
      const machine = field("Machine");
      const machines: Record<number, string> = { 62: "X86-64", 183: "AArch64", 243: "RISC-V", 22: "S/390" };
      expect(machine).toContain(machines[elf.header.machine]);
    });

    it(`${src.what}: section headers`, () => {
      if (!requireTools("ELF sections vs readelf", "readelf")) return;
      const bytes = src.bytes();
      const elf = right(readElf(bytes));
      const rows = readelf(["-S"], bytes)
        .split("\n")
        .map((l) => /^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]{16})\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([A-Za-z]*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(l))
        .filter((m) => m !== null);
      expect(rows.length).toBe(elf.sections.length);
      for (const m of rows) {
        const s = elf.sections[Number(m[1])]!;
        expect({ index: s.index, name: s.name, addr: s.addr, offset: s.offset, size: s.size, entsize: s.entsize, flags: flagString(s.flags), link: s.link, info: s.info, align: s.addralign }).toEqual({
          index: Number(m[1]),
          name: m[2],
          addr: BigInt(`0x${m[4]}`),
          offset: parseInt(m[5]!, 16),
          size: parseInt(m[6]!, 16),
          entsize: parseInt(m[7]!, 16),
          flags: m[8],
          link: Number(m[9]),
          info: Number(m[10]),
          align: Number(m[11]),
        });
      }
    });

    it(`${src.what}: symbol table`, () => {
      if (!requireTools("ELF symbols vs readelf", "readelf")) return;
      const bytes = src.bytes();
      const elf = right(readElf(bytes));
      const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB)!;
      const symbols = right(readSymbols(elf, symtab));
      const rows = readelf(["-s"], bytes)
        .split("\n")
        .map((l) => /^\s*(\d+): ([0-9a-f]{16})\s+(\d+|0x[0-9a-f]+) (\S+)\s+(\S+)\s+(\S+)\s+(\S+) ?(.*)$/.exec(l))
        .filter((m) => m !== null);
      expect(rows.length).toBe(symbols.length);
      for (const m of rows) {
        const s = symbols[Number(m[1])]!;
        const ndx = s.shndx === 0 ? "UND" : s.shndx === 0xfff1 ? "ABS" : s.shndx === 0xfff2 ? "COM" : String(s.shndx);
        // readelf shows a section symbol by its section's name.
        const name = s.type === 3 && s.name === "" ? elf.sections[s.shndx]!.name : s.name;
        expect({ value: s.value, size: s.size, type: SYMBOL_TYPES[s.type], bind: BINDS[s.bind], vis: VISIBILITIES[s.visibility], ndx, name }).toEqual({
          value: BigInt(`0x${m[2]}`),
          size: BigInt(m[3]!),
          type: m[4],
          bind: m[5],
          vis: m[6],
          ndx: m[7],
          name: m[8],
        });
      }
    });

    it(`${src.what}: relocations`, () => {
      if (!requireTools("ELF relocations vs readelf", "readelf")) return;
      const bytes = src.bytes();
      const elf = right(readElf(bytes));
      const text = readelf(["-r"], bytes);
      const theirs = new Map<string, Array<{ offset: bigint; info: bigint; addend: bigint }>>();
      let current: string | undefined;
      for (const l of text.split("\n")) {
        const head = /^Relocation section '([^']+)'/.exec(l);
        if (head !== null) {
          current = head[1]!;
          theirs.set(current, []);
          continue;
        }
        const m = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+\S+\s+(?:[0-9a-f]{16}\s+.*?)?\s*([+-])?\s*([0-9a-f]+)\s*$/.exec(l);
        if (m === null || current === undefined) continue;
        const magnitude = BigInt(`0x${m[4]}`);
        theirs.get(current)!.push({ offset: BigInt(`0x${m[1]}`), info: BigInt(`0x${m[2]}`), addend: m[3] === "-" ? -magnitude : magnitude });
      }
      const mine = new Map(
        elf.sections
          .filter((s) => s.type === SHT_RELA)
          .map((s) => [s.name, right(readRela(elf, s)).map((r) => ({ offset: r.offset, info: (BigInt(r.symbol) << 32n) | BigInt(r.type), addend: r.addend }))]),
      );
      expect(mine).toEqual(theirs);
    });
  }
});

// ---------------------------------------------------------------- .eh_frame vs readelf

/** readelf's register names (binutils dwarf.c), enough for these objects. */
const REGISTER_NAMES: Record<ArchName, ReadonlyArray<string>> = {
  x86_64: ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"],
  aarch64: [...Array.from({ length: 31 }, (_, i) => `x${i}`), "sp"],
  riscv64: ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", ...Array.from({ length: 8 }, (_, i) => `a${i}`), ...Array.from({ length: 10 }, (_, i) => `s${i + 2}`), "t3", "t4", "t5", "t6"],
  s390x: [
    ...Array.from({ length: 16 }, (_, i) => `r${i}`),
    ...["f0", "f2", "f4", "f6", "f1", "f3", "f5", "f7", "f8", "f10", "f12", "f14", "f9", "f11", "f13", "f15"],
  ],
};

const registerNumber = (arch: ArchName, name: string, ra: number): number => {
  if (name === "ra" && arch !== "riscv64") return ra;
  const i = REGISTER_NAMES[arch].indexOf(name);
  if (i >= 0) return i;
  const m = /^r(\d+)$/.exec(name);
  if (m !== null) return Number(m[1]);
  throw new Error(`unknown ${arch} register name ${name} in readelf output`);
};
const registerName = (arch: ArchName, n: number): string => REGISTER_NAMES[arch][n] ?? `r${n}`;
const signed = (n: number): string => (n < 0 ? `${n}` : `+${n}`);

/** A rule as readelf's frames-interp prints it. */
const ruleText = (arch: ArchName, r: RegisterRule | undefined): string => {
  if (r === undefined) return "u";
  switch (r.kind) {
    case "undefined":
      return "u";
    case "sameValue":
      return "s";
    case "offset":
      return `c${signed(r.offset)}`;
    case "valOffset":
      return `v${signed(r.offset)}`;
    case "register":
      return registerName(arch, r.register);
    case "expression":
      return "exp";
    case "valExpression":
      return "vexp";
  }
};

interface InterpBlock {
  readonly offset: number;
  readonly kind: "CIE" | "FDE";
  readonly pcBegin: bigint;
  readonly pcEnd: bigint;
  readonly ra: number;
  /** Rows: start relative to pc_begin, CFA text, register → rule text. */
  readonly rows: Array<{ start: number; cfa: string; regs: Map<number, string> }>;
}

/** Parse `readelf --debug-dump=frames-interp`. */
const interp = (arch: ArchName, text: string): InterpBlock[] => {
  const blocks: InterpBlock[] = [];
  let cols: number[] = [];
  let ra = -1;
  for (const l of text.split("\n")) {
    const cie = /^([0-9a-f]{8}) [0-9a-f]+ [0-9a-f]+ CIE .* ra=(\d+)/.exec(l);
    if (cie !== null) {
      ra = Number(cie[2]);
      blocks.push({ offset: parseInt(cie[1]!, 16), kind: "CIE", pcBegin: 0n, pcEnd: 1n, ra, rows: [] });
      continue;
    }
    const fde = /^([0-9a-f]{8}) [0-9a-f]+ [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(l);
    if (fde !== null) {
      blocks.push({ offset: parseInt(fde[1]!, 16), kind: "FDE", pcBegin: BigInt(`0x${fde[2]}`), pcEnd: BigInt(`0x${fde[3]}`), ra, rows: [] });
      continue;
    }
    const header = /^\s+LOC\s+CFA\s*(.*)$/.exec(l);
    if (header !== null) {
      cols = header[1]!.trim() === "" ? [] : header[1]!.trim().split(/\s+/).map((n) => registerNumber(arch, n, ra));
      continue;
    }
    const row = /^([0-9a-f]{16}) (\S+)\s*(.*)$/.exec(l);
    const block = blocks[blocks.length - 1];
    if (row !== null && block !== undefined) {
      const cells = row[3]!.trim() === "" ? [] : row[3]!.trim().split(/\s+/);
      block.rows.push({ start: Number(BigInt(`0x${row[1]}`) - block.pcBegin), cfa: row[2]!, regs: new Map(cols.map((c, i) => [c, cells[i] ?? "?"])) });
    }
  }
  return blocks;
};

/** Rows as comparable text, consecutive equal rows merged; registers listed are exactly `columns`. */
const normalise = (rows: ReadonlyArray<{ start: number; cfa: string; regs: ReadonlyMap<number, string> }>, columns: ReadonlyArray<number>, end: number): string[] => {
  const out: string[] = [];
  let last = "";
  for (const r of rows) {
    if (r.start >= end) continue;
    const body = [r.cfa, ...columns.map((c) => r.regs.get(c) ?? "u")].join(" ");
    if (body !== last) out.push(`${r.start}: ${body}`);
    last = body;
  }
  return out;
};

const myRowsText = (arch: ArchName, rows: ReadonlyArray<UnwindRow>): Array<{ start: number; cfa: string; regs: Map<number, string> }> =>
  rows.map((r) => ({
    start: r.start,
    cfa: r.cfa === undefined ? "u" : r.cfa.kind === "expression" ? "exp" : `${registerName(arch, r.cfa.register)}${signed(r.cfa.offset)}`,
    regs: new Map(r.registers.map((x) => [x.register, ruleText(arch, x.rule)])),
  }));

const ehFrameOf = (elf: ElfFile): { frame: EhFrame; data: Uint8Array } => {
  const eh = elf.sections.find((s) => s.name === ".eh_frame")!;
  const data = sectionData(elf, eh);
  return { frame: right(parseEhFrame(data, { littleEndian: elf.header.littleEndian })), data };
};

describe(".eh_frame parser vs readelf", () => {
  for (const src of SOURCES) {
    it(`${src.what}: CIE and FDE fields match readelf --debug-dump=frames`, () => {
      if (!requireTools(".eh_frame vs readelf", "readelf")) return;
      const bytes = src.bytes();
      const { frame } = ehFrameOf(right(readElf(bytes)));
      const text = readelf(["--debug-dump=frames"], bytes);
      const cies = [...text.matchAll(/^([0-9a-f]{8}) ([0-9a-f]+) ([0-9a-f]+) CIE\n((?:  .*\n)+)/gm)];
      expect(cies.map((m) => parseInt(m[1]!, 16))).toEqual(frame.cies.map((c) => c.offset));
      for (const [i, m] of cies.entries()) {
        const c = frame.cies[i]!;
        const get = (name: string): string => new RegExp(`^  ${name}:\\s+(.*)$`, "m").exec(m[4]!)?.[1]?.trim() ?? "";
        expect({ size: c.size, version: c.version, aug: c.augmentation, caf: c.codeAlign, daf: c.dataAlign, ra: c.returnAddressRegister, data: Buffer.from(c.augmentationData).toString("hex") }).toEqual({
          size: parseInt(m[2]!, 16) + 4,
          version: Number(get("Version")),
          aug: JSON.parse(get("Augmentation")) as string,
          caf: Number(get("Code alignment factor")),
          daf: Number(get("Data alignment factor")),
          ra: Number(get("Return address column")),
          data: get("Augmentation data").replace(/\s+/g, ""),
        });
      }
      const fdes = [...text.matchAll(/^([0-9a-f]{8}) ([0-9a-f]+) ([0-9a-f]+) FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)$/gm)];
      expect(fdes.length).toBe(frame.fdes.length);
      for (const [i, m] of fdes.entries()) {
        const f = frame.fdes[i]!;
        expect({ offset: f.offset, size: f.size, cie: f.cieOffset }).toEqual({ offset: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16) + 4, cie: parseInt(m[4]!, 16) });
        // gcc's pc_begin and (on RISC-V) pc_range are filled by relocations readelf applies; objfold's are final.
        if (src.what.startsWith("objfold")) {
          expect(BigInt.asUintN(64, f.pcBegin)).toBe(BigInt(`0x${m[5]}`));
          expect(BigInt(f.pcRange)).toBe(BigInt(`0x${m[6]}`) - BigInt(`0x${m[5]}`));
        } else if (src.arch !== "riscv64") {
          expect(BigInt(f.pcRange)).toBe(BigInt(`0x${m[6]}`) - BigInt(`0x${m[5]}`));
        }
      }
      expect(frame.terminator !== undefined).toBe(src.what.startsWith("objfold"));
    });

    it(`${src.what}: unwind rows match readelf --debug-dump=frames-interp`, () => {
      if (!requireTools(".eh_frame rows vs readelf", "readelf")) return;
      const bytes = src.bytes();
      const { frame } = ehFrameOf(right(readElf(bytes)));
      const blocks = interp(src.arch, readelf(["--debug-dump=frames-interp"], bytes));
      expect(blocks.map((b) => b.offset)).toEqual([...frame.cies.map((c) => c.offset), ...frame.fdes.map((f) => f.offset)].sort((a, b) => a - b));
      let compared = 0;
      for (const b of blocks) {
        const cols = b.rows[0] === undefined ? [] : [...b.rows[0].regs.keys()];
        if (b.kind === "CIE") {
          const c = frame.cies.find((x) => x.offset === b.offset)!;
          const mine = right(unwindRows(c.initialInstructions, [], 1));
          expect(normalise(myRowsText(src.arch, mine), cols, 1)).toEqual(normalise(b.rows, cols, 1));
          continue;
        }
        const f = frame.fdes.find((x) => x.offset === b.offset)!;
        const c = frame.cies.find((x) => x.offset === f.cieOffset)!;
        const length = Number(b.pcEnd - b.pcBegin);
        const mine = right(unwindRows(c.initialInstructions, f.instructions, length));
        if (b.rows.length === 0) {
          // readelf prints no table for an FDE without instructions.
          expect(f.instructions).toEqual([]);
          continue;
        }
        // Every register with a rule must be one of readelf's columns.
        for (const r of mine) for (const x of r.registers) expect(cols).toContain(x.register);
        expect({ fde: b.offset, rows: normalise(myRowsText(src.arch, mine), cols, length) }).toEqual({ fde: b.offset, rows: normalise(b.rows, cols, length) });
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
    });
  }
});

// ---------------------------------------------------------------- spec vectors and hand-made programs

const hexBytes = (s: string): Uint8Array => Uint8Array.from(s.replace(/[\s|]+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));

describe(".eh_frame parser on spec bytes", () => {
  it("reads the x64 CIE and FDE of reference.md §1.5 (pcrel, 8-byte fields, zero terminator)", () => {
    const bytes = hexBytes(
      "14 00 00 00 | 00 00 00 00 | 01 | 7a 52 00 | 01 | 78 | 10 | 01 10 | 0c 07 08 | 90 01 | 00 00" +
        "24 00 00 00 | 1c 00 00 00 | 20 f0 ff ff ff ff ff ff | 30 00 00 00 00 00 00 00 | 00 | 41 0e 10 86 02 43 0d 06 48 83 03 | 00 00 00 00" +
        "00 00 00 00", // the terminator objfold appends
    );
    // .eh_frame sits right after the 0x1000-byte text, so pc_begin lands on text offset 0x40.
    const frame = right(parseEhFrame(bytes, { littleEndian: true, sectionAddress: 0x1000n }));
    expect(frame.cies).toHaveLength(1);
    const cie = frame.cies[0]!;
    expect({ aug: cie.augmentation, caf: cie.codeAlign, daf: cie.dataAlign, ra: cie.returnAddressRegister, enc: cie.fdeEncoding }).toEqual({ aug: "zR", caf: 1, daf: -8, ra: 16, enc: 0x10 });
    expect(cie.initialInstructions).toEqual([
      { at: 0, op: "cfa", register: 7, offset: 8 },
      { at: 0, op: "offset", register: 16, offset: -8 },
    ]);
    const fde = frame.fdes[0]!;
    expect({ begin: fde.pcBegin, raw: fde.pcBeginRaw, field: fde.pcBeginField, range: fde.pcRange, cie: fde.cieOffset }).toEqual({ begin: 0x40n, raw: BigInt.asUintN(64, -0xfe0n), field: 32, range: 0x30, cie: 0 });
    expect(fde.instructions).toEqual([
      { at: 1, op: "cfaOffset", offset: 16 },
      { at: 1, op: "offset", register: 6, offset: -16 },
      { at: 4, op: "cfaRegister", register: 6 },
      { at: 12, op: "offset", register: 3, offset: -24 },
    ]);
    expect(frame.terminator).toBe(64);
  });

  it("reads the s390x CIE of reference.md §1.5 big-endian", () => {
    const frame = right(parseEhFrame(hexBytes("00 00 00 14 00 00 00 00 01 7a 52 00 01 78 0e 01 10 0c 0f a0 01 00 00 00"), { littleEndian: false }));
    expect(frame.cies[0]!.initialInstructions).toEqual([{ at: 0, op: "cfa", register: 15, offset: 160 }]);
    expect(frame.cies[0]!.returnAddressRegister).toBe(14);
  });

  it("turns val_expression(34, lit1/lit0) into aarch64SetPointerAuth and tracks RA_SIGN_STATE in the rows", () => {
    // aarch64 CIE, then an FDE: set pointer auth, advance 1 (4 bytes), cfa_offset 16, advance 1, clear it.
    const cie = "14 00 00 00 00 00 00 00 01 7a 52 00 04 78 1e 01 10 0c 1f 00 00 00 00 00";
    const fde = "24 00 00 00 | 1c 00 00 00 | 00 00 00 00 00 00 00 00 | 10 00 00 00 00 00 00 00 | 00 | 16 22 01 31 41 0e 10 41 16 22 01 30 | 00 00 00";
    const frame = right(parseEhFrame(hexBytes(cie + fde), { littleEndian: true }));
    const f = frame.fdes[0]!;
    expect(f.instructions).toEqual([
      { at: 0, op: "aarch64SetPointerAuth", returnAddresses: true },
      { at: 4, op: "cfaOffset", offset: 16 },
      { at: 8, op: "aarch64SetPointerAuth", returnAddresses: false },
    ]);
    const rows = right(fdeRows(frame, f));
    expect(rows.map((r) => [r.start, r.end, r.cfa?.kind === "registerOffset" ? r.cfa.offset : NaN, r.registers.map((x) => x.register)])).toEqual([
      [0, 4, 0, [34]],
      [4, 8, 16, [34]],
      [8, 16, 16, [34]],
    ]);
  });

  it("remember/restore state brings back the CFA and the register rules", () => {
    const initial = [{ at: 0, op: "cfa", register: 7, offset: 8 } as const, { at: 0, op: "offset", register: 16, offset: -8 } as const];
    const rows = right(
      unwindRows(
        initial,
        [
          { at: 1, op: "cfaOffset", offset: 16 },
          { at: 1, op: "offset", register: 6, offset: -16 },
          { at: 5, op: "rememberState" },
          { at: 5, op: "cfa", register: 7, offset: 8 },
          { at: 5, op: "restore", register: 6 },
          { at: 6, op: "restoreState" },
        ],
        10,
      ),
    );
    expect(rows.map((r) => ({ start: r.start, end: r.end, cfa: r.cfa, regs: r.registers.map((x) => x.register) }))).toEqual([
      { start: 0, end: 1, cfa: { kind: "registerOffset", register: 7, offset: 8 }, regs: [16] },
      { start: 1, end: 5, cfa: { kind: "registerOffset", register: 7, offset: 16 }, regs: [6, 16] },
      { start: 5, end: 6, cfa: { kind: "registerOffset", register: 7, offset: 8 }, regs: [16] },
      { start: 6, end: 10, cfa: { kind: "registerOffset", register: 7, offset: 16 }, regs: [6, 16] },
    ]);
    expect(left(unwindRows(initial, [{ at: 0, op: "restoreState" }], 4))._tag).toBe("MalformedObject");
  });
});

// ---------------------------------------------------------------- malformed input

const noThrow = <A>(f: () => Either.Either<A, ObjfoldError>): Either.Either<A, ObjfoldError> => {
  const r = f();
  if (Either.isLeft(r)) expect(["MalformedObject", "UnsupportedObject", "UnsupportedRelocation"]).toContain(r.left._tag);
  return r;
};

/** Run every reader over every part of a byte string; they must return, never throw. */
const readEverything = (bytes: Uint8Array): void => {
  const elf = noThrow(() => readElf(bytes));
  noThrow(() => importObject(bytes));
  if (Either.isLeft(elf)) return;
  for (const s of elf.right.sections) {
    if (s.type === SHT_SYMTAB) noThrow(() => readSymbols(elf.right, s));
    if (s.type === SHT_RELA) noThrow(() => readRela(elf.right, s));
    if (s.name === ".eh_frame") {
      const frame = noThrow(() => parseEhFrame(sectionData(elf.right, s), { littleEndian: elf.right.header.littleEndian }));
      if (Either.isRight(frame))
        for (const f of frame.right.fdes) {
          const cie = frame.right.cies.find((c) => c.offset === f.cieOffset)!;
          noThrow(() => unwindRows(cie.initialInstructions, f.instructions, Math.min(f.pcRange, 1 << 20)));
        }
    }
  }
};

/** Write a little- or big-endian integer field into a copy. */
const patched = (bytes: Uint8Array, at: number, size: 1 | 2 | 4 | 8, value: bigint, le: boolean): Uint8Array => {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  if (size === 1) out[at] = Number(value);
  else if (size === 2) dv.setUint16(at, Number(value), le);
  else if (size === 4) dv.setUint32(at, Number(value), le);
  else dv.setBigUint64(at, value, le);
  return out;
};

const malformedReason = (bytes: Uint8Array): string => {
  const e = left(readElf(bytes));
  expect(e._tag).toBe("MalformedObject");
  return e._tag === "MalformedObject" ? e.reason : "";
};

describe("malformed objects give typed errors", () => {
  it("every truncation of a gcc object (each arch) is a MalformedObject from readElf and an error from importObject", () => {
    for (const arch of ARCHES) {
      const bytes = gccObject(arch);
      for (let n = 0; n < bytes.length; n++) {
        const cut = bytes.subarray(0, n);
        expect(left(readElf(cut))._tag).toBe("MalformedObject");
        expect(Either.isLeft(importObject(cut))).toBe(true);
      }
    }
  });

  it("every truncation of a .eh_frame section either parses to fewer entries or fails, never throws", () => {
    for (const arch of ARCHES) {
      const elf = right(readElf(gccObject(arch)));
      const { frame, data } = ehFrameOf(elf);
      for (let n = 0; n < data.length; n++) {
        const r = noThrow(() => parseEhFrame(data.subarray(0, n), { littleEndian: elf.header.littleEndian }));
        if (Either.isRight(r)) expect(r.right.cies.length + r.right.fdes.length).toBeLessThan(frame.cies.length + frame.fdes.length);
      }
    }
  });

  it("wrong magic, ELFCLASS32, unknown data encoding", () => {
    const bytes = gccObject("x86_64");
    expect(malformedReason(patched(bytes, 0, 1, 0x7en, true))).toContain("magic");
    expect(malformedReason(patched(bytes, 4, 1, 1n, true))).toContain("ELFCLASS32");
    expect(malformedReason(patched(bytes, 5, 1, 3n, true))).toContain("data encoding");
    expect(malformedReason(new Uint8Array(0))).toContain("identification");
  });

  it("absurd counts and offsets in the ELF header and section headers", () => {
    const bytes = gccObject("s390x"); // big-endian, so the byte order is exercised too
    const elf = right(readElf(bytes));
    const le = false;
    expect(malformedReason(patched(bytes, 60, 2, 0xfeffn, le))).toContain("section header table");
    expect(malformedReason(patched(bytes, 40, 8, 0x7fffffffffffffffn, le))).toContain("e_shoff");
    expect(malformedReason(patched(bytes, 40, 8, BigInt(bytes.length - 10), le))).toContain("section header table");
    expect(malformedReason(patched(bytes, 58, 2, 40n, le))).toContain("e_shentsize");
    expect(malformedReason(patched(bytes, 62, 2, 0xfeffn, le))).toContain("e_shstrndx");
    const shdr = (i: number): number => elf.header.shoff + i * 64;
    const text = elf.sections.find((s) => s.name === ".text.mix")!;
    expect(malformedReason(patched(bytes, shdr(text.index) + 32, 8, 0xffffffffn, le))).toContain("outside");
    expect(malformedReason(patched(bytes, shdr(text.index) + 24, 8, 0x1n << 60n, le))).toContain("out of range");
    expect(malformedReason(patched(bytes, shdr(text.index), 4, 0xfffffn, le))).toContain("name offset");
  });

  it("SHN_XINDEX escapes in the header are followed", () => {
    const bytes = gccObject("x86_64");
    const elf = right(readElf(bytes));
    let escaped = patched(bytes, 60, 2, 0n, true); // e_shnum = 0: the count is in section 0's sh_size
    escaped = patched(escaped, elf.header.shoff + 32, 8, BigInt(elf.header.shnum), true);
    escaped = patched(escaped, 62, 2, 0xffffn, true); // e_shstrndx = SHN_XINDEX: the index is in sh_link
    escaped = patched(escaped, elf.header.shoff + 40, 4, BigInt(elf.header.shstrndx), true);
    const again = right(readElf(escaped));
    expect(again.header.shnum).toBe(elf.header.shnum);
    expect(again.header.shstrndx).toBe(elf.header.shstrndx);
    expect(again.sections.slice(1)).toEqual(elf.sections.slice(1));
  });

  it("bad symbol and relocation tables", () => {
    const bytes = gccObject("x86_64");
    const elf = right(readElf(bytes));
    const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB)!;
    const rela = elf.sections.find((s) => s.type === SHT_RELA)!;
    const shdr = (i: number): number => elf.header.shoff + i * 64;
    const reread = (b: Uint8Array) => right(readElf(b));
    // entry size 0, link out of range, a symbol index beyond the table, a name beyond the string table
    let b = patched(bytes, shdr(symtab.index) + 56, 8, 0n, true);
    expect(left(readSymbols(reread(b), reread(b).sections[symtab.index]!))._tag).toBe("MalformedObject");
    b = patched(bytes, shdr(symtab.index) + 40, 4, 999n, true);
    expect(left(readSymbols(reread(b), reread(b).sections[symtab.index]!))._tag).toBe("MalformedObject");
    b = patched(bytes, rela.offset + 12, 4, 0xffffffn, true);
    expect(left(readRela(reread(b), rela))._tag).toBe("MalformedObject");
    b = patched(bytes, symtab.offset + 24, 4, 0xffffffn, true);
    expect(left(readSymbols(reread(b), symtab))._tag).toBe("MalformedObject");
    // SHN_XINDEX without a .symtab_shndx
    b = patched(bytes, symtab.offset + 24 + 6, 2, 0xffffn, true);
    expect(left(readSymbols(reread(b), symtab))._tag).toBe("MalformedObject");
    // Section 0 dressed up as the SHT_SYMTAB_SHNDX table, or as a symbol table: it has no data.
    b = patched(b, shdr(0) + 4, 4, 18n, true);
    b = patched(b, shdr(0) + 40, 4, BigInt(symtab.index), true);
    b = patched(b, shdr(0) + 32, 8, 0x10000n, true);
    expect(left(readSymbols(reread(b), symtab))._tag).toBe("MalformedObject");
    b = patched(bytes, shdr(0) + 4, 4, 2n, true);
    b = patched(b, shdr(0) + 32, 8, 48n, true);
    b = patched(b, shdr(0) + 56, 8, 24n, true);
    expect(left(readSymbols(reread(b), reread(b).sections[0]!))._tag).toBe("MalformedObject");
    expect(Either.isLeft(importObject(b))).toBe(true);
  });

  it("absurd .eh_frame lengths, CIE pointers, LEB128s and opcodes", () => {
    const cie = "14 00 00 00 00 00 00 00 01 7a 52 00 01 78 10 01 10 0c 07 08 90 01 00 00";
    const bad = [
      "ff ff ff ff ff ff ff ff ff ff ff 7f", // 64-bit length far beyond the section
      "f0 ff ff ff", // reserved length
      "10 00 00", // truncated length
      cie + "0c 00 00 00 | 99 00 00 00 | 00 00 00 00 00 00 00 00", // CIE pointer before the section
      cie + "14 00 00 00 | 1c 00 00 00 | 00 00 00 00 00 00 00 00 | 10 00 00 00 00 00 00 00", // FDE cut inside its range field
      "14 00 00 00 00 00 00 00 01 7a 52 00 ff ff ff ff ff ff ff ff ff ff ff 01", // code alignment LEB128 beyond 64 bits
      "0c 00 00 00 00 00 00 00 02 00 01 78", // version 2
      "10 00 00 00 00 00 00 00 01 00 01 78 10 3f 00 00", // unknown opcode 0x3f
      "10 00 00 00 00 00 00 00 01 00 01 78 10 0f 7f 00", // def_cfa_expression longer than the entry
    ];
    for (const h of bad) expect({ h, tag: left(parseEhFrame(hexBytes(h), { littleEndian: true }))._tag }).toEqual({ h, tag: "MalformedObject" });
  });

  it("random mutations of real objects never make a reader throw (fast-check)", () => {
    const bases = ARCHES.map(gccObject);
    fc.assert(
      fc.property(
        fc.nat({ max: bases.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (which, edits) => {
          const bytes = bases[which]!.slice();
          for (const [at, v] of edits) bytes[at % bytes.length] = v;
          readEverything(bytes);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("random mutations aimed at the headers and .eh_frame never make a reader throw (fast-check)", () => {
    const bases = ARCHES.map((arch) => {
      const bytes = gccObject(arch);
      const elf = right(readElf(bytes));
      const eh = elf.sections.find((s) => s.name === ".eh_frame")!;
      // Hot spots: the ELF header, the section header table, the symbol table and .eh_frame.
      const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB)!;
      return { bytes, spots: [[0, 64], [elf.header.shoff, elf.header.shnum * 64], [eh.offset, eh.size], [symtab.offset, symtab.size]] as const };
    });
    fc.assert(
      fc.property(
        fc.nat({ max: bases.length - 1 }),
        fc.array(fc.tuple(fc.nat({ max: 3 }), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (which, edits) => {
          const base = bases[which]!;
          const bytes = base.bytes.slice();
          for (const [spot, at, v] of edits) {
            const [start, len] = base.spots[spot]!;
            bytes[start + (at % len)] = v;
          }
          readEverything(bytes);
        },
      ),
      { numRuns: 600 },
    );
  });

  it("arbitrary bytes as .eh_frame never make the parser or the row builder throw (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, le) => {
        const r = noThrow(() => parseEhFrame(bytes, { littleEndian: le }));
        if (Either.isRight(r))
          for (const f of r.right.fdes) {
            const cie = r.right.cies.find((c) => c.offset === f.cieOffset)!;
            noThrow(() => unwindRows(cie.initialInstructions, f.instructions, Math.min(f.pcRange, 4096)));
          }
      }),
      { numRuns: 2000 },
    );
  });

  it("arbitrary bytes behind a valid ELF identification never make readElf throw (fast-check)", () => {
    const ident = hexBytes("7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00");
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.boolean(), (tail, le) => {
        const bytes = new Uint8Array(16 + tail.length);
        bytes.set(ident);
        bytes[5] = le ? 1 : 2;
        bytes.set(tail, 16);
        readEverything(bytes);
      }),
      { numRuns: 1000 },
    );
  });
});
