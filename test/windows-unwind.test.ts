/**
 * Windows unwind tables (`.xdata`/`.pdata`, reference §3, §4, §10, §13),
 * checked by decoders nobody here wrote: the tables are wrapped into a PE
 * image (test/support/pe.ts) that `llvm-readobj --unwind` (x64 and ARM64)
 * and binutils' `objdump -p` (x64) decode; what they print must be what the
 * records said. The expectations below are written from Microsoft's
 * documentation, not from the encoder.
 */
import { Either } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeBytes } from "../src/bytes/writer.js";
import type { ObjfoldError } from "../src/errors.js";
import type { WindowsArm64Unwind, WindowsX64Unwind, WinArm64Code, WinX64Code } from "../src/schema/records.js";
import { planWindowsUnwind, type WindowsArch, type WinUnwindFunction } from "../src/unwind/windowsTables.js";
import {
  buildPe,
  IMAGE_BASE,
  llvmMajor,
  llvmTool,
  objdumpPrivate,
  parseObjdumpX64,
  parseReadobjArm64,
  parseReadobjX64,
  readobjUnwind,
  runWinHarness,
  TEXT_RVA,
  WIN_STACK_PATTERN,
  winInitialGpr,
  winInitialXmm,
  type WinQuery,
} from "./support/pe.js";
import { requireTools } from "./support/tools.js";

// ---------------------------------------------------------------- building

interface Fn {
  readonly name?: string;
  readonly length: number;
  readonly unwind: WindowsX64Unwind | WindowsArm64Unwind;
}

const PAGE = 0x1000;
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Lay functions out one after another (16-aligned), as the fold would, and pad the text to a page. */
const layout = (fns: ReadonlyArray<Fn>): { functions: WinUnwindFunction[]; textSize: number } => {
  let pos = 0;
  const functions = fns.map((f, k) => {
    pos = alignUp(pos, 16);
    const placed: WinUnwindFunction = { item: k, name: f.name ?? `_wasm_function_${k}`, offset: pos, length: f.length, unwind: f.unwind };
    pos += f.length;
    return placed;
  });
  return { functions, textSize: Math.max(PAGE, alignUp(pos, PAGE)) };
};

interface Built {
  readonly functions: WinUnwindFunction[];
  readonly textSize: number;
  readonly xdata: Uint8Array;
  readonly pdata: Uint8Array;
}

const build = (arch: WindowsArch, fns: ReadonlyArray<Fn>): Built => {
  const { functions, textSize } = layout(fns);
  const planned = planWindowsUnwind(arch, functions, textSize);
  if (Either.isLeft(planned)) throw new Error(`unexpected error: ${JSON.stringify(planned.left)}`);
  const t = planned.right;
  const xdata = writeBytes(t.xdataSize, true, (w) => t.writeXdata(w));
  const pdata = writeBytes(t.pdataSize, true, (w) => t.writePdata(w));
  return { functions, textSize, xdata, pdata };
};

