/**
 * The real-loader proof's plumbing: build `test/loader/loader.cpp` (maps an
 * objfold object as Wasmtime does and runs its functions) and
 * `test/loader/oracle.cpp` (the same driver with the C functions linked
 * normally) for an architecture, run them natively or under qemu-user, and
 * encode a module with objfold's CLI.
 *
 * Builds are cached per process in one temporary directory (vitest runs each
 * test file in its own process, so "per test run"); `cleanupLoaderBuilds`
 * removes it. A foreign architecture uses the Debian cross toolchain
 * (`<arch>-linux-gnu-g++`) and runs dynamically linked under
 * `qemu-<arch> -L /usr/<arch>-linux-gnu`, so the unwinder is the target's own
 * libgcc_s, as it would be for Wasmtime there.
 *
 * The compiler flags of the fixtures live here and in
 * scripts/regenerate-own-expected.sh (keep the two in step).
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CLI } from "./cli.js";
import { requireTools } from "./tools.js";

export type Arch = "x86_64" | "aarch64" | "riscv64" | "s390x";
export const ARCHES: readonly Arch[] = ["x86_64", "aarch64", "riscv64", "s390x"];

export const LOADER_SOURCES = fileURLToPath(new URL("../loader/", import.meta.url));

/** The architecture node runs on, in the fixtures' spelling (undefined if none of the four). */
export const HOST_ARCH: Arch | undefined = (
  { x64: "x86_64", arm64: "aarch64", riscv64: "riscv64", s390x: "s390x" } as Partial<Record<string, Arch>>
)[process.arch];

/** gcc flags the shared fixtures were compiled with (fixtures/README.md), shared by every arch. */
export const FIXTURE_CFLAGS: readonly string[] = [
  "-O2",
  "-fno-pic",
  "-ffunction-sections",
  "-fasynchronous-unwind-tables",
  "-fno-stack-protector",
  "-fno-jump-tables",
  "-fno-tree-loop-distribute-patterns",
  "-fno-exceptions",
];

/** The per-architecture additions to FIXTURE_CFLAGS. */
export const ARCH_CFLAGS: Readonly<Record<Arch, readonly string[]>> = {
  x86_64: [],
  aarch64: ["-mbranch-protection=none"],
  riscv64: ["-march=rv64gc", "-mabi=lp64d", "-mno-relax"],
  s390x: [],
};

// -O1: the host side's speed does not matter and -O2 doubles the compile
// time; the host frames get their FDEs either way.
const CXXFLAGS: readonly string[] = ["-std=c++17", "-O1", "-Wall", "-Wextra"];

export interface Toolchain {
  readonly arch: Arch;
  readonly native: boolean;
  readonly cc: string;
  readonly cxx: string;
  /** Command prefix that runs a program built for `arch` (empty when native). */
  readonly runner: readonly string[];
  /** Every outside program the arch needs, for `requireTools`. */
  readonly tools: readonly string[];
}

export const toolchain = (arch: Arch): Toolchain => {
  if (arch === HOST_ARCH) return { arch, native: true, cc: "gcc", cxx: "g++", runner: [], tools: ["gcc", "g++"] };
  const triple = `${arch}-linux-gnu`;
  const qemu = `qemu-${arch}`;
  return {
    arch,
    native: false,
    cc: `${triple}-gcc`,
    cxx: `${triple}-g++`,
    runner: [qemu, "-L", `/usr/${triple}`],
    tools: [`${triple}-gcc`, `${triple}-g++`, qemu],
  };
};

/** True when `arch`'s compilers (and qemu) are here; throws in CI, warns and returns false elsewhere. */
export const requireToolchain = (what: string, arch: Arch): boolean => requireTools(what, ...toolchain(arch).tools);

// ---------------------------------------------------------------------------
// Processes

