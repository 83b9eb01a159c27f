/**
 * Every SystemV target proven by tools nobody here wrote, and byte for byte
 * against the reference encoder:
 *
 * - `readelf -a -W`: header (class, byte order, machine, type, OS ABI), the
 *   section table (`.text` AX on the target's text alignment, `.eh_frame` A,
 *   no relocation sections) and one local FUNC symbol per function;
 * - `eu-elflint --gnu-ld`: no problems (objects without the `wasmtime` option);
 * - `objdump -d`: every call annotated with its target's symbol;
 * - `llvm-dwarfdump --eh-frame` and `readelf --debug-dump=frames-interp`
 *   decode every FDE, each covering exactly its function;
 * - `peer-rust` (test/support/peer.ts) writes the same bytes for the shared
 *   fixtures and for generated modules of several sizes.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TextPlan } from "../src/layout/plan.js";
import { callTargetOf, disassemble, fdes } from "./support/disasm.js";
import { encodeText, type FixtureArch, fixtureText, reheader } from "./support/modules.js";
import { requirePeer } from "./support/peer.js";
import { requireTools, run, runRaw } from "./support/tools.js";

interface TargetCase {
  readonly triple: string;
  readonly arch: FixtureArch;
  readonly textAlign: number;
  readonly machine: string;
  readonly little: boolean;
}

const TARGETS: ReadonlyArray<TargetCase> = [
  { triple: "x86_64-unknown-linux-gnu", arch: "x86_64", textAlign: 0x1000, machine: "Advanced Micro Devices X86-64", little: true },
  { triple: "x86_64-apple-darwin", arch: "x86_64", textAlign: 0x1000, machine: "Advanced Micro Devices X86-64", little: true },
  { triple: "aarch64-unknown-linux-gnu", arch: "aarch64", textAlign: 0x10000, machine: "AArch64", little: true },
  { triple: "aarch64-apple-darwin", arch: "aarch64", textAlign: 0x4000, machine: "AArch64", little: true },
  { triple: "riscv64gc-unknown-linux-gnu", arch: "riscv64", textAlign: 0x1000, machine: "RISC-V", little: true },
  { triple: "s390x-unknown-linux-gnu", arch: "s390x", textAlign: 0x1000, machine: "IBM S/390", little: false },
];

const dir = mkdtempSync(join(tmpdir(), "objfold-targets-"));
const hex = (n: number): string => n.toString(16);

interface Built {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly plan: TextPlan;
}

const build = (name: string, text: string): Built => {
  const { bytes, plan } = encodeText(text);
  const path = join(dir, `${name}.o`);
  writeFileSync(path, bytes);
  return { path, bytes, plan };
};

const fixtureFor = (t: TargetCase): Built => build(t.triple, reheader(fixtureText(t.arch), { target: t.triple }));

/** The readelf, objdump and FDE checks for one object. */
const checkWithTools = (t: TargetCase, b: Built): void => {
  const { plan, path } = b;
  const fns = plan.functions;

  // readelf -a -W: nothing to complain about, and the structure we planned.
  const re = runRaw("readelf", ["-a", "-W", path]);
  expect(re.status).toBe(0);
  expect(re.stderr).toBe("");
  const out = re.stdout;
  expect(out).toMatch(/Class:\s+ELF64/);
  expect(out).toMatch(new RegExp(`Data:\\s+2's complement, ${t.little ? "little" : "big"} endian`));
  expect(out).toMatch(/OS\/ABI:\s+UNIX - System V/);
  expect(out).toMatch(/Type:\s+REL \(Relocatable file\)/);
  expect(out).toMatch(new RegExp(`Machine:\\s+${t.machine.replace(/[/()]/g, "\\$&")}\\n`));
  expect(out).toMatch(/Flags:\s+0x0\n/);
  const textLine = new RegExp(`\\] \\.text\\s+PROGBITS\\s+0+ ([0-9a-f]+) ([0-9a-f]+) 00\\s+AX\\s+0\\s+0\\s+(\\d+)`).exec(out);
  expect(textLine, ".text section line").not.toBeNull();
  expect(parseInt(textLine![1]!, 16) % t.textAlign).toBe(0);
  expect(parseInt(textLine![2]!, 16)).toBe(plan.textSize);
  expect(plan.textSize % t.textAlign).toBe(0);
  expect(Number(textLine![3])).toBe(t.textAlign);
  const eh = /\] \.eh_frame\s+PROGBITS\s+0+ ([0-9a-f]+) ([0-9a-f]+) 00\s+A\s+0\s+0\s+1\n/.exec(out);
  expect(eh, ".eh_frame section line").not.toBeNull();
  // `.eh_frame` right after the page-padded text in the file (reference §10).
  expect(parseInt(eh![1]!, 16)).toBe(parseInt(textLine![1]!, 16) + plan.textSize);
  expect(out).toContain("There are no relocations in this file.");
  const syms = [...out.matchAll(/^\s+\d+: ([0-9a-f]{16})\s+(\d+) FUNC\s+LOCAL\s+DEFAULT\s+1 (\S+)$/gm)].map((m) => ({ value: parseInt(m[1]!, 16), size: Number(m[2]), name: m[3]! }));
  expect(syms).toEqual(fns.map((f) => ({ value: f.offset, size: f.fn.body.length, name: f.fn.name })));
  for (const f of fns) expect(f.offset % f.fn.alignment).toBe(0);

  // objdump -d: each call shows its target's symbol.
  const insns = disassemble(path);
  expect(plan.calls.length).toBeGreaterThan(0);
  for (const c of plan.calls) {
    const callee = fns[c.target]!;
    const got = callTargetOf(t.arch, insns, c.at);
    expect(got, `call at 0x${hex(c.at)}`).toEqual({ addr: callee.offset, annotation: callee.fn.name });
  }

  // Every FDE decoded by both tools, each covering exactly its function.
  const withUnwind = fns.filter((f) => f.fn.unwind !== undefined);
  const want = withUnwind.map((f) => ({ start: f.offset, end: f.offset + (f.fn.unwind as { length: number }).length }));
  const got = fdes(dir, path, plan.textSize);
  expect(got.llvm).toEqual(want);
  expect(got.readelf).toEqual(want);
  for (const f of withUnwind) expect((f.fn.unwind as { length: number }).length).toBeLessThanOrEqual(f.fn.body.length);
};

