/**
 * A PE wrapper around objfold's Windows unwind tables, so that decoders
 * nobody here wrote can read them: llvm's `yaml2obj` builds the image,
 * `llvm-readobj --unwind` (x64 and ARM64) and binutils' `objdump -p` (x64)
 * decode it.
 *
 * The tables' RVAs are relative to the start of `.text` (wasmtime registers
 * them with `RtlAddFunctionTable(..., base = text start)`, reference §10). A
 * PE image cannot put `.text` at RVA 0 (the headers are there), so the image
 * has `.text` at RVA T = 0x1000 and `.xdata` at T + S, exactly where the
 * tables say it is relative to `.text`, and the wrapper adds T to every RVA of
 * the `.pdata` copy it puts in the image: a `.pdata` entry that points
 * anywhere but T + S + (its record's offset) decodes as garbage.
 * `.pdata` goes on the next page after `.xdata` (nothing points at it but the
 * exception directory).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasTool, run } from "./tools.js";

export type PeArch = "x86_64" | "aarch64";

export const IMAGE_BASE = 0x140000000;
/** RVA of `.text` in the wrapper image. */
export const TEXT_RVA = 0x1000;
const PAGE = 0x1000;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * The best available name of an LLVM tool: the newest versioned binary
 * (`llvm-readobj-19` …), else the unversioned one, else `-14`. Newer
 * `llvm-readobj` versions decode more ARM64 opcodes (`pac_sign_lr` since 15).
 */
export const llvmTool = (base: "yaml2obj" | "llvm-readobj"): string | undefined => {
  // OBJFOLD_LLVM_READOBJ / OBJFOLD_YAML2OBJ pin a version (e.g. to check the oldest supported decoder).
  const pinned = process.env[base === "yaml2obj" ? "OBJFOLD_YAML2OBJ" : "OBJFOLD_LLVM_READOBJ"];
  if (pinned) return pinned;
  for (let v = 30; v >= 15; v--) if (hasTool(`${base}-${v}`)) return `${base}-${v}`;
  if (hasTool(base)) return base;
  if (hasTool(`${base}-14`)) return `${base}-14`;
  return undefined;
};

/** The LLVM major version of a tool (`LLVM version 14.0.6` → 14). */
export const llvmMajor = (tool: string): number => {
  const m = /LLVM version (\d+)/.exec(run(tool, ["--version"]));
  return m ? Number(m[1]) : 0;
};

export interface PeInput {
  readonly arch: PeArch;
  /** S: the page-padded `.text` size the tables were planned with. */
  readonly textSize: number;
  readonly xdata: Uint8Array;
  readonly pdata: Uint8Array;
}

