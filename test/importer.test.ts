/**
 * The importer against the shared fixtures (copied into test/fixtures/import
 * so a clone has them): importing each `sample.o` must give that
 * architecture's `sample.jsonl`, value for value. Then the refusals: data
 * references, external symbols, a foreign CIE, code outside its own section,
 * each compiled by the real gcc where one is installed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Either } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { ARCH_CFLAGS, FIXTURE_CFLAGS } from "./support/loader.js";
import { describe as describeError, type ObjfoldError } from "../src/errors.js";
import { readElf } from "../src/elf/read.js";
import { importObject, moduleToJsonLines, renderJsonLines } from "../src/importer/index.js";
import { encodedDisplacement } from "../src/importer/riscvBranch.js";
import { parseModule } from "../src/schema/decode.js";
import { requireTools } from "./support/tools.js";

const ARCHES = ["x86_64", "aarch64", "riscv64", "s390x"] as const;
type ArchName = (typeof ARCHES)[number];
const fixture = (arch: ArchName, file: string): string => join(import.meta.dirname, "fixtures", "import", arch, file);
const objectOf = (arch: ArchName): Uint8Array => new Uint8Array(readFileSync(fixture(arch, "sample.o")));

const expectLeft = (r: Either.Either<unknown, ObjfoldError>): ObjfoldError => {
  if (Either.isRight(r)) throw new Error("expected an error, got a module");
  return r.left;
};
const expectRight = <A>(r: Either.Either<A, ObjfoldError>): A => {
  if (Either.isLeft(r)) throw new Error(`expected a value, got ${describeError(r.left)}`);
  return r.right;
};

describe("importing the shared fixtures", () => {
  for (const arch of ARCHES) {
    it(`${arch}: sample.o imports to sample.jsonl, line by line`, () => {
      const module = expectRight(importObject(objectOf(arch)));
      const want = readFileSync(fixture(arch, "sample.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as unknown);
      const got = moduleToJsonLines(module).map((l) => JSON.parse(l) as unknown);
      expect(got.length).toBe(want.length);
      // Line by line, so a failure names the function that differs.
      for (let i = 0; i < want.length; i++) expect({ line: i + 1, value: got[i] }).toEqual({ line: i + 1, value: want[i] });
    });

    it(`${arch}: the rendered JSON Lines decode as an objfold/v1 module`, () => {
      const text = renderJsonLines(expectRight(importObject(objectOf(arch))));
      expect(text.endsWith("\n")).toBe(true);
      const decoded = expectRight(parseModule(text));
      expect(decoded.items.length).toBe(7);
    });
  }
});

// ---------------------------------------------------------------- refusals, from real gcc output

const COMPILERS: Record<ArchName, { cc: string; flags: readonly string[] }> = {
  x86_64: { cc: "gcc", flags: ARCH_CFLAGS.x86_64 },
  aarch64: { cc: "aarch64-linux-gnu-gcc", flags: ARCH_CFLAGS.aarch64 },
  riscv64: { cc: "riscv64-linux-gnu-gcc", flags: ARCH_CFLAGS.riscv64 },
  s390x: { cc: "s390x-linux-gnu-gcc", flags: ARCH_CFLAGS.s390x },
};
/** The fixtures' flags (fixtures/README.md), kept in one place: test/support/loader.ts. */
const COMMON_FLAGS: readonly string[] = FIXTURE_CFLAGS;

