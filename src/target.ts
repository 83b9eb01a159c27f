/**
 * Target triples → everything the encoder needs to know about a target:
 * architecture, byte order, text alignment, unwind ABI, ELF machine and flags
 * (reference.md §2, §7, §8; records.md "Targets").
 */
import * as Either from "./result.js";
import type { ObjfoldError } from "./errors.js";

export type Arch = "x86_64" | "aarch64" | "riscv64" | "s390x" | "pulley";
export type UnwindAbi = "systemv" | "windowsX64" | "windowsArm64" | "none";

export interface Target {
  readonly triple: string;
  readonly arch: Arch;
  readonly littleEndian: boolean;
  /** `.text` alignment and the size `.text` is padded to (reference §7). */
  readonly textAlign: number;
  readonly unwindAbi: UnwindAbi;
  /** ELF e_machine. */
  readonly machine: number;
  /** The architecture's contribution to e_flags (Pulley's width bit), 0 elsewhere. */
  readonly archFlags: number;
  readonly os: "linux" | "darwin" | "windows" | "other" | "pulley";
}

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_RISCV = 243;
export const EM_S390 = 22;
export const EF_WASMTIME_MODULE = 1 << 0;
export const EF_WASMTIME_COMPONENT = 1 << 1;
export const EF_WASMTIME_PULLEY32 = 1 << 2;
export const EF_WASMTIME_PULLEY64 = 1 << 3;

/** The triples the docs and error messages name; others of the same shape are accepted too. */
export const SUPPORTED_TRIPLES: readonly string[] = Object.freeze([
  "x86_64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-unknown-linux-gnu",
  "aarch64-apple-darwin",
  "aarch64-pc-windows-msvc",
  "riscv64gc-unknown-linux-gnu",
  "s390x-unknown-linux-gnu",
  "pulley32",
  "pulley64",
  "pulley32be",
  "pulley64be",
]);

// Maps, not plain objects: a triple such as "constructor" must not find Object.prototype.
const PULLEY: ReadonlyMap<string, Target> = new Map(
  (["pulley32", "pulley64", "pulley32be", "pulley64be"] as const).map((t) => [
    t,
    {
      triple: t,
      arch: "pulley",
      littleEndian: !t.endsWith("be"),
      textAlign: 1,
      unwindAbi: "none",
      machine: EM_RISCV,
      archFlags: t.startsWith("pulley32") ? EF_WASMTIME_PULLEY32 : EF_WASMTIME_PULLEY64,
      os: "pulley",
    } satisfies Target,
  ]),
);

const ARCH_NAMES: ReadonlyMap<string, Exclude<Arch, "pulley">> = new Map([
  ["x86_64", "x86_64"],
  ["aarch64", "aarch64"],
  ["arm64", "aarch64"],
  ["riscv64", "riscv64"],
  ["riscv64gc", "riscv64"],
  ["riscv64imac", "riscv64"],
  ["s390x", "s390x"],
]);

const MACHINE: Record<Exclude<Arch, "pulley">, number> = {
  x86_64: EM_X86_64,
  aarch64: EM_AARCH64,
  riscv64: EM_RISCV,
  s390x: EM_S390,
};

/** Parse a target triple; an unknown one is an `UnsupportedTarget` error listing the supported ones. */
export const parseTarget = (triple: string): Either.Either<Target, ObjfoldError> => {
  const pulley = PULLEY.get(triple);
  if (pulley !== undefined) return Either.right(pulley);
  const parts = triple.split("-");
  const arch = ARCH_NAMES.get(parts[0] ?? "");
  const rest = parts.slice(1);
  const fail = Either.left<ObjfoldError>({ _tag: "UnsupportedTarget", target: triple, supported: SUPPORTED_TRIPLES });
  if (arch === undefined || rest.length < 2 || rest.some((p) => p.length === 0)) return fail;
  const os: Target["os"] = rest.some((p) => p.startsWith("windows"))
    ? "windows"
    : rest.some((p) => p === "apple" || p.startsWith("darwin") || p.startsWith("macos") || p.startsWith("ios"))
      ? "darwin"
      : rest.some((p) => p.startsWith("linux"))
        ? "linux"
        : "other";
  // Windows unwind info exists for x64 and ARM64 only (reference §2: a Windows
  // request yields nothing on riscv64 and s390x), so those triples are refused.
  if (os === "windows" && arch !== "x86_64" && arch !== "aarch64") return fail;
  const textAlign = arch === "aarch64" ? (os === "darwin" ? 0x4000 : os === "windows" ? 0x1000 : 0x10000) : 0x1000;
  const unwindAbi: UnwindAbi = os === "windows" ? (arch === "x86_64" ? "windowsX64" : "windowsArm64") : "systemv";
  return Either.right({
    triple,
    arch,
    littleEndian: arch !== "s390x",
    textAlign,
    unwindAbi,
    machine: MACHINE[arch],
    archFlags: 0,
    os,
  });
};