export interface PeImage {
  readonly path: string;
  readonly xdataRva: number;
  readonly pdataRva: number;
  /** Remove the temporary directory. */
  dispose(): void;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** The `.pdata` copy with T added to every RVA (begin/end/unwind on x64; begin/xdata on ARM64, Flag bits kept). */
export const rebasePdata = (arch: PeArch, pdata: Uint8Array, by: number): Uint8Array => {
  const out = new Uint8Array(pdata);
  const view = new DataView(out.buffer);
  for (let p = 0; p + 4 <= out.length; p += 4) view.setUint32(p, (view.getUint32(p, true) + by) >>> 0, true);
  if (arch === "aarch64" && by % 4 !== 0) throw new Error("rebasing would corrupt the ARM64 Flag bits");
  return out;
};

/** Build the wrapper image with yaml2obj. */
export const buildPe = (input: PeInput): PeImage => {
  const yaml2obj = llvmTool("yaml2obj");
  if (yaml2obj === undefined) throw new Error("yaml2obj not found");
  const xdataRva = TEXT_RVA + input.textSize;
  const pdataRva = alignUp(xdataRva + Math.max(input.xdata.length, 1), PAGE);
  const machine = input.arch === "x86_64" ? "IMAGE_FILE_MACHINE_AMD64" : "IMAGE_FILE_MACHINE_ARM64";
  const section = (name: string, chars: string, rva: number, size: number, data: string) =>
    [`  - Name:            ${name}`, `    Characteristics: [ ${chars} ]`, `    VirtualAddress:  ${rva}`, `    VirtualSize:     ${size}`, `    SectionData:     '${data}'`].join("\n");
  const yaml = [
    "--- !COFF",
    "OptionalHeader:",
    "  AddressOfEntryPoint: 0",
    `  ImageBase:       ${IMAGE_BASE}`,
    `  SectionAlignment: ${PAGE}`,
    "  FileAlignment:   512",
    "  MajorOperatingSystemVersion: 6",
    "  MinorOperatingSystemVersion: 0",
    "  MajorImageVersion: 0",
    "  MinorImageVersion: 0",
    "  MajorSubsystemVersion: 6",
    "  MinorSubsystemVersion: 0",
    "  Subsystem:       IMAGE_SUBSYSTEM_WINDOWS_CUI",
    "  DLLCharacteristics: [ ]",
    "  SizeOfStackReserve: 1048576",
    "  SizeOfStackCommit: 4096",
    "  SizeOfHeapReserve: 1048576",
    "  SizeOfHeapCommit: 4096",
    "  ExceptionTable:",
    `    RelativeVirtualAddress: ${pdataRva}`,
    `    Size:            ${input.pdata.length}`,
    "header:",
    `  Machine:         ${machine}`,
    "  Characteristics: [ IMAGE_FILE_EXECUTABLE_IMAGE, IMAGE_FILE_LARGE_ADDRESS_AWARE ]",
    "sections:",
    // The code bytes do not matter to the decoders: one `ret`/`brk`-ish byte, the rest virtual.
    section(".text", "IMAGE_SCN_CNT_CODE, IMAGE_SCN_MEM_EXECUTE, IMAGE_SCN_MEM_READ", TEXT_RVA, input.textSize, "C3"),
    section(".xdata", "IMAGE_SCN_CNT_INITIALIZED_DATA, IMAGE_SCN_MEM_READ", xdataRva, input.xdata.length, hex(input.xdata)),
    section(".pdata", "IMAGE_SCN_CNT_INITIALIZED_DATA, IMAGE_SCN_MEM_READ", pdataRva, input.pdata.length, hex(rebasePdata(input.arch, input.pdata, TEXT_RVA))),
    "symbols: []",
    "...",
    "",
  ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "objfold-pe-"));
  const yamlPath = join(dir, "image.yaml");
  const path = join(dir, "image.exe");
  writeFileSync(yamlPath, yaml);
  run(yaml2obj, [yamlPath, "-o", path]);
  return { path, xdataRva, pdataRva, dispose: () => rmSync(dir, { recursive: true, force: true }) };
};

// ---------------------------------------------------------------- llvm-readobj --unwind

/** One x64 unwind code as llvm-readobj prints it: `0x04: SET_FPREG reg=RBP, offset=0x0`. */
export interface ReadobjX64Code {
  readonly at: number;
  readonly op: string;
  /** `reg=…`, `offset=…` (hex), `size=…` (decimal), as numbers where numeric. */
  readonly reg?: string;
  readonly offset?: number;
  readonly size?: number;
}

export interface ReadobjX64Function {
  readonly start: number;
  readonly end: number;
  readonly unwindInfo: number;
  readonly version: number;
  readonly flags: number;
  readonly prologSize: number;
  /** Register name (`RBP`), or `-` when none. */
  readonly frameRegister: string;
  /** The raw FrameOffset nibble as printed, or `-`. */
  readonly frameOffset: string;
  readonly codeCount: number;
  readonly codes: ReadonlyArray<ReadobjX64Code>;
}

const num = (s: string): number => (s.startsWith("0x") || s.startsWith("0X") ? parseInt(s.slice(2), 16) : parseInt(s, 10));

/** Split llvm-readobj's `RuntimeFunction { … }` blocks. */
const runtimeFunctionBlocks = (out: string): string[][] => {
  const blocks: string[][] = [];
  let cur: string[] | undefined;
  let depth = 0;
  for (const raw of out.split("\n")) {
    const line = raw.trim();
    if (cur === undefined) {
      if (line === "RuntimeFunction {") {
        cur = [];
        depth = 1;
      }
      continue;
    }
    if (line.endsWith("{") || line.endsWith("[")) depth++;
    if (line === "}" || line === "]") depth--;
    if (depth === 0) {
      blocks.push(cur);
      cur = undefined;
    } else cur.push(line);
  }
  return blocks;
};

const field = (block: string[], key: string): string | undefined => {
  const line = block.find((l) => l.startsWith(`${key}:`));
  return line?.slice(key.length + 1).trim();
};

const addr = (s: string | undefined): number => {
  const m = /0x([0-9a-fA-F]+)/.exec(s ?? "");
  return m ? parseInt(m[1]!, 16) : NaN;
};