const errorOf = (arch: WindowsArch, fns: ReadonlyArray<Fn>): ObjfoldError => {
  const { functions, textSize } = layout(fns);
  const planned = planWindowsUnwind(arch, functions, textSize);
  if (Either.isRight(planned)) throw new Error("expected an error");
  return planned.left;
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

// ---------------------------------------------------------------- x64 expectations (MS-X64)

const X64_GPR = ["RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"];

/** 16-bit slots a code takes, per MS-X64's operation table (shortest form). */
const slotsOf = (c: WinX64Code): number => {
  switch (c.op) {
    case "pushRegister":
    case "setFpRegister":
      return 1;
    case "stackAlloc":
      return c.size <= 128 ? 1 : c.size <= 512 * 1024 - 8 ? 2 : 3;
    case "saveReg":
      return c.stackOffset < 512 * 1024 ? 2 : 3;
    case "saveXmm":
      return c.stackOffset < 1024 * 1024 ? 2 : 3;
  }
};

const x64Slots = (u: WindowsX64Unwind): number => u.codes.reduce((n, c) => n + slotsOf(c), 0);
const x64InfoSize = (u: WindowsX64Unwind): number => 4 + 2 * alignUp(x64Slots(u), 2);

/** What llvm-readobj prints for each code, last prologue instruction first. */
const readobjX64Codes = (u: WindowsX64Unwind) =>
  [...u.codes].reverse().map((c) => {
    switch (c.op) {
      case "pushRegister":
        return { at: c.at, op: "PUSH_NONVOL", reg: X64_GPR[c.register] };
      case "setFpRegister":
        return { at: c.at, op: "SET_FPREG", reg: X64_GPR[u.frameRegister!], offset: u.frameRegisterOffset };
      case "stackAlloc":
        return { at: c.at, op: c.size <= 128 ? "ALLOC_SMALL" : "ALLOC_LARGE", size: c.size };
      case "saveReg":
        return { at: c.at, op: slotsOf(c) === 2 ? "SAVE_NONVOL" : "SAVE_NONVOL_FAR", reg: X64_GPR[c.register], offset: c.stackOffset };
      case "saveXmm":
        return { at: c.at, op: slotsOf(c) === 2 ? "SAVE_XMM128" : "SAVE_XMM128_FAR", reg: `XMM${c.register}`, offset: c.stackOffset };
    }
  });

/**
 * What objdump prints. binutils (pei-x86_64.c) multiplies the u32 of
 * UWOP_SAVE_XMM128_FAR by 16, although MS-X64 says the far forms hold the
 * offset unscaled (as llvm-readobj reads it), and prints the product's low
 * 32 bits: that one value is compared through the same function.
 */
const objdumpX64Codes = (u: WindowsX64Unwind) =>
  [...u.codes].reverse().map((c) => {
    switch (c.op) {
      case "pushRegister":
        return { at: c.at, op: "push", reg: X64_GPR[c.register]!.toLowerCase() };
      case "setFpRegister":
        return { at: c.at, op: "FPReg", reg: X64_GPR[u.frameRegister!]!.toLowerCase(), value: u.frameRegisterOffset };
      case "stackAlloc":
        return { at: c.at, op: c.size <= 128 ? "alloc small" : "alloc large", value: c.size };
      case "saveReg":
        return { at: c.at, op: "save", reg: X64_GPR[c.register]!.toLowerCase(), value: c.stackOffset };
      case "saveXmm":
        return { at: c.at, op: "save", reg: `xmm${c.register}`, value: slotsOf(c) === 3 ? (c.stackOffset * 16) % 2 ** 32 : c.stackOffset };
    }
  });

const haveX64Tools = (): { readobj: string } | undefined => {
  if (!requireTools("Windows x64 unwind via PE wrapper", "objdump")) return undefined;
  const readobj = llvmTool("llvm-readobj");
  const yaml2obj = llvmTool("yaml2obj");
  if (!requireTools("Windows x64 unwind via PE wrapper", readobj ?? "llvm-readobj", yaml2obj ?? "yaml2obj")) return undefined;
  return { readobj: readobj! };
};

/** Decode a built x64 module with both tools and compare every function with its record. */
const checkX64 = (b: Built, readobj: string): void => {
  // A function with an empty body gets no entry (nothing to unwind; its begin would repeat the next one's).
  const listed = b.functions.filter((f) => f.length > 0);
  const img = buildPe({ arch: "x86_64", textSize: b.textSize, xdata: b.xdata, pdata: b.pdata });
  try {
    const text = IMAGE_BASE + TEXT_RVA;
    const xbase = IMAGE_BASE + img.xdataRva;
    const xoffsets: number[] = [];
    let x = 0;
    for (const f of listed) {
      xoffsets.push(x);
      x += x64InfoSize(f.unwind as WindowsX64Unwind);
    }
    expect(b.xdata.length).toBe(x);
    expect(b.pdata.length).toBe(12 * listed.length);

    // llvm-readobj
    const ro = parseReadobjX64(readobjUnwind(readobj, img.path));
    expect(ro.length).toBe(listed.length);
    listed.forEach((f, k) => {
      const u = f.unwind as WindowsX64Unwind;
      const got = ro[k]!;
      expect({ start: got.start, end: got.end, unwindInfo: got.unwindInfo }).toEqual({
        start: text + f.offset,
        end: text + f.offset + f.length,
        unwindInfo: xbase + xoffsets[k]!,
      });
      expect({
        version: got.version,
        flags: got.flags,
        prologSize: got.prologSize,
        frameRegister: got.frameRegister,
        frameOffset: got.frameOffset,
        codeCount: got.codeCount,
      }).toEqual({
        version: 1,
        flags: 0,
        prologSize: u.prologueSize,
        frameRegister: u.frameRegister === null ? "-" : X64_GPR[u.frameRegister],
        // llvm-readobj prints the raw 4-bit field: offset / 16.
        frameOffset: u.frameRegister === null ? "-" : `0x${(u.frameRegisterOffset / 16).toString(16).toUpperCase()}`,
        codeCount: x64Slots(u),
      });
      expect(got.codes).toEqual(readobjX64Codes(u));
    });

    // objdump -p
    const od = parseObjdumpX64(objdumpPrivate(img.path));
    expect(od.functions).toEqual(
      listed.map((f, k) => ({ begin: text + f.offset, end: text + f.offset + f.length, unwind: xbase + xoffsets[k]! })),
    );
    listed.forEach((f, k) => {
      const u = f.unwind as WindowsX64Unwind;
      const got = od.xdata.get(img.xdataRva + xoffsets[k]!);
      expect(got, `objdump decoded no .xdata for ${f.name}`).toBeDefined();
      expect({ ...got!, codes: undefined }).toEqual({
        rva: img.xdataRva + xoffsets[k]!,
        begin: text + f.offset,
        end: text + f.offset + f.length,
        version: 1,
        flags: "none",
        codeCount: x64Slots(u),
        prologSize: u.prologueSize,
        frameOffset: u.frameRegisterOffset / 16,
        frameReg: u.frameRegister === null ? "none" : X64_GPR[u.frameRegister]!.toLowerCase(),
        codes: undefined,
      });
      expect(got!.codes).toEqual(objdumpX64Codes(u));
    });
  } finally {
    img.dispose();
  }
};

// ---------------------------------------------------------------- ARM64 expectations (MS-A64)

/** llvm-readobj's rendering of each code (`ARMWinEHPrinter`). */
const arm64Text = (c: WinArm64Code, pacDecoded: boolean): string => {
  switch (c.op) {
    case "saveReg":
      return c.isPair ? `stp x${c.register}, x${c.register + 1}, [sp, #-${c.stackOffset}]!` : `str x${c.register}, [sp, #-${c.stackOffset}]!`;
    case "saveFReg":
      return c.isPair ? `stp d${c.register}, d${c.register + 1}, [sp, #-${c.stackOffset}]!` : `str d${c.register}, [sp, #-${c.stackOffset}]!`;
    case "saveFpLrPair":
      return c.stackOffset === 0 ? "stp x29, x30, [sp, #0]" : `stp x29, x30, [sp, #-${c.stackOffset}]!`;
    case "allocS":
    case "allocM":
    case "allocL":
      return `sub sp, #${c.size}`;
    case "pacSignLr":
      return pacDecoded ? "pacibsp" : "Bad opcode!";
    case "setFp":
      return "mov fp, sp";
    case "addFp":
      return `add fp, sp, #${c.offset}`;
  }
};

const arm64CodeBytes = (c: WinArm64Code): number =>
  c.op === "allocL" ? 4 : c.op === "saveReg" || c.op === "saveFReg" || c.op === "allocM" || c.op === "addFp" ? 2 : 1;

const MAX_FRAGMENT = 0x3ffff * 4;

interface Fragment {
  readonly offset: number;
  readonly length: number;
  readonly first: boolean;
  readonly words: number;
}

/** MS-A64 "Large functions": pieces of at most (2^18 − 1) × 4 bytes; the later ones carry `end_c` first. */
const fragmentsOf = (f: WinUnwindFunction): Fragment[] => {
  const u = f.unwind as WindowsArm64Unwind;
  const bytes = u.codes.reduce((n, c) => n + arm64CodeBytes(c), 0);
  const out: Fragment[] = [];
  if (f.length === 0) return out; // no entry for an empty body
  let off = 0;
  do {
    const length = Math.min(MAX_FRAGMENT, f.length - off);
    const first = off === 0;
    out.push({ offset: off, length, first, words: Math.ceil((bytes + 1 + (first ? 0 : 1)) / 4) });
    off += length;
  } while (off < f.length);
  return out;
};

const xdataRecordSize = (words: number): number => (words > 31 ? 8 : 4) + 4 * words;

const haveArm64Tools = (): { readobj: string; major: number } | undefined => {
  const readobj = llvmTool("llvm-readobj");
  const yaml2obj = llvmTool("yaml2obj");
  if (!requireTools("Windows ARM64 unwind via PE wrapper", readobj ?? "llvm-readobj", yaml2obj ?? "yaml2obj")) return undefined;
  return { readobj: readobj!, major: llvmMajor(readobj!) };
};

const checkArm64 = (b: Built, tool: { readobj: string; major: number }): void => {
  const img = buildPe({ arch: "aarch64", textSize: b.textSize, xdata: b.xdata, pdata: b.pdata });
  try {
    const text = IMAGE_BASE + TEXT_RVA;
    const xbase = IMAGE_BASE + img.xdataRva;
    const ro = parseReadobjArm64(readobjUnwind(tool.readobj, img.path));
    const pacDecoded = tool.major >= 15;
    let x = 0;
    let k = 0;
    for (const f of b.functions) {
      const u = f.unwind as WindowsArm64Unwind;
      for (const frag of fragmentsOf(f)) {
        const got = ro[k++];
        expect(got, `no RuntimeFunction for ${f.name}+${frag.offset}`).toBeDefined();
        const codes = [...u.codes].reverse().map((c) => arm64Text(c, pacDecoded));
        // LLVM before 15 stops decoding at end_c; later versions go on to `end`.
        const prologue = frag.first ? [...codes, "end"] : tool.major >= 15 ? ["end_c", ...codes, "end"] : ["end_c"];
        expect({ ...got!, prologue: got!.prologue.map((o) => o.text) }).toEqual({
          function: text + f.offset + frag.offset,
          exceptionRecord: xbase + x,
          functionLength: frag.length,
          version: 0,
          exceptionData: "No",
          epiloguePacked: frag.first ? "No" : "Yes",
          epilogue: frag.first ? { key: "EpilogueScopes", value: 0 } : { key: "EpilogueOffset", value: 0 },
          byteCodeLength: 4 * frag.words,
          prologue,
        });
        x += xdataRecordSize(frag.words);
      }
    }
    expect(ro.length).toBe(k);
    expect(b.xdata.length).toBe(x);
    expect(b.pdata.length).toBe(8 * k);
  } finally {
    img.dispose();
  }
};

// ---------------------------------------------------------------- hand-written cases

const x64 = (codes: WinX64Code[], extra: Partial<WindowsX64Unwind> = {}): WindowsX64Unwind => ({
  kind: "windowsX64",
  flags: 0,
  prologueSize: codes.reduce((m, c) => Math.max(m, c.at), 0),
  frameRegister: null,
  frameRegisterOffset: 0,
  codes,
  ...extra,
});

const a64 = (codes: WinArm64Code[]): WindowsArm64Unwind => ({ kind: "windowsArm64", codes });

describe("Windows x64 unwind bytes", () => {
  it("writes the typical Cranelift frame as Microsoft lays it out", () => {
    const b = build("x86_64", [
      {
        length: 5,
        unwind: x64([{ op: "pushRegister", at: 1, register: 5 }, { op: "setFpRegister", at: 4 }, { op: "stackAlloc", at: 8, size: 32 }], { frameRegister: 5 }),
      },
    ]);
    expect(hex(b.xdata)).toBe("0108030508320403015000" + "00");
    expect(hex(b.pdata)).toBe("00000000" + "05000000" + "00100000");
  });

  it("scales saveReg by 8 and saveXmm by 16, and the frame offset by 16 (reference §13)", () => {
    const b = build("x86_64", [
      {
        length: 16,
        unwind: x64(
          [
            { op: "pushRegister", at: 1, register: 5 },
            { op: "setFpRegister", at: 4 },
            { op: "saveReg", at: 8, register: 3, stackOffset: 16 },
            { op: "saveXmm", at: 12, register: 6, stackOffset: 32 },
          ],
          { frameRegister: 5, frameRegisterOffset: 32 },
        ),
      },
    ]);
    // header 01 0c 06 25; xmm6 @12: 0c 68 0200; rbx @8: 08 34 0200; setfp: 04 03; push rbp: 01 50
    expect(hex(b.xdata)).toBe("010c0625" + "0c680200" + "08340200" + "0403" + "0150");
  });
});

describe("Windows unwind tables", () => {
  it("give an empty body no entry, but still check its record", () => {
    const push: WinX64Code = { op: "pushRegister", at: 1, register: 5 };
    const b = build("x86_64", [{ length: 0, unwind: x64([push]) }, { length: 4, unwind: x64([push]) }]);
    expect(hex(b.pdata)).toBe("00000000" + "04000000" + "00100000");
    expect(b.xdata.length).toBe(8);
    expect(errorOf("x86_64", [{ name: "empty", length: 0, unwind: x64([push], { flags: 1 }) }])).toMatchObject({ function: "empty", field: "flags" });
    const a = build("aarch64", [{ length: 0, unwind: a64([]) }, { length: 4, unwind: a64([]) }]);
    expect(hex(a.pdata)).toBe("00000000" + "00100000");
  });

  it("treat functions out of text order as a defect of the caller", () => {
    const u = x64([]);
    const f = (offset: number, length: number, item: number): WinUnwindFunction => ({ item, name: `f${item}`, offset, length, unwind: u });
    expect(() => planWindowsUnwind("x86_64", [f(16, 8, 0), f(20, 8, 1)], 0x1000)).toThrow(/text order/);
    expect(() => planWindowsUnwind("x86_64", [f(0, 8, 0)], 6)).toThrow(/multiple of 4/);
  });
});

describe("Windows x64 unwind, decoded by llvm-readobj and objdump", () => {
  const tools = haveX64Tools();
  const maybe = tools ? it : it.skip;

  maybe("decodes every code in every size class", () => {
    const all: Fn[] = [
      { length: 5, unwind: x64([{ op: "pushRegister", at: 1, register: 5 }, { op: "setFpRegister", at: 4 }], { frameRegister: 5 }) },
      { length: 0, unwind: x64([]) },
      { length: 3, unwind: x64([], { prologueSize: 0 }) },
      // every stack allocation form at its boundaries
      {
        length: 64,
        unwind: x64([
          { op: "stackAlloc", at: 4, size: 8 },
          { op: "stackAlloc", at: 8, size: 128 },
          { op: "stackAlloc", at: 12, size: 136 },
          { op: "stackAlloc", at: 16, size: 512 * 1024 - 8 },
          { op: "stackAlloc", at: 20, size: 512 * 1024 },
          { op: "stackAlloc", at: 24, size: 0xfffffff8 },
        ]),
      },
      // saves, short and far, at their boundaries
      {
        length: 100,
        unwind: x64(
          [
            { op: "pushRegister", at: 1, register: 5 },
            { op: "pushRegister", at: 3, register: 15 },
            { op: "setFpRegister", at: 6 },
            { op: "saveReg", at: 10, register: 0, stackOffset: 0 },
            { op: "saveReg", at: 20, register: 3, stackOffset: 0x7fff8 },
            { op: "saveReg", at: 30, register: 12, stackOffset: 0x80000 },
            { op: "saveReg", at: 40, register: 15, stackOffset: 0xfffffff8 },
            { op: "saveXmm", at: 50, register: 0, stackOffset: 0 },
            { op: "saveXmm", at: 60, register: 6, stackOffset: 0xffff0 },
            { op: "saveXmm", at: 70, register: 10, stackOffset: 0x100000 },
            { op: "saveXmm", at: 80, register: 15, stackOffset: 0xfffffff0 },
          ],
          { frameRegister: 13, frameRegisterOffset: 240, prologueSize: 90 },
        ),
      },
      // every general register pushed, the largest prologue size
      {
        length: 300,
        unwind: x64(
          Array.from({ length: 16 }, (_, r) => ({ op: "pushRegister" as const, at: r + 1, register: r })),
          { prologueSize: 255 },
        ),
      },
      // 255 slots, the most CountOfCodes holds (odd: one padding slot)
      {
        length: 260,
        unwind: x64([
          ...Array.from({ length: 127 }, (_, i) => ({ op: "saveReg" as const, at: i + 1, register: i % 16, stackOffset: 8 * i })),
          { op: "pushRegister", at: 200, register: 1 },
        ]),
      },
    ];
    checkX64(build("x86_64", all), tools!.readobj);
  });

  maybe("decodes generated modules", () => {
    fc.assert(
      fc.property(fc.array(x64FnArb, { minLength: 1, maxLength: 25 }), (fns) => {
        checkX64(build("x86_64", fns), tools!.readobj);
      }),
      { numRuns: 30 },
    );
  });
});

describe("Windows ARM64 unwind bytes", () => {
  it("writes the typical frame with an end code and nop padding", () => {
    const b = build("aarch64", [{ length: 20, unwind: a64([{ op: "saveFpLrPair", stackOffset: 16 }, { op: "setFp" }]) }]);
    expect(hex(b.xdata)).toBe("05000008" + "e181e4e3");
    expect(hex(b.pdata)).toBe("00000000" + "00100000");
  });

  it("switches to the extension word above 31 code words", () => {
    const codes = (n: number): WinArm64Code[] => Array.from({ length: n }, () => ({ op: "setFp" as const }));
    // 123 codes + end = 124 bytes = 31 words: header only
    const b31 = build("aarch64", [{ length: 4, unwind: a64(codes(123)) }]);
    expect(hex(b31.xdata.subarray(0, 4))).toBe("010000f8");
    expect(b31.xdata.length).toBe(4 + 124);
    // 124 codes + end = 125 bytes = 32 words: Code Words 0 and the extension word
    const b32 = build("aarch64", [{ length: 4, unwind: a64(codes(124)) }]);
    expect(hex(b32.xdata.subarray(0, 8))).toBe("01000000" + "00002000");
    expect(b32.xdata.length).toBe(8 + 128);
    expect(hex(b32.xdata.subarray(8 + 123))).toBe("e1e4e3e3e3");
  });
});

describe("Windows ARM64 unwind, decoded by llvm-readobj", () => {
  const tools = haveArm64Tools();
  const maybe = tools ? it : it.skip;

  maybe("decodes every opcode at its field boundaries", () => {
    const fns: Fn[] = [
      { length: 20, unwind: a64([{ op: "saveFpLrPair", stackOffset: 16 }, { op: "setFp" }]) },
      { length: 0, unwind: a64([]) },
      {
        length: 64,
        unwind: a64([
          { op: "pacSignLr" },
          { op: "saveReg", register: 19, stackOffset: 8, isPair: false },
          { op: "saveReg", register: 30, stackOffset: 256, isPair: false },
          { op: "saveReg", register: 19, stackOffset: 8, isPair: true },
          { op: "saveReg", register: 29, stackOffset: 512, isPair: true },
          { op: "saveFReg", register: 8, stackOffset: 8, isPair: false },
          { op: "saveFReg", register: 15, stackOffset: 256, isPair: false },
          { op: "saveFReg", register: 8, stackOffset: 16, isPair: true },
          { op: "saveFReg", register: 14, stackOffset: 512, isPair: true },
          { op: "saveFpLrPair", stackOffset: 0 },
          { op: "saveFpLrPair", stackOffset: 8 },
          { op: "saveFpLrPair", stackOffset: 512 },
          { op: "setFp" },
          { op: "addFp", offset: 0 },
          { op: "addFp", offset: 2040 },
          { op: "allocS", size: 0 },
          { op: "allocS", size: 496 },
          { op: "allocM", size: 512 },
          { op: "allocM", size: 32752 },
          { op: "allocL", size: 32768 },
          { op: "allocL", size: 0xffffff0 },
        ]),
      },
      // exactly 31 and 32 code words: the header/extension boundary (reference §4 oddity 1)
      { length: 8, unwind: a64(Array.from({ length: 123 }, () => ({ op: "setFp" as const }))) },
      { length: 8, unwind: a64(Array.from({ length: 124 }, () => ({ op: "setFp" as const }))) },
      // the most: 255 words = 1019 code bytes + end
      {
        length: 8,
        unwind: a64([
          ...Array.from({ length: 254 }, () => ({ op: "allocL" as const, size: 16 * 1000 })),
          { op: "allocS", size: 16 },
          { op: "allocS", size: 32 },
          { op: "allocS", size: 48 },
        ]),
      },
    ];
    checkArm64(build("aarch64", fns), tools!);
  });

  maybe("splits a function longer than 1 MiB − 4 into fragments", () => {
    const big = 2 * MAX_FRAGMENT + 40;
    const fns: Fn[] = [
      { length: 16, unwind: a64([{ op: "saveFpLrPair", stackOffset: 16 }, { op: "setFp" }]) },
      { length: big, unwind: a64([{ op: "saveReg", register: 19, stackOffset: 16, isPair: true }, { op: "saveFpLrPair", stackOffset: 16 }, { op: "setFp" }, { op: "allocM", size: 4096 }]) },
      { length: MAX_FRAGMENT, unwind: a64([{ op: "setFp" }]) },
      { length: MAX_FRAGMENT + 4, unwind: a64([]) },
    ];
    const b = build("aarch64", fns);
    expect(fragmentsOf(b.functions[1]!).map((f) => f.length)).toEqual([MAX_FRAGMENT, MAX_FRAGMENT, 40]);
    checkArm64(b, tools!);
  });

  maybe("decodes generated modules", () => {
    fc.assert(
      fc.property(fc.array(a64FnArb, { minLength: 1, maxLength: 25 }), (fns) => {
        checkArm64(build("aarch64", fns), tools!);
      }),
      { numRuns: 30 },
    );
  });
});

// ---------------------------------------------------------------- arbitraries of valid records

const mult = (step: number, min: number, max: number) => fc.integer({ min: min / step, max: max / step }).map((n) => n * step);

type X64CodeNoAt = { [K in WinX64Code["op"]]: Omit<Extract<WinX64Code, { op: K }>, "at"> }[WinX64Code["op"]];

interface X64Bounds {
  /** Largest stack offset or allocation (the far forms start at 512 KiB / 1 MiB). */
  readonly max: number;
  /** Registers the codes may name (the Wine check keeps rsp out). */
  readonly registers: fc.Arbitrary<number>;
}

const FULL: X64Bounds = { max: 0xfffffff8, registers: fc.integer({ min: 0, max: 15 }) };

const pushArb = (b: X64Bounds): fc.Arbitrary<X64CodeNoAt> => fc.record({ op: fc.constant("pushRegister" as const), register: b.registers });

const bodyCodeArb = (b: X64Bounds): fc.Arbitrary<X64CodeNoAt> =>
  fc.oneof(
    fc.record({
      op: fc.constant("saveReg" as const),
      register: b.registers,
      stackOffset: fc.oneof(mult(8, 0, 0x7fff8), mult(8, 0x80000, b.max - (b.max % 8))),
    }),
    fc.record({
      op: fc.constant("saveXmm" as const),
      register: fc.integer({ min: 0, max: 15 }),
      stackOffset: fc.oneof(mult(16, 0, 0xffff0), mult(16, 0x100000, b.max - (b.max % 16))),
    }),
    fc.record({ op: fc.constant("stackAlloc" as const), size: fc.oneof(mult(8, 8, 128), mult(8, 136, 0x7fff8), mult(8, 0x80000, b.max - (b.max % 8))) }),
  );

/**
 * Records as a Windows compiler writes them (MS-X64's rules, which objdump
 * checks): pushes first, then UWOP_SET_FPREG when there is a frame register,
 * then allocations and saves.
 */
const x64UnwindArbWith = (b: X64Bounds): fc.Arbitrary<WindowsX64Unwind> =>
  fc
    .record({
      frameRegister: fc.option(b.registers.filter((r) => r !== 0), { nil: null }),
      frameOffset: mult(16, 0, 240),
      pushes: fc.array(pushArb(b), { maxLength: 6 }),
      rest: fc.array(bodyCodeArb(b), { maxLength: 8 }),
      ats: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 15, maxLength: 15 }),
      extra: fc.integer({ min: 0, max: 255 }),
    })
    .map(({ frameRegister, frameOffset, pushes, rest, ats, extra }) => {
      const codes: X64CodeNoAt[] = [...pushes, ...(frameRegister === null ? [] : [{ op: "setFpRegister" as const }]), ...rest];
      const sorted = ats.slice(0, codes.length).sort((x, y) => x - y);
      const last = sorted.length ? sorted[sorted.length - 1]! : 0;
      return {
        kind: "windowsX64" as const,
        flags: 0,
        prologueSize: last + Math.floor((extra * (255 - last)) / 255),
        frameRegister,
        frameRegisterOffset: frameRegister === null ? 0 : frameOffset,
        codes: codes.map((c, i) => ({ ...c, at: sorted[i]! }) as WinX64Code),
      };
    });