const work = mkdtempSync(join(tmpdir(), "objfold-import-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let counter = 0;
const compile = (arch: ArchName, source: string, extra: string[] = [], common = COMMON_FLAGS): Uint8Array => {
  const n = counter++;
  const src = join(work, `t${n}.c`);
  const obj = join(work, `t${n}.o`);
  writeFileSync(src, source);
  const { cc, flags } = COMPILERS[arch];
  const r = spawnSync(cc, [...common, ...flags, ...extra, "-c", src, "-o", obj], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cc} failed: ${r.stderr}`);
  return new Uint8Array(readFileSync(obj));
};

const DATA_REF = "long table[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }; __attribute__((noipa)) long get(long i) { return table[i & 7]; }\n";
const EXTERNAL = "extern long elsewhere(long); __attribute__((noipa)) long f(long x) { return elsewhere(x) + 1; }\n";

describe("refusals from real compiler output", () => {
  for (const arch of ARCHES) {
    const { cc } = COMPILERS[arch];
    it(`${arch}: a data reference is an UnsupportedRelocation naming section, offset and type`, () => {
      if (!requireTools(`${arch} importer refusals`, cc)) return;
      const e = expectLeft(importObject(compile(arch, DATA_REF)));
      expect(e._tag).toBe("UnsupportedRelocation");
      if (e._tag !== "UnsupportedRelocation") return;
      expect(e.section).toBe(".text.get");
      expect(e.type).toMatch(/^R_(X86_64|AARCH64|RISCV|390)_/);
      expect(e.reason).toMatch(/data reference|not a call/);
      expect(describeError(e)).toContain(".text.get+0x");
    });

    it(`${arch}: a call to an external function is an UnsupportedRelocation`, () => {
      if (!requireTools(`${arch} importer refusals`, cc)) return;
      const e = expectLeft(importObject(compile(arch, EXTERNAL)));
      expect(e._tag).toBe("UnsupportedRelocation");
      if (e._tag !== "UnsupportedRelocation") return;
      expect(e.section).toBe(".text.f");
      expect(e.reason).toContain('external symbol "elsewhere"');
    });

    it(`${arch}: code outside a .text.<name> section is refused`, () => {
      if (!requireTools(`${arch} importer refusals`, cc)) return;
      const flags = COMMON_FLAGS.filter((f) => f !== "-ffunction-sections");
      const e = expectLeft(importObject(compile(arch, "long id(long x) { return x; }\n", [], flags)));
      expect(e._tag).toBe("UnsupportedObject");
      expect(describeError(e)).toContain('".text"');
    });

    it(`${arch}: a function calling itself and another imports with both calls`, () => {
      if (!requireTools(`${arch} importer`, cc)) return;
      const src =
        "__attribute__((noipa)) long leaf(long x) { return x * 3; }\n" +
        "__attribute__((noipa)) long rec(long n) { return n <= 0 ? leaf(n) : rec(n - 1) + leaf(n) ; }\n";
      const m = expectRight(importObject(compile(arch, src)));
      const rec = m.items.find((i) => i.type === "function" && i.name === "rec");
      expect(rec?.type).toBe("function");
      if (rec?.type !== "function") return;
      const targets = new Set((rec.relocations ?? []).map((r) => ("target" in r ? r.target : "")));
      expect(targets.has("leaf")).toBe(true);
      expect(rec.unwind?.kind).toBe("systemv");
    });
  }
});

// ---------------------------------------------------------------- refusals, from edited fixtures

/** Section header fields of the x86_64 fixture, to aim byte edits. */
const ehFrameOffset = (bytes: Uint8Array): number => {
  const elf = expectRight(readElf(bytes));
  const eh = elf.sections.find((s) => s.name === ".eh_frame");
  if (eh === undefined) throw new Error("fixture has no .eh_frame");
  return eh.offset;
};

describe("refusals from edited fixtures", () => {
  it("a CIE whose return-address register differs from the standard CIE is UnsupportedObject", () => {
    const bytes = objectOf("x86_64").slice();
    // CIE: length 4, id 4, version 1, "zR\0" 3, CAF 1, DAF 1, then the RA column.
    const ra = ehFrameOffset(bytes) + 14;
    expect(bytes[ra]).toBe(16);
    bytes[ra] = 17;
    const e = expectLeft(importObject(bytes));
    expect(e._tag).toBe("UnsupportedObject");
    expect(describeError(e)).toContain("return-address register 17");
  });

  it("a CIE whose initial CFA differs from the standard CIE is UnsupportedObject", () => {
    const bytes = objectOf("x86_64").slice();
    // Initial instructions start after the 2-byte augmentation data (01 1b): def_cfa r7, 8 → r7, 16.
    const at = ehFrameOffset(bytes) + 17;
    expect([...bytes.subarray(at, at + 3)]).toEqual([0x0c, 0x07, 0x08]);
    bytes[at + 2] = 16;
    const e = expectLeft(importObject(bytes));
    expect(e._tag).toBe("UnsupportedObject");
    expect(describeError(e)).toContain("CFA=r7+16");
  });

  it("an e_machine other than the four is UnsupportedObject; ET_EXEC too", () => {
    const bytes = objectOf("x86_64").slice();
    bytes[18] = 3; // EM_386
    expect(expectLeft(importObject(bytes))._tag).toBe("UnsupportedObject");
    const exec = objectOf("x86_64").slice();
    exec[16] = 2; // ET_EXEC
    expect(describeError(expectLeft(importObject(exec)))).toContain("ET_REL");
  });

  it("big-endian x86_64 is refused before any section is misread", () => {
    const bytes = objectOf("s390x").slice();
    bytes[19] = 62; // EM_X86_64 in a big-endian header
    expect(expectLeft(importObject(bytes))._tag).toBe("UnsupportedObject");
  });
});

// ---------------------------------------------------------------- RISC-V branches gas resolved itself

describe("RISC-V branch displacements", () => {
  const le = (...words: Array<[number, 2 | 4]>): Uint8Array => {
    const out: number[] = [];
    for (const [w, n] of words) for (let i = 0; i < n; i++) out.push((w >>> (8 * i)) & 0xff);
    return Uint8Array.from(out);
  };
  it("decode the extreme encodings riscv64-linux-gnu-as wrote for j, beq, c.j and c.beqz", () => {
    // From `as -march=rv64gc -mno-relax` + objdump: j +2048, j −4, beq −4096, c.j +2046, c.beqz −256.
    const code = le([0x0010006f, 4], [0xffdff06f, 4], [0x80b50063, 4], [0xaffd, 2], [0xd101, 2]);
    expect(encodedDisplacement(code, 0, "J")).toBe(2048);
    expect(encodedDisplacement(code, 4, "J")).toBe(-4);
    expect(encodedDisplacement(code, 8, "B")).toBe(-4096);
    expect(encodedDisplacement(code, 12, "CJ")).toBe(2046);
    expect(encodedDisplacement(code, 14, "CB")).toBe(-256);
    expect(encodedDisplacement(code, 14, "B")).toBeUndefined();
  });

  it("a branch whose field disagrees with its relocation is refused, not copied", () => {
    const bytes = objectOf("riscv64").slice();
    const elf = expectRight(readElf(bytes));
    const text = elf.sections.find((s) => s.name === ".text.checksum")!;
    // blez a0,.L5 at +0xe carries R_RISCV_BRANCH; change imm[4:1].
    expect(bytes[text.offset + 0xe + 1]).toBe(0x5d);
    bytes[text.offset + 0xe + 1] = 0x5e;
    const e = expectLeft(importObject(bytes));
    expect(e).toMatchObject({ _tag: "UnsupportedRelocation", section: ".text.checksum", offset: 0xe, type: "R_RISCV_BRANCH" });
  });
});

// ---------------------------------------------------------------- objfold's own fixtures stay in step with the importer

describe("test/fixtures/own (scripts/regenerate-own-fixtures.sh)", () => {
  for (const arch of ARCHES) {
    const dir = join(import.meta.dirname, "fixtures", "own", arch);
    it(`${arch}: calls.o imports to the committed calls.jsonl`, () => {
      const module = expectRight(importObject(new Uint8Array(readFileSync(join(dir, "calls.o")))));
      expect(renderJsonLines(module)).toBe(readFileSync(join(dir, "calls.jsonl"), "utf8"));
    });
  }
});