export const parseReadobjX64 = (out: string): ReadobjX64Function[] =>
  runtimeFunctionBlocks(out).map((b) => {
    const codesAt = b.indexOf("UnwindCodes [");
    const codes: ReadobjX64Code[] = [];
    for (let i = codesAt + 1; codesAt >= 0 && i < b.length && b[i] !== "]"; i++) {
      const m = /^0x([0-9A-Fa-f]+): (\w+)(.*)$/.exec(b[i]!);
      if (!m) throw new Error(`unparsed unwind code line: ${b[i]}`);
      const rest = m[3]!;
      const reg = /reg=([\w<>]+)/.exec(rest)?.[1];
      const offset = /offset=(0x[0-9A-Fa-f]+)/.exec(rest)?.[1];
      const size = /size=(\d+)/.exec(rest)?.[1];
      codes.push({
        at: parseInt(m[1]!, 16),
        op: m[2]!,
        ...(reg !== undefined ? { reg } : {}),
        ...(offset !== undefined ? { offset: num(offset) } : {}),
        ...(size !== undefined ? { size: Number(size) } : {}),
      });
    }
    const flags = /\(0x([0-9A-Fa-f]+)\)/.exec(b.find((l) => l.startsWith("Flags [")) ?? "");
    return {
      start: addr(field(b, "StartAddress")),
      end: addr(field(b, "EndAddress")),
      unwindInfo: addr(field(b, "UnwindInfoAddress")),
      version: Number(field(b, "Version")),
      flags: flags ? parseInt(flags[1]!, 16) : NaN,
      prologSize: Number(field(b, "PrologSize")),
      frameRegister: (field(b, "FrameRegister") ?? "").split(" ")[0]!,
      frameOffset: field(b, "FrameOffset") ?? "",
      codeCount: Number(field(b, "UnwindCodeCount")),
      codes,
    };
  });

/** One ARM64 opcode line: `0xe1                ; mov fp, sp`. */
export interface ReadobjArm64Opcode {
  readonly bytes: string;
  readonly text: string;
}

export interface ReadobjArm64Function {
  readonly function: number;
  readonly exceptionRecord: number;
  readonly functionLength: number;
  readonly version: number;
  readonly exceptionData: string;
  readonly epiloguePacked: string;
  /** `EpilogueScopes` (E = 0) or `EpilogueOffset` (E = 1). */
  readonly epilogue: { readonly key: string; readonly value: number };
  readonly byteCodeLength: number;
  readonly prologue: ReadonlyArray<ReadobjArm64Opcode>;
}

export const parseReadobjArm64 = (out: string): ReadobjArm64Function[] =>
  runtimeFunctionBlocks(out).map((b) => {
    const at = b.indexOf("Prologue [");
    const prologue: ReadobjArm64Opcode[] = [];
    for (let i = at + 1; at >= 0 && i < b.length && b[i] !== "]"; i++) {
      const m = /^0x([0-9a-f]+)\s+;\s*(.*)$/.exec(b[i]!);
      if (!m) throw new Error(`unparsed ARM64 opcode line: ${b[i]}`);
      prologue.push({ bytes: m[1]!, text: m[2]!.trim() });
    }
    const scopes = field(b, "EpilogueScopes");
    return {
      function: addr(field(b, "Function")),
      exceptionRecord: addr(field(b, "ExceptionRecord")),
      functionLength: Number(field(b, "FunctionLength")),
      version: Number(field(b, "Version")),
      exceptionData: field(b, "ExceptionData") ?? "",
      epiloguePacked: field(b, "EpiloguePacked") ?? "",
      epilogue: scopes !== undefined ? { key: "EpilogueScopes", value: Number(scopes) } : { key: "EpilogueOffset", value: Number(field(b, "EpilogueOffset")) },
      byteCodeLength: Number(field(b, "ByteCodeLength")),
      prologue,
    };
  });

export const readobjUnwind = (tool: string, path: string): string => run(tool, ["--unwind", path]);

// ---------------------------------------------------------------- objdump -p (x64)

export interface ObjdumpX64Code {
  readonly at: number;
  /** `push`, `alloc small`, `alloc large`, `FPReg`, `save`; `unexpected` precedes a code objdump flagged. */
  readonly op: string;
  readonly reg?: string;
  /** The byte value objdump prints (offset or size). */
  readonly value?: number;
}

export interface ObjdumpX64Xdata {
  readonly rva: number;
  readonly begin: number;
  readonly end: number;
  readonly version: number;
  readonly flags: string;
  readonly codeCount: number;
  readonly prologSize: number;
  readonly frameOffset: number;
  readonly frameReg: string;
  readonly codes: ReadonlyArray<ObjdumpX64Code>;
}