const x64UnwindArb = x64UnwindArbWith(FULL);

const x64FnArb: fc.Arbitrary<Fn> = fc.record({ length: fc.integer({ min: 0, max: 400 }), unwind: x64UnwindArb });

const a64CodeArb: fc.Arbitrary<WinArm64Code> = fc.oneof(
  fc.boolean().chain((isPair) =>
    fc.record({
      op: fc.constant("saveReg" as const),
      register: fc.integer({ min: 19, max: isPair ? 29 : 30 }),
      stackOffset: mult(8, 8, isPair ? 512 : 256),
      isPair: fc.constant(isPair),
    }),
  ),
  fc.boolean().chain((isPair) =>
    fc.record({
      op: fc.constant("saveFReg" as const),
      register: fc.integer({ min: 8, max: isPair ? 14 : 15 }),
      stackOffset: mult(8, 8, isPair ? 512 : 256),
      isPair: fc.constant(isPair),
    }),
  ),
  fc.record({ op: fc.constant("saveFpLrPair" as const), stackOffset: fc.oneof(fc.constant(0), mult(8, 8, 512)) }),
  fc.record({ op: fc.constant("allocS" as const), size: mult(16, 0, 496) }),
  fc.record({ op: fc.constant("allocM" as const), size: mult(16, 0, 32752) }),
  fc.record({ op: fc.constant("allocL" as const), size: mult(16, 0, 0xffffff0) }),
  fc.constant({ op: "pacSignLr" as const }),
  fc.constant({ op: "setFp" as const }),
  fc.record({ op: fc.constant("addFp" as const), offset: mult(8, 0, 2040) }),
);