export interface Ran {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a program to completion without throwing; stdout/stderr as text. */
export const spawnText = (cmd: string, args: readonly string[], timeout = 120_000): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(cmd, args as string[], { encoding: "utf8", maxBuffer: 64 << 20, timeout }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
      if (e && typeof e.code === "string") {
        // The program could not be started at all (ENOENT and the like).
        resolve({ status: null, signal: null, stdout: "", stderr: `${cmd}: ${e.message}` });
        return;
      }
      resolve({
        status: e ? (typeof e.code === "number" ? e.code : null) : 0,
        signal: e?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });

const mustRun = async (cmd: string, args: readonly string[]): Promise<void> => {
  const r = await spawnText(cmd, args, 300_000);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stderr}`);
};

/** Run a program built for `arch`: directly when native, under qemu-user otherwise. */
export const runFor = (arch: Arch, exe: string, args: readonly string[]): Promise<Ran> => {
  const { runner } = toolchain(arch);
  const [first, ...rest] = runner;
  return first === undefined ? spawnText(exe, args) : spawnText(first, [...rest, exe, ...args]);
};

// ---------------------------------------------------------------------------
// Cached builds

let workDir: string | undefined;
const cache = new Map<string, Promise<string>>();

/** This process's scratch directory (created on first use). */
export const scratch = (): string => (workDir ??= mkdtempSync(join(tmpdir(), "objfold-loader-")));

/** Remove the scratch directory and forget every cached build. */
export const cleanupLoaderBuilds = (): void => {
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
  cache.clear();
};

const once = (key: string, make: () => Promise<string>): Promise<string> => {
  let p = cache.get(key);
  if (p === undefined) {
    p = make();
    cache.set(key, p);
  }
  return p;
};

const stem = (path: string): string => basename(path).replace(/\.[^.]*$/, "");

/** loader.cpp built for `arch`. */
export const buildLoader = (arch: Arch): Promise<string> =>
  once(`loader ${arch}`, async () => {
    const out = join(scratch(), `loader-${arch}`);
    await mustRun(toolchain(arch).cxx, [...CXXFLAGS, "-o", out, join(LOADER_SOURCES, "loader.cpp")]);
    return out;
  });

/** A C source compiled for `arch` with the fixtures' flags. */
export const compileC = (arch: Arch, source: string): Promise<string> =>
  once(`cc ${arch} ${source}`, async () => {
    const out = join(scratch(), `${stem(source)}-${cache.size}-${arch}.o`);
    await mustRun(toolchain(arch).cc, [...FIXTURE_CFLAGS, ...ARCH_CFLAGS[arch], "-c", source, "-o", out]);
    return out;
  });

/** oracle.cpp compiled (not linked) for `arch`, once. */
const oracleMain = (arch: Arch): Promise<string> =>
  once(`oracle.o ${arch}`, async () => {
    const out = join(scratch(), `oracle-${arch}.o`);
    await mustRun(toolchain(arch).cxx, [...CXXFLAGS, "-c", "-o", out, join(LOADER_SOURCES, "oracle.cpp")]);
    return out;
  });

/** oracle.cpp linked with a gcc object of the module's C functions. */
export const buildOracle = (arch: Arch, object: string): Promise<string> =>
  once(`oracle ${arch} ${object}`, async () => {
    const out = join(scratch(), `oracle-${stem(object)}-${cache.size}-${arch}`);
    const main = await oracleMain(arch);
    // -no-pie: the fixture objects are -fno-pic (the oracle copes with PIE too).
    await mustRun(toolchain(arch).cxx, ["-no-pie", "-o", out, main, object]);
    return out;
  });

/** Map `object` (written by objfold) and run the ENTRY lines of `entries`. */
export const runLoader = async (arch: Arch, object: string, entries: string): Promise<Ran> =>
  runFor(arch, await buildLoader(arch), [object, entries]);

/** The oracle's output for a gcc object of `entries`' functions. */
export const runOracleObject = async (arch: Arch, object: string, entries: string): Promise<Ran> =>
  runFor(arch, await buildOracle(arch, object), [object, entries]);

/** The oracle's output for a C source, compiled here with the fixtures' flags. */
export const runOracleSource = async (arch: Arch, source: string): Promise<Ran> =>
  runOracleObject(arch, await compileC(arch, source), source);

/** The major version of `arch`'s gcc (the fixtures' backtraces are gcc 12's code). */
export const gccMajor = (arch: Arch): number | undefined => {
  const r = spawnSync(toolchain(arch).cc, ["-dumpversion"], { encoding: "utf8" });
  const m = /^(\d+)/.exec(r.stdout ?? "");
  return r.status === 0 && m?.[1] !== undefined ? Number(m[1]) : undefined;
};

// ---------------------------------------------------------------------------
// The encoder under test

export interface Encoder {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly label: string;
  /** Why it cannot run, if it cannot. */
  readonly missing?: string;
}

/**
 * objfold's CLI (`node dist/cli/main.js`, built by `npm run build`), unless
 * OBJFOLD_TEST_ENCODER names another program with the same `encode IN -o OUT`
 * interface (e.g. the reference encoder peer-rust).
 */
export const encoder = (): Encoder => {
  const env = process.env.OBJFOLD_TEST_ENCODER;
  if (env !== undefined && env !== "")
    return { cmd: env, args: [], label: `OBJFOLD_TEST_ENCODER=${env}`, ...(existsSync(env) ? {} : { missing: `${env} does not exist` }) };
  return {
    cmd: process.execPath,
    args: [CLI],
    label: "objfold (dist/cli/main.js)",
    ...(existsSync(CLI) ? {} : { missing: `${CLI} does not exist: run \`npm run build\` (\`npm test\` does)` }),
  };
};

/** `encode IN -o OUT` with the encoder under test. */
export const encode = async (jsonl: string, out: string): Promise<Ran> => {
  const e = encoder();
  if (e.missing !== undefined) throw new Error(`encoder ${e.label}: ${e.missing}`);
  return spawnText(e.cmd, [...e.args, "encode", jsonl, "-o", out]);
};

// ---------------------------------------------------------------------------
// Reading an object just enough to damage it on purpose (the negative checks)

export interface SectionAt {
  /** File offset of the section header itself. */
  readonly header: number;
  readonly offset: number;
  readonly size: number;
}

/** The header and extent of the section named `name` in an ELF64 file of either byte order. */
export const findSection = (bytes: Uint8Array, name: string): SectionAt | undefined => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[5] === 1;
  const u16 = (o: number) => view.getUint16(o, le);
  const u32 = (o: number) => view.getUint32(o, le);
  const u64 = (o: number) => Number(view.getBigUint64(o, le));
  const shoff = u64(40);
  const shnum = u16(60);
  const shstr = shoff + u16(62) * 64;
  const strOff = u64(shstr + 24);
  const nameAt = (i: number): string => {
    let end = i;
    while (bytes[end] !== 0) end++;
    return new TextDecoder().decode(bytes.subarray(i, end));
  };
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * 64;
    if (nameAt(strOff + u32(h)) === name) return { header: h, offset: u64(h + 24), size: u64(h + 32) };
  }
  return undefined;
};
