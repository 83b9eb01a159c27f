/**
 * Build and run `calltext.c` (map an object's `.text` as Wasmtime does, call
 * functions in it) for a target architecture: natively on a matching host,
 * otherwise cross-compiled statically and run under qemu-user.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readElf } from "./elf.js";
import { requireTools, run } from "./tools.js";

export type RunArch = "x86_64" | "aarch64" | "riscv64" | "s390x";

const SOURCE = fileURLToPath(new URL("./calltext.c", import.meta.url));
const native = (arch: RunArch): boolean => (arch === "x86_64" && process.arch === "x64") || (arch === "aarch64" && process.arch === "arm64");
const compilerOf = (arch: RunArch): string => (native(arch) ? "cc" : `${arch}-linux-gnu-gcc`);
const built = new Map<RunArch, string>();
let dir: string | undefined;

/** The tools `runText` needs for `arch` (for `requireTools`). */
export const callTextTools = (arch: RunArch): string[] => (native(arch) ? [compilerOf(arch)] : [compilerOf(arch), `qemu-${arch}`]);

/** True when the harness can run for `arch`; otherwise a visible skip (or a failure in CI). */
export const canRunText = (what: string, arch: RunArch): boolean => requireTools(what, ...callTextTools(arch));

const harness = (arch: RunArch): string => {
  let exe = built.get(arch);
  if (exe === undefined) {
    dir ??= mkdtempSync(join(tmpdir(), "objfold-calltext-"));
    exe = join(dir, `calltext-${arch}`);
    run(compilerOf(arch), ["-O1", "-static", "-o", exe, SOURCE]);
    built.set(arch, exe);
  }
  return exe;
};

export interface TextCall {
  /** Symbol name of the function to call. */
  readonly name: string;
  readonly a: number | bigint;
  readonly b: number | bigint;
}

export interface TextResult {
  readonly result: string;
  readonly calls: number;
}

/**
 * Call each function of the object file at `path` (found by its symbol) with
 * `(a, b, host)` and return what it returned and how often it called the host.
 */
export const runText = (arch: RunArch, path: string, bytes: Uint8Array, calls: ReadonlyArray<TextCall>): TextResult[] => {
  const elf = readElf(bytes);
  const text = elf.section(".text");
  const args = [path, String(text.offset), String(text.size)];
  for (const c of calls) {
    const sym = elf.symbols.find((s) => s.name === c.name);
    if (sym === undefined) throw new Error(`no symbol ${c.name}`);
    args.push(String(sym.value), String(c.a), String(c.b));
  }
  const exe = harness(arch);
  const out = native(arch) ? run(exe, args) : run(`qemu-${arch}`, [exe, ...args]);
  return out
    .trim()
    .split("\n")
    .map((l) => {
      const m = /^result (-?\d+) calls (\d+)$/.exec(l);
      if (m === null) throw new Error(`calltext: unexpected output ${l}`);
      return { result: m[1]!, calls: Number(m[2]) };
    });
};
