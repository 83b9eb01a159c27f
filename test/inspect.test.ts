/**
 * `objfold inspect` and `objfold perfmap` from the command line (the built
 * CLI), on the shared fixtures encoded for each architecture and on
 * hand-written Windows and Pulley modules. What the outside tools say about
 * the same object is the authority:
 *
 * - calls and veneers: `objdump -d` (binutils-multiarch) — every call inspect
 *   reports is a call there to the same address (through the same veneer),
 *   and every direct call objdump shows to a function start is reported;
 * - FDE ranges and unwind rows: `llvm-dwarfdump --eh-frame` and `readelf
 *   --debug-dump=frames-interp` with `.eh_frame` at its run-time address;
 * - Windows tables: `llvm-readobj --unwind` on a PE wrapper (test/support/pe.ts);
 * - sections and symbols: the test's own minimal ELF reader (test/support/elf.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { FunctionView, Inspection, SystemVUnwindView } from "../src/inspect/model.js";
import { dwarfRegister } from "../src/inspect/registers.js";
import { CLI, objfold } from "./support/cli.js";
import { disassemble, fdes, veneerTargetOf, type Arch } from "./support/disasm.js";
import { readElf } from "./support/elf.js";
import { fixtureText, reheader } from "./support/modules.js";
import { buildPe, llvmTool, parseReadobjArm64, parseReadobjX64, readobjUnwind } from "./support/pe.js";
import { requireTools } from "./support/tools.js";

const dir = mkdtempSync(join(tmpdir(), "objfold-inspect-"));
const ARCHES: ReadonlyArray<Arch> = ["x86_64", "aarch64", "riscv64", "s390x"];
const hex = (n: number): string => `0x${n.toString(16)}`;

/** Encode module text with the CLI into `dir/name.o`. */
const encode = (name: string, text: string): string => {
  const src = join(dir, `${name}.jsonl`);
  const out = join(dir, `${name}.o`);
  writeFileSync(src, text);
  const r = objfold(["encode", src, "-o", out]);
  if (r.status !== 0) throw new Error(`encode ${name}: ${r.stderr}`);
  return out;
};

