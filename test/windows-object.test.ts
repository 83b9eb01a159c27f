/**
 * Windows targets end to end: the encoder places `.xdata` right after the
 * page-padded `.text` and `.pdata` right after `.xdata` (reference §10); the
 * sections read back from the ELF file decode, with llvm-readobj on a PE
 * wrapper at the RVAs that layout implies, to each function's record.
 */
import { Either } from "effect";
import { describe, expect, it } from "vitest";
import { encodeModule } from "../src/encode.js";
import { readElf, readSymbols, sectionByName, sectionData } from "../src/elf/read.js";
import type { Item, Module } from "../src/schema/records.js";
import { buildPe, IMAGE_BASE, llvmTool, parseObjdumpX64, parseReadobjArm64, parseReadobjX64, readobjUnwind, TEXT_RVA } from "./support/pe.js";
import { requireTools, run } from "./support/tools.js";

const fnX64 = (name: string, n: number): Item => ({
  type: "function",
  name,
  // push rbp; mov rbp, rsp; sub rsp, 32+n*8 … then nops and ret
  body: new Uint8Array([0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 32 + n * 8, ...new Array(8 + n).fill(0x90), 0xc3]),
  alignment: 16,
  relocations: [],
  unwind: {
    kind: "windowsX64",
    flags: 0,
    prologueSize: 8,
    frameRegister: 5,
    frameRegisterOffset: 0,
    codes: [
      { op: "pushRegister", at: 1, register: 5 },
      { op: "setFpRegister", at: 4 },
      { op: "stackAlloc", at: 8, size: 32 + n * 8 },
    ],
  },
});

const fnArm64 = (name: string, n: number): Item => ({
  type: "function",
  name,
  body: new Uint8Array(4 * (4 + n)),
  alignment: 4,
  relocations: [],
  unwind: { kind: "windowsArm64", codes: [{ op: "saveFpLrPair", stackOffset: 16 }, { op: "setFp" }, { op: "allocS", size: 16 * (n + 1) }] },
});

const encode = (target: string, items: Item[]) => {
  const m: Module = { header: { format: "objfold/v1", target, forceVeneers: false, symbols: true }, items };
  const r = encodeModule(m);
  if (Either.isLeft(r)) throw new Error(JSON.stringify(r.left));
  const elf = readElf(r.right);
  if (Either.isLeft(elf)) throw new Error(JSON.stringify(elf.left));
  return elf.right;
};

const layout = (elf: ReturnType<typeof encode>) => {
  const text = sectionByName(elf, ".text")!;
  const xdata = sectionByName(elf, ".xdata")!;
  const pdata = sectionByName(elf, ".pdata")!;
  expect(xdata.offset).toBe(text.offset + text.size);
  expect(pdata.offset).toBe(xdata.offset + xdata.size);
  expect([xdata.addralign, pdata.addralign]).toEqual([4, 4]);
  expect(sectionByName(elf, ".eh_frame")).toBeUndefined();
  const syms = Either.getOrThrow(readSymbols(elf, sectionByName(elf, ".symtab")!)).filter((s) => s.type === 2);
  return { text, xdata, pdata, syms };
};

describe("Windows objects", () => {
  it("x86_64-pc-windows-msvc: .xdata/.pdata follow the padded text and decode with llvm-readobj", () => {
    const items = [fnX64("a", 0), { type: "padding", size: 100 } as Item, fnX64("b", 3), fnX64("c", 9)];
    const elf = encode("x86_64-pc-windows-msvc", items);
    const { text, xdata, pdata, syms } = layout(elf);
    expect(pdata.size).toBe(12 * 3);
    if (!requireTools("Windows x64 object via PE wrapper", llvmTool("llvm-readobj") ?? "llvm-readobj", llvmTool("yaml2obj") ?? "yaml2obj")) return;
    const pe = buildPe({ arch: "x86_64", textSize: text.size, xdata: sectionData(elf, xdata), pdata: sectionData(elf, pdata) });
    try {
      const fns = parseReadobjX64(readobjUnwind(llvmTool("llvm-readobj")!, pe.path));
      expect(fns.map((f) => f.start - IMAGE_BASE - TEXT_RVA)).toEqual(syms.map((s) => Number(s.value)));
      expect(fns.map((f) => f.end - f.start)).toEqual(syms.map((s) => Number(s.size)));
      expect(fns.map((f) => f.codes.map((c) => c.op))).toEqual(syms.map(() => ["ALLOC_SMALL", "SET_FPREG", "PUSH_NONVOL"]));
      expect(fns.map((f) => f.codes[0]!.size)).toEqual([32, 56, 104]);
      expect(fns.every((f) => f.frameRegister === "RBP" && f.prologSize === 8)).toBe(true);
    } finally {
      pe.dispose();
    }
    // binutils reads the same tables
    if (!requireTools("Windows x64 object via objdump", "objdump")) return;
    const pe2 = buildPe({ arch: "x86_64", textSize: text.size, xdata: sectionData(elf, xdata), pdata: sectionData(elf, pdata) });
    try {
      const dump = parseObjdumpX64(run("objdump", ["-p", pe2.path]));
      expect(dump.functions.map((f) => f.begin - IMAGE_BASE - TEXT_RVA)).toEqual(syms.map((s) => Number(s.value)));
      expect([...dump.xdata.values()].map((x) => x.codes.map((c) => c.op))).toEqual(syms.map(() => ["alloc small", "FPReg", "push"]));
    } finally {
      pe2.dispose();
    }
  });

  it("aarch64-pc-windows-msvc: .xdata/.pdata follow the text (0x1000 alignment) and decode with llvm-readobj", () => {
    const elf = encode("aarch64-pc-windows-msvc", [fnArm64("a", 0), fnArm64("b", 5)]);
    const { text, xdata, pdata, syms } = layout(elf);
    expect(text.addralign).toBe(0x1000);
    expect(pdata.size).toBe(8 * 2);
    if (!requireTools("Windows ARM64 object via PE wrapper", llvmTool("llvm-readobj") ?? "llvm-readobj", llvmTool("yaml2obj") ?? "yaml2obj")) return;
    const pe = buildPe({ arch: "aarch64", textSize: text.size, xdata: sectionData(elf, xdata), pdata: sectionData(elf, pdata) });
    try {
      const fns = parseReadobjArm64(readobjUnwind(llvmTool("llvm-readobj")!, pe.path));
      expect(fns.length).toBe(2);
      expect(fns.map((f) => f.function - IMAGE_BASE - TEXT_RVA)).toEqual(syms.map((s) => Number(s.value)));
      expect(fns.map((f) => f.prologue.map((o) => o.text.split(" ")[0]))).toEqual(syms.map(() => ["sub", "mov", "stp", "end"]));
      expect(fns.map((f) => f.functionLength)).toEqual(syms.map((s) => Number(s.size)));
    } finally {
      pe.dispose();
    }
  });

  it("a module without unwind info gets no unwind sections", () => {
    const elf = encode("x86_64-pc-windows-msvc", [{ type: "function", name: "f", body: new Uint8Array([0xc3]), alignment: 1, relocations: [] }]);
    expect(sectionByName(elf, ".xdata")).toBeUndefined();
    expect(sectionByName(elf, ".pdata")).toBeUndefined();
  });
});