const a64FnArb: fc.Arbitrary<Fn> = fc.record({
  length: mult(4, 0, 2000),
  // mostly short, sometimes long enough for the extension word
  unwind: fc
    .oneof({ weight: 4, arbitrary: fc.array(a64CodeArb, { maxLength: 16 }) }, { weight: 1, arbitrary: fc.array(a64CodeArb, { minLength: 60, maxLength: 200 }) })
    .filter((codes) => codes.reduce((n, c) => n + arm64CodeBytes(c), 0) + 1 <= 4 * 255)
    .map(a64),
});

// ---------------------------------------------------------------- errors

describe("Windows unwind errors", () => {
  const push: WinX64Code = { op: "pushRegister", at: 1, register: 5 };
  const x64Err = (u: WindowsX64Unwind) => errorOf("x86_64", [{ length: 8, unwind: x64([push]) }, { name: "bad", length: 8, unwind: u }]);
  const range = (index: number, code: string, field: string, value: number) => ({
    _tag: "UnwindValueOutOfRange",
    item: 1,
    function: "bad",
    index,
    code,
    field,
    value,
  });

  it.each<[string, WindowsX64Unwind, ReturnType<typeof range>]>([
    ["flags (handler data)", x64([push], { flags: 1 }), range(-1, "header", "flags", 1)],
    ["prologue size > 255", x64([push], { prologueSize: 256 }), range(-1, "header", "prologueSize", 256)],
    ["frame register 16", x64([push], { frameRegister: 16 }), range(-1, "header", "frameRegister", 16)],
    ["frame register 0 (means none)", x64([push], { frameRegister: 0 }), range(-1, "header", "frameRegister", 0)],
    ["frame offset not a multiple of 16", x64([push], { frameRegister: 5, frameRegisterOffset: 8 }), range(-1, "header", "frameRegisterOffset", 8)],
    ["frame offset > 240", x64([push], { frameRegister: 5, frameRegisterOffset: 256 }), range(-1, "header", "frameRegisterOffset", 256)],
    ["frame offset without a frame register", x64([push], { frameRegisterOffset: 16 }), range(-1, "header", "frameRegisterOffset", 16)],
    ["setFpRegister without a frame register", x64([push, { op: "setFpRegister", at: 4 }]), range(1, "setFpRegister", "frameRegister", 0)],
    ["at > 255", x64([push, { op: "pushRegister", at: 256, register: 3 }], { prologueSize: 255 }), range(1, "pushRegister", "at", 256)],
    ["at > prologue size", x64([push, { op: "pushRegister", at: 9, register: 3 }], { prologueSize: 8 }), range(1, "pushRegister", "at", 9)],
    ["push register 16", x64([{ op: "pushRegister", at: 1, register: 16 }]), range(0, "pushRegister", "register", 16)],
    ["saveReg register 16", x64([{ op: "saveReg", at: 1, register: 16, stackOffset: 8 }]), range(0, "saveReg", "register", 16)],
    ["saveReg offset not a multiple of 8", x64([{ op: "saveReg", at: 1, register: 3, stackOffset: 12 }]), range(0, "saveReg", "stackOffset", 12)],
    ["saveReg offset ≥ 4 GiB", x64([{ op: "saveReg", at: 1, register: 3, stackOffset: 0x100000000 }]), range(0, "saveReg", "stackOffset", 0x100000000)],
    ["saveXmm offset not a multiple of 16", x64([{ op: "saveXmm", at: 1, register: 6, stackOffset: 8 }]), range(0, "saveXmm", "stackOffset", 8)],
    ["saveXmm register 16", x64([{ op: "saveXmm", at: 1, register: 16, stackOffset: 16 }]), range(0, "saveXmm", "register", 16)],
    ["stackAlloc 0", x64([{ op: "stackAlloc", at: 1, size: 0 }]), range(0, "stackAlloc", "size", 0)],
    ["stackAlloc not a multiple of 8", x64([{ op: "stackAlloc", at: 1, size: 20 }]), range(0, "stackAlloc", "size", 20)],
    ["stackAlloc ≥ 4 GiB", x64([{ op: "stackAlloc", at: 1, size: 0x100000000 }]), range(0, "stackAlloc", "size", 0x100000000)],
    [
      "256 slots",
      x64(Array.from({ length: 128 }, (_, i) => ({ op: "saveReg" as const, at: i + 1, register: 3, stackOffset: 8 }))),
      range(-1, "header", "countOfCodes", 256),
    ],
  ])("x64: %s", (_what, u, expected) => {
    expect(x64Err(u)).toMatchObject(expected);
  });

  it("x64: codes out of prologue order", () => {
    expect(x64Err(x64([{ op: "pushRegister", at: 3, register: 5 }, { op: "pushRegister", at: 2, register: 3 }]))).toEqual({
      _tag: "UnwindOutOfOrder",
      item: 1,
      function: "bad",
      index: 1,
      at: 2,
      previous: 3,
    });
  });

  const a64Err = (u: WindowsArm64Unwind, length = 8) => errorOf("aarch64", [{ length: 8, unwind: a64([{ op: "setFp" }]) }, { name: "bad", length, unwind: u }]);

  it.each<[string, WinArm64Code, ReturnType<typeof range>]>([
    ["saveReg x18", { op: "saveReg", register: 18, stackOffset: 16, isPair: false }, range(0, "saveReg", "register", 18)],
    ["saveReg x31", { op: "saveReg", register: 31, stackOffset: 16, isPair: false }, range(0, "saveReg", "register", 31)],
    ["saveReg pair x30", { op: "saveReg", register: 30, stackOffset: 16, isPair: true }, range(0, "saveReg", "register", 30)],
    ["save_reg_x offset 264", { op: "saveReg", register: 19, stackOffset: 264, isPair: false }, range(0, "saveReg", "stackOffset", 264)],
    ["save_regp_x offset 520", { op: "saveReg", register: 19, stackOffset: 520, isPair: true }, range(0, "saveReg", "stackOffset", 520)],
    ["saveReg offset 0", { op: "saveReg", register: 19, stackOffset: 0, isPair: true }, range(0, "saveReg", "stackOffset", 0)],
    ["saveReg offset 12", { op: "saveReg", register: 19, stackOffset: 12, isPair: true }, range(0, "saveReg", "stackOffset", 12)],
    ["saveFReg d7", { op: "saveFReg", register: 7, stackOffset: 16, isPair: false }, range(0, "saveFReg", "register", 7)],
    ["saveFReg d16", { op: "saveFReg", register: 16, stackOffset: 16, isPair: false }, range(0, "saveFReg", "register", 16)],
    ["saveFReg pair d15", { op: "saveFReg", register: 15, stackOffset: 16, isPair: true }, range(0, "saveFReg", "register", 15)],
    ["save_freg_x offset 264", { op: "saveFReg", register: 8, stackOffset: 264, isPair: false }, range(0, "saveFReg", "stackOffset", 264)],
    ["saveFpLrPair offset 520", { op: "saveFpLrPair", stackOffset: 520 }, range(0, "saveFpLrPair", "stackOffset", 520)],
    ["saveFpLrPair offset 4", { op: "saveFpLrPair", stackOffset: 4 }, range(0, "saveFpLrPair", "stackOffset", 4)],
    ["allocS 512", { op: "allocS", size: 512 }, range(0, "allocS", "size", 512)],
    ["allocS 8", { op: "allocS", size: 8 }, range(0, "allocS", "size", 8)],
    ["allocM 32 KiB", { op: "allocM", size: 32768 }, range(0, "allocM", "size", 32768)],
    ["allocL 256 MiB", { op: "allocL", size: 0x10000000 }, range(0, "allocL", "size", 0x10000000)],
    ["allocL not a multiple of 16", { op: "allocL", size: 40 }, range(0, "allocL", "size", 40)],
    ["addFp 2048", { op: "addFp", offset: 2048 }, range(0, "addFp", "offset", 2048)],
    ["addFp 4", { op: "addFp", offset: 4 }, range(0, "addFp", "offset", 4)],
  ])("ARM64: %s", (_what, code, expected) => {
    expect(a64Err(a64([code]))).toMatchObject(expected);
  });

  it("ARM64: a body length that is not whole instructions", () => {
    expect(a64Err(a64([{ op: "setFp" }]), 10)).toMatchObject(range(-1, "header", "functionLength", 10));
  });

  it("ARM64: more than 255 code words", () => {
    const codes = Array.from({ length: 255 }, () => ({ op: "allocL" as const, size: 16 }));
    expect(a64Err(a64(codes))).toMatchObject(range(-1, "header", "codeWords", 256));
  });

  it("refuses unwind info of the other architecture", () => {
    expect(errorOf("x86_64", [{ name: "bad", length: 4, unwind: a64([]) }])).toEqual({
      _tag: "UnwindKindNotForTarget",
      item: 0,
      function: "bad",
      kind: "windowsArm64",
      expected: "windowsX64",
    });
    expect(errorOf("aarch64", [{ name: "bad", length: 4, unwind: x64([]) }])).toMatchObject({ _tag: "UnwindKindNotForTarget", expected: "windowsArm64" });
  });

  it("every error names the function and says what is allowed", () => {
    const e = x64Err(x64([push], { flags: 3 }));
    expect(e).toMatchObject({ function: "bad", item: 1 });
    expect((e as { allowed: string }).allowed).toMatch(/handler/);
  });
});