export interface ObjdumpX64 {
  /** The interpreted `.pdata`: begin, end, unwind data (absolute addresses). */
  readonly functions: ReadonlyArray<{ readonly begin: number; readonly end: number; readonly unwind: number }>;
  /** The decoded `.xdata` records by RVA. */
  readonly xdata: ReadonlyMap<number, ObjdumpX64Xdata>;
}

export const parseObjdumpX64 = (out: string): ObjdumpX64 => {
  const lines = out.split("\n");
  const functions: { begin: number; end: number; unwind: number }[] = [];
  const xdata = new Map<number, ObjdumpX64Xdata>();
  let i = lines.findIndex((l) => l.startsWith("The Function Table"));
  if (i < 0) return { functions, xdata };
  for (i += 2; i < lines.length; i++) {
    if (/^\s+has same begin address as predecessor/.test(lines[i]!)) throw new Error("objdump: two .pdata entries have the same begin address");
    const m = /^\s*[0-9a-f]+:\s+([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)\s*$/.exec(lines[i]!);
    if (!m) break;
    functions.push({ begin: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), unwind: parseInt(m[3]!, 16) });
  }
  for (; i < lines.length; i++) {
    const head = /^\s*[0-9a-f]+ \(rva: ([0-9a-f]+)\): ([0-9a-f]+) - ([0-9a-f]+)\s*$/.exec(lines[i]!);
    if (!head) continue;
    const v = /Version: (\d+), Flags: (.*)$/.exec(lines[i + 1] ?? "");
    const n = /Nbr codes: (\d+), Prologue size: 0x([0-9a-f]+), Frame offset: 0x([0-9a-f]+), Frame reg: (\w+)/.exec(lines[i + 2] ?? "");
    if (!v || !n) throw new Error(`unparsed objdump .xdata header at: ${lines[i]}`);
    const codes: ObjdumpX64Code[] = [];
    let j = i + 3;
    for (; j < lines.length; j++) {
      const c = /^\s+pc\+0x([0-9a-f]+): (.*)$/.exec(lines[j]!);
      if (!c) break;
      const at = parseInt(c[1]!, 16);
      // binutils marks a save that comes before UWOP_SET_FPREG in the prologue (MS-X64: with a
      // frame register, codes with an offset must follow it) with " [Unexpected!]".
      const unexpected = c[2]!.endsWith(" [Unexpected!]");
      const text = unexpected ? c[2]!.slice(0, -" [Unexpected!]".length) : c[2]!;
      if (unexpected) codes.push({ at, op: "unexpected" });
      let m: RegExpExecArray | null;
      if ((m = /^push (\w+)$/.exec(text))) codes.push({ at, op: "push", reg: m[1]! });
      else if ((m = /^alloc (small|large) area: rsp = rsp - 0x([0-9a-f]+)$/.exec(text))) codes.push({ at, op: `alloc ${m[1]}`, value: parseInt(m[2]!, 16) });
      else if ((m = /^FPReg: (\w+) = rsp \+ 0x([0-9a-f]+)/.exec(text))) codes.push({ at, op: "FPReg", reg: m[1]!, value: parseInt(m[2]!, 16) });
      else if ((m = /^save (\w+) at rsp \+ 0x([0-9a-f]+)$/.exec(text))) codes.push({ at, op: "save", reg: m[1]!, value: parseInt(m[2]!, 16) });
      else throw new Error(`unparsed objdump unwind code: ${text}`);
    }
    xdata.set(parseInt(head[1]!, 16), {
      rva: parseInt(head[1]!, 16),
      begin: parseInt(head[2]!, 16),
      end: parseInt(head[3]!, 16),
      version: Number(v[1]),
      flags: v[2]!.trim(),
      codeCount: Number(n[1]),
      prologSize: parseInt(n[2]!, 16),
      frameOffset: parseInt(n[3]!, 16),
      frameReg: n[4]!,
      codes,
    });
    i = j - 1;
  }
  return { functions, xdata };
};

export const objdumpPrivate = (path: string): string => run("objdump", ["-p", path]);

// ---------------------------------------------------------------- a real unwinder: Wine's RtlVirtualUnwind (x64)