const inspectJson = (path: string): Inspection => {
  const r = objfold(["inspect", path, "--json"]);
  if (r.status !== 0) throw new Error(`inspect ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout.toString("utf8")) as Inspection;
};

/** Exit 1, nothing on stdout, exactly one line on stderr, no stack trace. */
const expectRefused = (args: string[], pattern: RegExp): void => {
  const r = objfold(args);
  expect(r.status).toBe(1);
  expect(r.stdout.length).toBe(0);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^objfold: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
};

// ---------------------------------------------------------------- the human text

describe("objfold inspect", () => {
  it("describes npm start's example: sections, functions, calls and unwind rows", () => {
    const path = encode("sample", readFileSync(new URL("../examples/sample-x86_64.jsonl", import.meta.url), "utf8"));
    const r = objfold(["inspect", path]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const text = r.stdout.toString("utf8");
    expect(text).toMatch(/target: x86_64; text alignment 0x1000; unwind: SystemV \.eh_frame; triples: x86_64-unknown-linux-gnu, x86_64-apple-darwin/);
    expect(text).toMatch(/\[ 1\] \.text\s+PROGBITS\s+0x1000\s+0x1000\s+0x1000\s+ALLOC,EXECINSTR/);
    expect(text).toMatch(/functions \(7, from symbols\)/);
    expect(text).toMatch(/call\s+→ mix @ 0x0/);
    expect(text).toMatch(/0x30\.\.0x32\s+CFA=rsp\+8\s+ra=\[cfa-8\]/);
  });

  it("--json gives objfold-inspect/v1 with the sections and symbols an independent ELF reader sees", () => {
    for (const arch of ARCHES) {
      const path = encode(`json-${arch}`, fixtureText(arch));
      const d = inspectJson(path);
      const elf = readElf(readFileSync(path));
      expect(d.schema).toBe("objfold-inspect/v1");
      expect(d.sections.map((s) => [s.name, s.offset, s.size, s.align, s.flags])).toEqual(elf.sections.slice(1).map((s) => [s.name, s.offset, s.size, s.align, s.flags]));
      expect(d.symbols.map((s) => [s.name, s.value, s.size])).toEqual(elf.symbols.slice(1).map((s) => [s.name, s.value, s.size]));
      expect(d.functions.map((f) => [f.name, f.offset, f.size])).toEqual(elf.symbols.slice(1).map((s) => [s.name, s.value, s.size]));
      expect(d.text.size).toBe(elf.section(".text").size);
      expect(d.elf.byteOrder).toBe(elf.littleEndian ? "little" : "big");
    }
  });

  it("docs/inspect.md documents every field the JSON has", () => {
    const doc = readFileSync(new URL("../docs/inspect.md", import.meta.url), "utf8");
    const keys = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === "object")
        for (const [k, x] of Object.entries(v)) {
          keys.add(k);
          walk(x);
        }
    };
    const texts = [fixtureText("aarch64"), reheader(fixtureText("aarch64"), { forceVeneers: true })];
    texts.forEach((t, i) => walk(inspectJson(encode(`doc-${i}`, t))));
    walk(inspectJson(encode("doc-winx64", WIN_X64)));
    walk(inspectJson(encode("doc-winarm64", WIN_ARM64)));
    const missing = [...keys].filter((k) => !doc.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });

  it("names functions fn@0x… from the FDEs when the object has no symbols", () => {
    const d = inspectJson(encode("nosym-x86_64", reheader(fixtureText("x86_64"), { symbols: false })));
    const withSymbols = inspectJson(encode("sym-x86_64", fixtureText("x86_64")));
    expect(d.symbols).toEqual([]);
    expect(d.functions.map((f) => [f.name, f.offset, f.source])).toEqual(withSymbols.functions.map((f) => [`fn@${hex(f.offset)}`, f.offset, "fde"]));
    expect(d.functions.map((f) => f.calls.map((c) => c.target))).toEqual(withSymbols.functions.map((f) => f.calls.map((c) => c.target)));
  });

  it("an empty module, an empty body, and a program whose rows cannot be computed", () => {
    const empty = inspectJson(encode("empty", `{"format":"objfold/v1","target":"aarch64-unknown-linux-gnu"}\n`));
    expect([empty.functions, empty.islands, empty.padding, empty.unwindTables, empty.text.size]).toEqual([[], [], [], null, 0]);
    expect(objfold(["perfmap", join(dir, "empty.o"), "--base", "0"]).stdout.toString()).toBe("");
    expect(objfold(["inspect", join(dir, "empty.o"), "--svg", join(dir, "empty.svg")]).status).toBe(0);
    const d = inspectJson(
      encode(
        "empty-body",
        [
          `{"format":"objfold/v1","target":"x86_64-unknown-linux-gnu"}`,
          `{"type":"function","name":"a","body":"6AAAAAA=","alignment":16,"relocations":[{"offset":1,"kind":"X86CallPCRel4","target":"e","addend":-4}],"unwind":{"kind":"systemv","length":5,"instructions":[]}}`,
          `{"type":"function","name":"e","body":"","alignment":16,"unwind":{"kind":"systemv","length":0,"instructions":[]}}`,
          `{"type":"function","name":"b","body":"w5A=","alignment":16,"unwind":{"kind":"systemv","length":2,"instructions":[{"at":1,"op":"restoreState"}]}}`,
          ``,
        ].join("\n"),
      ),
    );
    expect(d.functions.map((f) => [f.name, f.offset, f.size, (f.unwind as SystemVUnwindView).pcRange])).toEqual([
      ["a", 0, 5, 5],
      ["e", 16, 0, 0],
      ["b", 16, 2, 2],
    ]);
    // e and b start at the same address: the bytes name the one with a body.
    expect(d.functions[0]!.calls).toEqual([{ instruction: 0, site: 1, mnemonic: "call", target: 16, function: "b", veneer: null }]);
    const b = d.functions[2]!.unwind as SystemVUnwindView;
    expect(b.instructions).toEqual([{ at: 1, op: "restoreState" }]);
    expect(b.rows).toBeNull();
    expect(b.rowsProblem).toMatch(/restore_state/);
  });

  it("recognises Pulley by the RISC-V machine and Wasmtime's e_flags bits, in either byte order", () => {
    for (const [triple, width] of [["pulley32", 32], ["pulley64be", 64]] as const) {
      const d = inspectJson(encode(`pulley-${triple}`, PULLEY.replace("TRIPLE", triple)));
      expect(d.elf.machine).toBe(243);
      expect(d.target).toMatchObject({ arch: "pulley", pulley: width, wasmtime: "component", unwind: "none", triples: [triple] });
      expect(d.sections.find((s) => s.name === ".text")?.flags).toBe(0x1);
      const f = d.functions.find((x) => x.name === "f")!;
      expect(f.calls).toEqual([{ instruction: 1, site: 2, mnemonic: "call", target: 12, function: "g", veneer: null }]);
    }
  });
});

// ---------------------------------------------------------------- outside tools

/** The rows readelf prints for one FDE: LOC, CFA text and the register columns. */
interface ReadelfRow {
  readonly loc: number;
  readonly cfa: string;
  readonly regs: ReadonlyMap<string, string>;
}

const readelfRows = (text: string): Map<number, ReadelfRow[]> => {
  const out = new Map<number, ReadelfRow[]>();
  let current: ReadelfRow[] | undefined;
  let columns: string[] = [];
  for (const line of text.split("\n")) {
    const fde = /FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\./.exec(line);
    if (fde !== null) {
      current = [];
      out.set(parseInt(fde[1]!, 16), current);
      continue;
    }
    if (/^\s+LOC\s+CFA/.test(line)) {
      columns = line.trim().split(/\s+/).slice(2);
      continue;
    }
    const row = /^([0-9a-f]{16}) (.*)$/.exec(line);
    if (row !== null && current !== undefined) {
      const cells = row[2]!.trim().split(/\s+/);
      current.push({ loc: parseInt(row[1]!, 16), cfa: cells[0]!, regs: new Map(columns.map((c, i) => [c, cells[i + 1]!])) });
    }
  }
  return out;
};

/** The RA column readelf names `ra` (CIE return address register, reference §2). */
const RA: Record<Arch, number> = { x86_64: 16, aarch64: 30, riscv64: 1, s390x: 14 };

const ourCell = (arch: Arch, f: SystemVUnwindView, loc: number, column: string): { cfa: string; cell: string } | string => {
  const row = f.rows?.find((r) => f.pcBegin + r.start <= loc && loc < f.pcBegin + r.end);
  if (row === undefined) return `no row at ${hex(loc)}`;
  const cfa = row.cfa === null || "expression" in row.cfa ? "?" : `${dwarfRegister(arch, row.cfa.register)}${row.cfa.offset < 0 ? "" : "+"}${row.cfa.offset}`;
  const reg = row.registers.find((x) => (column === "ra" ? x.register === RA[arch] : dwarfRegister(arch, x.register) === column));
  const cell = reg === undefined || reg.rule === "undefined" ? "u" : reg.rule === "offset" ? `c${reg.offset < 0 ? "" : "+"}${reg.offset}` : reg.rule;
  return { cfa, cell };
};

/** objdump's target address, `20 <rotl>` with symbols or `0x20` without. */
const ADDR = String.raw`(?:0x)?([0-9a-f]+)(?: <.*>)?$`;
const CALL: Record<Arch, RegExp> = {
  x86_64: new RegExp(`^(?:call|jmp)q? ${ADDR}`),
  aarch64: new RegExp(`^(?:bl|b) ${ADDR}`),
  riscv64: new RegExp(`^jalr .*# ${ADDR}`),
  s390x: new RegExp(`^(?:brasl %r\\d+,|jg |brcl \\d+,)${ADDR}`),
};

/** Where objdump says the call instruction at `at` goes (riscv64: the auipc at `at`, the jalr after it), or why it is not one. */
const objdumpTarget = (arch: Arch, insns: Map<number, string>, at: number): number | string => {
  if (arch === "riscv64" && !/^auipc /.test(insns.get(at) ?? "")) return `no auipc at ${hex(at)}: ${insns.get(at)}`;
  const insn = insns.get(arch === "riscv64" ? at + 4 : at) ?? "nothing";
  const m = CALL[arch].exec(insn);
  return m === null ? `not a direct call at ${hex(at)}: ${insn}` : parseInt(m[1]!, 16);
};

/** Direct calls objdump shows (call/bl/b/brasl/jg/auipc+jalr) whose target is one of `starts`: instruction offset → target. */
const objdumpCalls = (arch: Arch, insns: Map<number, string>, starts: ReadonlySet<number>): Map<number, number> => {
  const out = new Map<number, number>();
  for (const at of insns.keys()) {
    // `jmp` is left out on x86_64: without raw bytes a rel8 jump cannot be told from a rel32 one.
    if (arch === "x86_64" && !/^callq? /.test(insns.get(at)!)) continue;
    const t = objdumpTarget(arch, insns, at);
    if (typeof t === "number" && starts.has(t)) out.set(at, t);
  }
  return out;
};

describe("inspect agrees with objdump, llvm-dwarfdump and readelf", () => {
  const variants = [
    { name: "plain", fields: {} },
    { name: "forced veneers", fields: { forceVeneers: true } },
    { name: "no symbols", fields: { symbols: false } },
  ] as const;
  for (const arch of ARCHES)
    for (const v of variants)
      it(`${arch}, ${v.name}: calls, veneers, FDE ranges and rows`, () => {
        if (!requireTools("inspect vs outside tools", "objdump", "objcopy", "llvm-dwarfdump", "readelf")) return;
        const path = encode(`tools-${arch}-${v.name.replace(/ /g, "-")}`, reheader(fixtureText(arch), v.fields));
        const d = inspectJson(path);
        const insns = disassemble(path);
        const calls = d.functions.flatMap((f) => f.calls);
        expect(calls.length).toBeGreaterThan(0);
        // Every call inspect reports is that call in objdump, to the same place.
        for (const c of calls) {
          expect(objdumpTarget(arch, insns, c.instruction), `call at ${hex(c.instruction)}`).toBe(c.veneer ?? c.target);
          if (c.veneer !== null) expect(veneerTargetOf(insns, c.veneer)).toBe(c.target);
        }
        const veneers = d.islands.flatMap((i) => i.veneers);
        for (const x of veneers) expect(veneerTargetOf(insns, x.offset)).toBe(x.target);
        if (arch === "aarch64" && v.name === "forced veneers") expect(veneers.length).toBe(calls.length);
        else expect(veneers).toEqual([]);

        // FDE ranges as both tools decode them, and the functions' starts.
        const tools = fdes(dir, path, d.text.size);
        const ours = d.functions.map((f) => f.unwind as SystemVUnwindView).sort((a, b) => a.fde - b.fde);
        const ranges = ours.map((u) => ({ start: u.pcBegin, end: u.pcBegin + u.pcRange }));
        expect(tools.llvm).toEqual(ranges);
        expect(tools.readelf).toEqual(ranges);
        const starts = new Set(v.name === "no symbols" ? tools.llvm.map((r) => r.start) : readElf(readFileSync(path)).symbols.slice(1).map((s) => s.value));
        expect(new Set(d.functions.map((f) => f.offset))).toEqual(starts);

        // Every direct call objdump shows to a function start (through a veneer: to the veneer) is reported.
        const want = objdumpCalls(arch, insns, new Set([...starts, ...veneers.map((x) => x.offset)]));
        const got = new Map(calls.filter((c) => arch !== "x86_64" || c.mnemonic === "call").map((c) => [c.instruction, c.veneer ?? c.target]));
        expect(got).toEqual(want);

        // Rows: CFA and every register column readelf prints, at every location it prints.
        const rows = readelfRows(tools.readelfText);
        let cells = 0;
        for (const u of ours) {
          const theirs = rows.get(u.pcBegin) ?? [];
          for (const r of theirs)
            for (const [column, cell] of r.regs) {
              const mine = ourCell(arch, u, r.loc, column);
              expect(mine, `FDE ${hex(u.pcBegin)} at ${hex(r.loc)}, ${column}`).toEqual({ cfa: r.cfa, cell });
              cells++;
            }
        }
        expect(cells).toBeGreaterThan(50);
      });
});

// ---------------------------------------------------------------- Windows

const WIN_X64 = [
  `{"format":"objfold/v1","target":"x86_64-pc-windows-msvc"}`,
  `{"type":"function","name":"f","body":"VUiJ5UiD7CDoAAAAAMk=","alignment":16,"relocations":[{"offset":9,"kind":"X86CallPCRel4","target":"g","addend":-4}],"unwind":{"kind":"windowsX64","prologueSize":8,"frameRegister":5,"frameRegisterOffset":32,"codes":[{"op":"pushRegister","at":1,"register":5},{"op":"setFpRegister","at":4},{"op":"stackAlloc","at":8,"size":32}]}}`,
  `{"type":"function","name":"g","body":"${Buffer.alloc(40, 0x90).toString("base64")}","alignment":16,"unwind":{"kind":"windowsX64","prologueSize":30,"frameRegister":null,"codes":[{"op":"pushRegister","at":1,"register":3},{"op":"stackAlloc","at":5,"size":4096},{"op":"stackAlloc","at":9,"size":1048576},{"op":"saveReg","at":14,"register":12,"stackOffset":64},{"op":"saveReg","at":19,"register":13,"stackOffset":1048576},{"op":"saveXmm","at":25,"register":6,"stackOffset":32},{"op":"saveXmm","at":30,"register":15,"stackOffset":2097152}]}}`,
  ``,
].join("\n");

const WIN_ARM64 = [
  `{"format":"objfold/v1","target":"aarch64-pc-windows-msvc","forceVeneers":true}`,
  `{"type":"function","name":"f","body":"/Xu/qf0DAJEAAACU/XvBqMADX9Y=","alignment":16,"relocations":[{"offset":8,"kind":"Arm64Call","target":"g"}],"unwind":{"kind":"windowsArm64","codes":[{"op":"pacSignLr"},{"op":"saveFpLrPair","stackOffset":16},{"op":"setFp"}]}}`,
  `{"type":"function","name":"g","body":"${Buffer.alloc(16, 0).toString("base64")}","alignment":4,"unwind":{"kind":"windowsArm64","codes":[{"op":"saveReg","register":19,"stackOffset":16,"isPair":true},{"op":"saveReg","register":21,"stackOffset":8,"isPair":false},{"op":"saveFReg","register":8,"stackOffset":16,"isPair":true},{"op":"saveFReg","register":10,"stackOffset":8,"isPair":false},{"op":"saveFpLrPair","stackOffset":0},{"op":"allocS","size":64},{"op":"allocM","size":4096},{"op":"allocL","size":1048576},{"op":"addFp","offset":16}]}}`,
  ``,
].join("\n");

const PULLEY = [
  `{"format":"objfold/v1","target":"TRIPLE","wasmtime":"component"}`,
  `{"type":"function","name":"f","body":"AAEBAAAAAP8AAAAA","alignment":1,"relocations":[{"offset":2,"kind":"PulleyPcRel","target":"g"},{"offset":6,"kind":"PulleyCallIndirectHost","hostCall":7}]}`,
  `{"type":"function","name":"g","body":"AAAA","alignment":1}`,
  ``,
].join("\n");

const X64_REG = ["RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"];

/** What llvm-readobj prints for one of our ARM64 codes. */
const arm64Text = (c: Record<string, unknown>): string => {
  const off = c.stackOffset as number;
  const r = c.register as number;
  switch (c.op) {
    case "saveReg":
      return c.isPair ? `stp x${r}, x${r + 1}, [sp, #-${off}]!` : `str x${r}, [sp, #-${off}]!`;
    case "saveFReg":
      return c.isPair ? `stp d${r}, d${r + 1}, [sp, #-${off}]!` : `str d${r}, [sp, #-${off}]!`;
    case "saveFpLrPair":
      return off === 0 ? "stp x29, x30, [sp, #0]" : `stp x29, x30, [sp, #-${off}]!`;
    case "allocS":
    case "allocM":
    case "allocL":
      return `sub sp, #${c.size as number}`;
    case "setFp":
      return "mov fp, sp";
    case "addFp":
      return `add fp, sp, #${c.offset as number}`;
    case "pacSignLr":
      return "pacibsp";
    default:
      return `?${String(c.op)}`;
  }
};

describe("inspect's Windows unwind decoders agree with llvm-readobj", () => {
  const pe = (path: string, arch: "x86_64" | "aarch64") => {
    const bytes = readFileSync(path);
    const elf = readElf(bytes);
    const sec = (n: string) => bytes.subarray(elf.section(n).offset, elf.section(n).offset + elf.section(n).size);
    return buildPe({ arch, textSize: elf.section(".text").size, xdata: sec(".xdata"), pdata: sec(".pdata") });
  };

  it("x64: ranges, prologue, frame register and every code", () => {
    if (!requireTools("inspect vs llvm-readobj (x64)", "llvm-readobj", "yaml2obj")) return;
    const path = encode("win-x64", WIN_X64);
    const d = inspectJson(path);
    const img = pe(path, "x86_64");
    try {
      const ro = parseReadobjX64(readobjUnwind(llvmTool("llvm-readobj")!, img.path));
      const base = 0x140001000;
      expect(ro.length).toBe(d.functions.length);
      d.functions.forEach((f, i) => {
        const u = f.unwind!;
        if (u.kind !== "windowsX64") throw new Error(u.kind);
        const r = ro[i]!;
        expect([r.start - base, r.end - base, r.unwindInfo - base]).toEqual([u.begin, u.end, u.unwindInfo]);
        expect([r.prologSize, r.frameRegister]).toEqual([u.prologueSize, u.frameRegister === null ? "-" : X64_REG[u.frameRegister]]);
        // llvm-readobj lists the codes as stored: last prologue instruction first.
        const mine = [...u.codes].reverse().map((c) => {
          switch (c.op) {
            case "pushRegister":
              return { at: c.at, op: "PUSH_NONVOL", reg: X64_REG[c.register] };
            case "setFpRegister":
              return { at: c.at, op: "SET_FPREG", reg: X64_REG[u.frameRegister!], offset: u.frameRegisterOffset };
            case "stackAlloc":
              return { at: c.at, op: c.size <= 128 ? "ALLOC_SMALL" : "ALLOC_LARGE", size: c.size };
            case "saveReg":
              return { at: c.at, op: c.stackOffset / 8 <= 0xffff ? "SAVE_NONVOL" : "SAVE_NONVOL_FAR", reg: X64_REG[c.register], offset: c.stackOffset };
            case "saveXmm":
              return { at: c.at, op: c.stackOffset / 16 <= 0xffff ? "SAVE_XMM128" : "SAVE_XMM128_FAR", reg: `XMM${c.register}`, offset: c.stackOffset };
          }
        });
        expect(r.codes).toEqual(mine);
      });
      expect(d.functions[0]!.calls).toEqual([{ instruction: 8, site: 9, mnemonic: "call", target: 16, function: "g", veneer: null }]);
    } finally {
      img.dispose();
    }
  });

  it("ARM64: function starts and lengths, and every code", () => {
    if (!requireTools("inspect vs llvm-readobj (ARM64)", "llvm-readobj", "yaml2obj")) return;
    const path = encode("win-arm64", WIN_ARM64);
    const d = inspectJson(path);
    const img = pe(path, "aarch64");
    try {
      const ro = parseReadobjArm64(readobjUnwind(llvmTool("llvm-readobj")!, img.path));
      expect(ro.length).toBe(d.functions.length);
      d.functions.forEach((f, i) => {
        const u = f.unwind!;
        if (u.kind !== "windowsArm64") throw new Error(u.kind);
        const r = ro[i]!;
        expect([r.function - 0x140001000, r.functionLength]).toEqual([f.offset, f.size]);
        const theirs = r.prologue.map((o) => o.text).filter((t) => t !== "end" && t !== "nop");
        const mine = [...u.codes].reverse().map((c) => arm64Text(c as unknown as Record<string, unknown>));
        // LLVM before 15 does not know pac_sign_lr.
        expect(theirs.map((t) => (t === "Bad opcode!" ? "pacibsp" : t))).toEqual(mine);
      });
      expect(d.islands.flatMap((i) => i.veneers).map((v) => v.function)).toEqual(["g"]);
    } finally {
      img.dispose();
    }
  });
});

// ---------------------------------------------------------------- damage

describe("objects inspect refuses", () => {
  let good: Uint8Array;
  beforeAll(() => {
    good = new Uint8Array(readFileSync(encode("good", fixtureText("x86_64")))); // a copy: Buffer#slice would share memory
  });
  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  it("gcc's objects: one line, exit 1, 'not an objfold object'", () => {
    for (const arch of ARCHES) expectRefused(["inspect", new URL(`./fixtures/shared/${arch}/sample.o`, import.meta.url).pathname], /unsupported object: .*not an objfold object/);
  });

  it("truncated, wrong magic, offsets and counts out of range: one line, exit 1", () => {
    for (const cut of [0, 3, 16, 63, 64, 4096, good.length - 1]) expectRefused(["inspect", write(`cut-${cut}.o`, good.subarray(0, cut))], /malformed object/);
    const magic = good.slice();
    magic[1] = 0x58;
    expectRefused(["inspect", write("magic.o", magic)], /malformed object: wrong magic/);
    const shnum = good.slice();
    new DataView(shnum.buffer).setUint16(0x3c, 0xfff0, true);
    expectRefused(["inspect", write("shnum.o", shnum)], /malformed object: section header table/);
    const shoff = good.slice();
    new DataView(shoff.buffer).setBigUint64(0x28, 0xffffffffn, true);
    expectRefused(["inspect", write("shoff.o", shoff)], /malformed object/);
    expectRefused(["inspect", write("json.o", new TextEncoder().encode('{"format":"objfold/v1"}\n'))], /malformed object: wrong magic/);
    expectRefused(["perfmap", write("cut-pm.o", good.subarray(0, 100)), "--base", "0x1000"], /malformed object/);
  });

  it("missing files and directories: one line, exit 1", () => {
    expectRefused(["inspect", join(dir, "no-such.o")], /cannot read .*no-such\.o/);
    const d = join(dir, "a-directory.o");
    mkdirSync(d, { recursive: true });
    expectRefused(["inspect", d], /cannot read/);
  });

  it("usage errors exit 2", () => {
    for (const args of [["inspect"], ["inspect", "a.o", "--frobnicate"], ["inspect", "a.o", "--json", "--svg", "x.svg"], ["inspect", "a.o", "--svg"], ["perfmap", "a.o"], ["perfmap", "a.o", "--base", "zz"], ["perfmap", "--base", "1"]]) {
      const r = objfold(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^objfold: /);
    }
  });

  it("a reader that stops early (| head) ends the output quietly", () => {
    // Far more output than a pipe buffers, so the writes after head exits fail with EPIPE.
    const fns = Array.from({ length: 3000 }, (_, i) => `{"type":"function","name":"f${i}","body":"kJCQkA==","alignment":4}`);
    const path = encode("head", [`{"format":"objfold/v1","target":"x86_64-unknown-linux-gnu"}`, ...fns, ""].join("\n"));
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${CLI}" inspect "${path}" | head -n 1`], { encoding: "utf8" });
    expect(r.stdout.split("\n").filter((l) => l !== "")).toHaveLength(1);
    expect(r.stderr).toBe("");
  });
});

// ---------------------------------------------------------------- perf map

describe("objfold perfmap", () => {
  it("prints START SIZE name in hex without 0x, for the image mapped at --base (hex or decimal)", () => {
    const path = encode("perf-x86_64", fixtureText("x86_64"));
    const elf = readElf(readFileSync(path));
    const base = 0x7f1234560000n;
    const r = objfold(["perfmap", path, "--base", `0x${base.toString(16)}`]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.toString("utf8").trimEnd().split("\n");
    const text = BigInt(elf.section(".text").offset);
    expect(lines).toEqual(elf.symbols.slice(1).map((s) => `${(base + text + BigInt(s.value)).toString(16)} ${s.size.toString(16)} ${s.name}`));
    for (const l of lines) expect(l).toMatch(/^[0-9a-f]+ [0-9a-f]+ \S/);
    expect(objfold(["perfmap", path, "--base", base.toString(10)]).stdout.toString("utf8")).toBe(r.stdout.toString("utf8"));
  });

  it("names veneers veneer→target, and refuses an image past the 64-bit address space", () => {
    const path = encode("perf-veneers", reheader(fixtureText("aarch64"), { forceVeneers: true }));
    const d = inspectJson(path);
    const r = objfold(["perfmap", path, "--base", "0"]);
    expect(r.status).toBe(0);
    const lines = r.stdout.toString("utf8").trimEnd().split("\n");
    const veneers = d.islands.flatMap((i) => i.veneers);
    expect(veneers.length).toBeGreaterThan(0);
    for (const v of veneers) expect(lines).toContain(`${(d.text.fileOffset + v.offset).toString(16)} 14 veneer→${v.function}`);
    expect(lines.length).toBe(d.functions.filter((f: FunctionView) => f.size > 0).length + veneers.length);
    expectRefused(["perfmap", path, "--base", "0xffffffffffffff00"], /64-bit address space/);
  });
});