// ---------------------------------------------------------------- a real unwinder (Wine)

/**
 * What `RtlVirtualUnwind` must compute for a PC `o` bytes into a function,
 * per MS-X64's "Unwind procedure": the codes whose offset is ≤ o are undone
 * in array order (last prologue instruction first); register saves are read
 * at the frame base — the frame register minus 16 × FrameOffset once
 * UWOP_SET_FPREG has run (or the PC is past the prologue), RSP otherwise —
 * and the return address is popped at the end.
 */
const modelUnwind = (u: WindowsX64Unwind, o: number, q: WinQuery, stack: bigint) => {
  const gpr = Array.from({ length: 16 }, (_, i) => winInitialGpr(i));
  const xmm = Array.from({ length: 16 }, (_, i) => winInitialXmm(i));
  const mem = (a: bigint): bigint => WIN_STACK_PATTERN | (a - stack);
  let rsp = stack + BigInt(q.rspOffset);
  gpr[4] = rsp;
  if (q.frame !== null) gpr[q.frame.register] = stack + BigInt(q.frame.offset);
  const fpBase = (): bigint => gpr[u.frameRegister!]! - BigInt(u.frameRegisterOffset);
  const fpSet = u.frameRegister !== null && (o >= u.prologueSize || u.codes.some((c) => c.op === "setFpRegister" && c.at <= o));
  const frame = fpSet ? fpBase() : rsp;
  for (const c of [...u.codes].reverse()) {
    if (c.at > o) continue;
    switch (c.op) {
      case "pushRegister":
        gpr[c.register] = mem(rsp);
        rsp += 8n;
        break;
      case "stackAlloc":
        rsp += BigInt(c.size);
        break;
      case "setFpRegister":
        rsp = frame; // the frame base found before undoing anything, not the register's restored value
        break;
      case "saveReg":
        gpr[c.register] = mem(frame + BigInt(c.stackOffset));
        break;
      case "saveXmm": {
        const a = frame + BigInt(c.stackOffset);
        xmm[c.register] = { lo: mem(a), hi: mem(a + 8n) };
        break;
      }
    }
  }
  const rip = mem(rsp);
  gpr[4] = rsp + 8n;
  return { rip, gpr, xmm };
};