/**
 * A mingw-built Windows program that loads `.xdata`/`.pdata` behind a
 * page-padded text of `int3` bytes exactly as wasmtime lays them out,
 * registers `.pdata` with `RtlAddFunctionTable(pdata, n, base = text)`, and
 * for each query unwinds one frame with `RtlLookupFunctionEntry` +
 * `RtlVirtualUnwind` from a context whose registers hold known values and
 * whose stack pointer points into a buffer where the qword at offset k holds
 * `0x5A5A000000000000 | k`.
 *
 * Input (little-endian): u32 S, u32 xdata length, u32 pdata length, u32 query
 * count, the xdata and pdata bytes, then per query u32 pc (text offset),
 * u32 rsp offset, u32 frame register (or 0xFFFFFFFF), u32 frame register's
 * stack offset. Before the unwind GPR i holds `0x1000000000 + i * 0x1111`,
 * xmm i holds `0x3000000000 + i : 0x2000000000 + i * 0x2222` (high:low).
 * Output: `stack <hex> text <hex>`, then per query `q <i> ok <begin> <end>
 * <rip> <establisher> <16 GPRs> <16 xmm low:high>` or `q <i> nofe`.
 */
export const WIN_UNWIND_HARNESS_C = String.raw`#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(n);
  if (fread(b, 1, n, f) != (size_t)n) return NULL;
  fclose(f); *len = n; return b;
}
static DWORD rd32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (DWORD)p[3] << 24; }

#define STACK_SIZE (64u << 20)

int main(int argc, char **argv) {
  size_t len; unsigned char *in = argc > 1 ? slurp(argv[1], &len) : NULL;
  if (!in) { printf("error input\n"); return 2; }
  DWORD S = rd32(in), xlen = rd32(in + 4), plen = rd32(in + 8), nq = rd32(in + 12);
  const unsigned char *p = in + 16;
  unsigned char *text = VirtualAlloc(NULL, S + xlen + plen, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READWRITE);
  memset(text, 0xCC, S);
  memcpy(text + S, p, xlen); p += xlen;
  memcpy(text + S + xlen, p, plen); p += plen;
  unsigned char *stack = VirtualAlloc(NULL, STACK_SIZE, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  for (DWORD64 k = 0; k < STACK_SIZE; k += 8) *(DWORD64 *)(stack + k) = 0x5A5A000000000000ull | k;
  if (!RtlAddFunctionTable((PRUNTIME_FUNCTION)(text + S + xlen), plen / 12, (DWORD64)text)) { printf("error RtlAddFunctionTable\n"); return 3; }
  printf("stack %llx text %llx\n", (unsigned long long)(DWORD64)stack, (unsigned long long)(DWORD64)text);
  for (DWORD q = 0; q < nq; q++, p += 16) {
    DWORD pc = rd32(p), rspOff = rd32(p + 4), fpReg = rd32(p + 8), fpOff = rd32(p + 12);
    CONTEXT ctx; memset(&ctx, 0, sizeof ctx);
    ctx.ContextFlags = CONTEXT_FULL;
    DWORD64 *gpr = &ctx.Rax;
    M128A *xmm = &ctx.Xmm0;
    for (int i = 0; i < 16; i++) { gpr[i] = 0x1000000000ull + i * 0x1111ull; xmm[i].Low = 0x2000000000ull + i * 0x2222ull; xmm[i].High = 0x3000000000ull + i; }
    ctx.Rsp = (DWORD64)stack + rspOff;
    if (fpReg < 16) gpr[fpReg] = (DWORD64)stack + fpOff;
    ctx.Rip = (DWORD64)text + pc;
    DWORD64 imageBase = 0;
    PRUNTIME_FUNCTION fe = RtlLookupFunctionEntry(ctx.Rip, &imageBase, NULL);
    if (!fe) { printf("q %lu nofe\n", (unsigned long)q); continue; }
    PVOID handlerData = NULL; DWORD64 establisher = 0;
    RtlVirtualUnwind(UNW_FLAG_NHANDLER, imageBase, ctx.Rip, fe, &ctx, &handlerData, &establisher, NULL);
    printf("q %lu ok %lx %lx %llx %llx", (unsigned long)q, (unsigned long)fe->BeginAddress, (unsigned long)fe->EndAddress,
           (unsigned long long)ctx.Rip, (unsigned long long)establisher);
    for (int i = 0; i < 16; i++) printf(" %llx", (unsigned long long)gpr[i]);
    for (int i = 0; i < 16; i++) printf(" %llx:%llx", (unsigned long long)xmm[i].Low, (unsigned long long)xmm[i].High);
    printf("\n");
  }
  return 0;
}
`;