describe("every SystemV target, checked by outside tools", () => {
  const tools = requireTools("target checks", "readelf", "eu-elflint", "objdump", "objcopy", "llvm-dwarfdump");
  for (const t of TARGETS) {
    it.runIf(tools)(`${t.triple}: readelf, eu-elflint, objdump calls and FDEs on the shared fixture`, () => {
      const b = fixtureFor(t);
      checkWithTools(t, b);
      const lint = runRaw("eu-elflint", ["--gnu-ld", b.path]);
      expect(lint.stdout.trim() + lint.stderr.trim()).toBe("No errors");
      expect(lint.status).toBe(0);
    });
  }

  it.runIf(tools)("generated modules: calls forward and back across many functions, FDEs per function", () => {
    const peer = requirePeer("generated modules for the tool checks");
    if (peer === undefined) return;
    for (const t of TARGETS.filter((x) => !x.triple.includes("apple"))) {
      const jsonl = join(dir, `gen-tools-${t.arch}.jsonl`);
      run(peer, ["gen", "--functions", "9", "--body-size", "64", "--target", t.triple, "-o", jsonl]);
      const b = build(`gen-tools-${t.arch}`, readFileSync(jsonl, "utf8"));
      checkWithTools(t, b);
      expect(runRaw("eu-elflint", ["--gnu-ld", b.path]).stdout.trim()).toBe("No errors");
    }
  });

  it.runIf(tools)("a `wasmtime` object carries OS ABI 200 and the kind flag (which eu-elflint rightly rejects)", () => {
    const b = build("wasmtime-x86_64", reheader(fixtureText("x86_64"), { wasmtime: "component" }));
    const out = run("readelf", ["-h", b.path]);
    expect(out).toMatch(/OS\/ABI:\s+<unknown: c8>/);
    expect(out).toMatch(/Flags:\s+0x2\n/);
  });
});

describe("byte-identical to the reference encoder (peer-rust)", () => {
  const sameBytes = (peer: string, name: string, text: string): void => {
    const jsonl = join(dir, `${name}.jsonl`);
    writeFileSync(jsonl, text);
    const theirs = join(dir, `${name}.peer.o`);
    const r = runRaw(peer, ["encode", jsonl, "-o", theirs]);
    expect(r.status, r.stderr).toBe(0);
    const ours = encodeText(text).bytes;
    const expected = readFileSync(theirs);
    expect(ours.length, `${name}: size`).toBe(expected.length);
    const diff = ours.findIndex((v, i) => v !== expected[i]);
    expect(diff, `${name}: first differing byte`).toBe(-1);
  };

  it("on the shared fixtures, for every SystemV triple, with and without symbols and the wasmtime flags", () => {
    const peer = requirePeer("fixture byte identity");
    if (peer === undefined) return;
    for (const t of TARGETS) {
      const base = reheader(fixtureText(t.arch), { target: t.triple });
      sameBytes(peer, `fx-${t.triple}`, base);
      sameBytes(peer, `fx-${t.triple}-nosym`, reheader(base, { symbols: false }));
      sameBytes(peer, `fx-${t.triple}-module`, reheader(base, { wasmtime: "module" }));
      // forceVeneers changes nothing where calls take no veneer (the peer refuses it on aarch64).
      if (t.arch !== "aarch64") sameBytes(peer, `fx-${t.triple}-force`, reheader(base, { forceVeneers: true }));
    }
  });

  it("on generated modules of several sizes, and with padding between the functions", () => {
    const peer = requirePeer("generated byte identity");
    if (peer === undefined) return;
    const sizes: Array<[number, number]> = [
      [1, 64],
      [3, 64],
      [17, 260],
      [300, 128],
      [40, 4096],
    ];
    for (const t of TARGETS) {
      for (const [n, b] of sizes) {
        const jsonl = join(dir, `gen-${t.triple}-${n}-${b}.jsonl`);
        run(peer, ["gen", "--functions", String(n), "--body-size", String(b), "--target", t.triple, "-o", jsonl]);
        const text = readFileSync(jsonl, "utf8");
        sameBytes(peer, `gen-${t.triple}-${n}-${b}`, text);
        if (n === 17) {
          // Padding items between the functions (sizes that break the alignment too).
          const lines = text.trimEnd().split("\n");
          const padded = [lines[0]!, ...lines.slice(1).flatMap((l, i) => [l, JSON.stringify({ type: "padding", size: [0, 3, 4096, 12, 70000][i % 5] })])].join("\n") + "\n";
          sameBytes(peer, `gen-${t.triple}-padded`, padded);
        }
      }
    }
  });
});