/** Registers without rsp, offsets up to 2 MiB (the far forms, inside the harness's 64 MiB stack). */
const WINE: X64Bounds = { max: 0x200000, registers: fc.constantFrom(0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) };

const checkWithWine = (fns: ReadonlyArray<Fn>): void => {
  const b = build("x86_64", fns);
  const queries: WinQuery[] = [];
  const owners: { f: WinUnwindFunction; o: number }[] = [];
  for (const f of b.functions) {
    const u = f.unwind as WindowsX64Unwind;
    const offsets = new Set([0, u.prologueSize, f.length - 1, ...u.codes.map((c) => c.at), ...u.codes.map((c) => c.at - 1)]);
    for (const o of [...offsets].filter((v) => v >= 0 && v < f.length).sort((x, y) => x - y)) {
      queries.push({ pc: f.offset + o, rspOffset: 0x10000, frame: u.frameRegister === null ? null : { register: u.frameRegister, offset: 0x11000 } });
      owners.push({ f, o });
    }
  }
  const got = runWinHarness(b.textSize, b.xdata, b.pdata, queries);
  queries.forEach((q, i) => {
    const { f, o } = owners[i]!;
    const r = got.results[i]!;
    const want = modelUnwind(f.unwind as WindowsX64Unwind, o, q, got.stack);
    expect({ ...r, establisher: undefined }, `${f.name} at +${o}`).toEqual({
      found: true,
      begin: f.offset,
      end: f.offset + f.length,
      rip: want.rip,
      establisher: undefined,
      gpr: want.gpr,
      xmm: want.xmm,
    });
  });
};