export const WIN_STACK_PATTERN = 0x5a5a000000000000n;
export const winInitialGpr = (i: number): bigint => 0x1000000000n + BigInt(i) * 0x1111n;
export const winInitialXmm = (i: number): { lo: bigint; hi: bigint } => ({ lo: 0x2000000000n + BigInt(i) * 0x2222n, hi: 0x3000000000n + BigInt(i) });

export interface WinQuery {
  readonly pc: number;
  readonly rspOffset: number;
  /** The frame register and the stack offset its value points at, or null. */
  readonly frame: { readonly register: number; readonly offset: number } | null;
}

export interface WinUnwound {
  readonly found: boolean;
  readonly begin?: number;
  readonly end?: number;
  readonly rip?: bigint;
  readonly establisher?: bigint;
  readonly gpr?: bigint[];
  readonly xmm?: { lo: bigint; hi: bigint }[];
}

export interface WinRun {
  readonly stack: bigint;
  readonly text: bigint;
  readonly results: WinUnwound[];
}

let harnessExe: string | undefined;

/** Compile the harness once per source version (cached in the temp directory). */
export const buildWinHarness = (): string => {
  if (harnessExe !== undefined && existsSync(harnessExe)) return harnessExe;
  const hash = createHash("sha256").update(WIN_UNWIND_HARNESS_C).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `objfold-winunwind-${hash}`);
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, "harness.exe");
  if (!existsSync(exe)) {
    writeFileSync(join(dir, "harness.c"), WIN_UNWIND_HARNESS_C);
    run("x86_64-w64-mingw32-gcc", ["-O1", "-o", exe, join(dir, "harness.c")]);
  }
  harnessExe = exe;
  return exe;
};

/** Run the harness under Wine (a private prefix in the temp directory; the first run creates it). */
export const runWinHarness = (textSize: number, xdata: Uint8Array, pdata: Uint8Array, queries: ReadonlyArray<WinQuery>): WinRun => {
  const exe = buildWinHarness();
  const input = new Uint8Array(16 + xdata.length + pdata.length + 16 * queries.length);
  const view = new DataView(input.buffer);
  view.setUint32(0, textSize, true);
  view.setUint32(4, xdata.length, true);
  view.setUint32(8, pdata.length, true);
  view.setUint32(12, queries.length, true);
  input.set(xdata, 16);
  input.set(pdata, 16 + xdata.length);
  let p = 16 + xdata.length + pdata.length;
  for (const q of queries) {
    view.setUint32(p, q.pc, true);
    view.setUint32(p + 4, q.rspOffset, true);
    view.setUint32(p + 8, q.frame === null ? 0xffffffff : q.frame.register, true);
    view.setUint32(p + 12, q.frame === null ? 0 : q.frame.offset, true);
    p += 16;
  }
  const dir = mkdtempSync(join(tmpdir(), "objfold-winq-"));
  try {
    const inputPath = join(dir, "input.bin");
    writeFileSync(inputPath, input);
    const prefix = join(tmpdir(), "objfold-wineprefix");
    const out = execFileSync("wine", [exe, `Z:${inputPath.replaceAll("/", "\\")}`], {
      encoding: "utf8",
      env: { ...process.env, WINEPREFIX: prefix, WINEDEBUG: "-all", WINEDLLOVERRIDES: "mscoree,mshtml=" },
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines = out.split(/\r?\n/);
    const head = /^stack ([0-9a-f]+) text ([0-9a-f]+)$/.exec(lines.find((l) => l.startsWith("stack ")) ?? "");
    if (!head) throw new Error(`harness output without a header:\n${out.slice(0, 2000)}`);
    const results: WinUnwound[] = queries.map(() => ({ found: false }));
    for (const l of lines) {
      const f = l.trim().split(" ");
      if (f[0] !== "q") continue;
      const i = Number(f[1]);
      if (f[2] !== "ok") continue;
      const big = (s: string) => BigInt(`0x${s}`);
      results[i] = {
        found: true,
        begin: parseInt(f[3]!, 16),
        end: parseInt(f[4]!, 16),
        rip: big(f[5]!),
        establisher: big(f[6]!),
        gpr: f.slice(7, 23).map(big),
        xmm: f.slice(23, 39).map((x) => {
          const [lo, hi] = x.split(":");
          return { lo: big(lo!), hi: big(hi!) };
        }),
      };
    }
    return { stack: BigInt(`0x${head[1]}`), text: BigInt(`0x${head[2]}`), results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