describe("Windows x64 unwind, run by Wine's RtlVirtualUnwind", () => {
  // A real Windows unwinder: CI installs wine and mingw-w64 (.ci/run); elsewhere this skips visibly.
  const ok = requireTools("Windows x64 unwind under Wine", "wine", "x86_64-w64-mingw32-gcc");
  const maybe = ok ? it : it.skip;

  maybe("unwinds hand-written frames at every prologue offset", () => {
    checkWithWine([
      { length: 24, unwind: x64([{ op: "pushRegister", at: 1, register: 5 }, { op: "setFpRegister", at: 4 }], { frameRegister: 5 }) },
      {
        length: 64,
        unwind: x64(
          [
            { op: "pushRegister", at: 1, register: 5 },
            { op: "pushRegister", at: 3, register: 15 },
            { op: "setFpRegister", at: 6 },
            { op: "stackAlloc", at: 10, size: 0x90000 },
            { op: "saveReg", at: 14, register: 3, stackOffset: 0x7fff8 },
            { op: "saveReg", at: 18, register: 12, stackOffset: 0x80000 },
            { op: "saveXmm", at: 22, register: 6, stackOffset: 0xffff0 },
            { op: "saveXmm", at: 26, register: 15, stackOffset: 0x100010 },
          ],
          { frameRegister: 5, frameRegisterOffset: 240, prologueSize: 30 },
        ),
      },
      {
        length: 40,
        unwind: x64([
          { op: "pushRegister", at: 2, register: 3 },
          { op: "stackAlloc", at: 6, size: 128 },
          { op: "stackAlloc", at: 10, size: 0x7fff8 },
          { op: "stackAlloc", at: 14, size: 0x80000 },
          { op: "saveReg", at: 18, register: 7, stackOffset: 8 },
          { op: "saveXmm", at: 22, register: 9, stackOffset: 32 },
        ]),
      },
    ]);
  }, 300_000);

  maybe("unwinds generated frames", () => {
    const fn = x64UnwindArbWith(WINE).chain((u) => fc.integer({ min: 1, max: 16 }).map((extra) => ({ length: u.prologueSize + extra, unwind: u })));
    fc.assert(
      fc.property(fc.array(fn, { minLength: 20, maxLength: 40 }), (fns) => checkWithWine(fns)),
      // Each run starts Wine (seconds): no shrinking, the first counterexample is reported as found.
      { numRuns: 3, endOnFailure: true },
    );
  }, 300_000);
});
