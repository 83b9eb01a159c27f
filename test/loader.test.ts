/**
 * The real-loader proof: an object objfold wrote, mapped the way Wasmtime
 * maps it (test/loader/loader.cpp), registered with the system unwinder and
 * run on its own architecture (natively, or under qemu-user), must compute the
 * right results, give the system unwinder complete backtraces through its
 * frames, and let a C++ exception thrown by the host unwind through them.
 *
 * The expected output is never written here: it comes from the fixtures'
 * expected.txt, and for our own module from the oracle (oracle.cpp linked
 * with gcc's object), which the checks below also hold to the shared
 * expected.txt so the oracle is itself checked.
 *
 * Encoder: objfold's CLI (dist/cli/main.js; `npm test` builds it), or the
 * program named by OBJFOLD_TEST_ENCODER (same `encode IN -o OUT` interface).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ARCHES,
  type Arch,
  type Ran,
  buildLoader,
  buildOracle,
  cleanupLoaderBuilds,
  compileC,
  encode,
  encoder,
  findSection,
  gccMajor,
  HOST_ARCH,
  requireToolchain,
  runLoader,
  runOracleObject,
  runOracleSource,
  scratch,
} from "./support/loader.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
const shared = (file: string): string => join(FIXTURES, "shared", file);
const own = (file: string): string => join(FIXTURES, "own", file);
const SAMPLE_C = shared("sample.c");
const CALLS_C = own("calls.c");

// Checked once, at collection time: in CI a missing tool fails the run here.
const usable = new Map<Arch, boolean>(ARCHES.map((a) => [a, requireToolchain(`real loader (${a})`, a)]));
const ready = ARCHES.filter((a) => usable.get(a) === true);

const skipWith = (ctx: { skip: () => void }, why: string): void => {
  console.warn(`SKIPPED ${why}`);
  ctx.skip();
};

/** Everything a failing comparison needs to be read: the run's status and stderr, then the text. */
const outcome = (r: Ran) => ({ status: r.status, signal: r.signal, stderr: r.stderr, stdout: r.stdout });
const clean = (stdout: string) => ({ status: 0, signal: null, stderr: "", stdout });

const encodeOk = async (jsonl: string, out: string): Promise<string> => {
  const r = await encode(jsonl, out);
  if (r.status !== 0) throw new Error(`${encoder().label} encode ${jsonl} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return out;
};

// One encode per module per run (node's start-up is most of an encode's
// time); callers that damage the object copy its bytes first.
const encoded = new Map<string, Promise<string>>();
const encodeCached = (jsonl: string, name: string): Promise<string> => {
  let p = encoded.get(jsonl);
  if (p === undefined) {
    p = encodeOk(jsonl, join(scratch(), name));
    encoded.set(jsonl, p);
  }
  return p;
};
const sampleObject = (arch: Arch): Promise<string> => encodeCached(shared(`${arch}/sample.jsonl`), `sample-${arch}.o`);

beforeAll(async () => {
  // Compile everything for every usable arch at once (the compilers are the
  // slow part); each test then awaits its own cached build.
  await Promise.all(
    ready.flatMap((a) => [
      buildLoader(a),
      compileC(a, SAMPLE_C).then((o) => buildOracle(a, o)),
      buildOracle(a, shared(`${a}/sample.o`)),
      // An encoder failure surfaces in the tests that use the object.
      sampleObject(a).catch(() => undefined),
      existsSync(own(`${a}/calls.jsonl`)) ? encodeCached(own(`${a}/calls.jsonl`), `calls-${a}.o`).catch(() => undefined) : undefined,
    ]),
  );
});

afterAll(() => cleanupLoaderBuilds());

describe("shared sample fixtures through the real loader", () => {
  for (const arch of ARCHES) {
    const expected = (): string => readFileSync(shared(`${arch}/expected.txt`), "utf8");

    it(`${arch}: objfold's object of sample.jsonl prints expected.txt`, async (ctx) => {
      if (!usable.get(arch)) return skipWith(ctx, `${arch}: toolchain missing`);
      expect(outcome(await runLoader(arch, await sampleObject(arch), SAMPLE_C))).toEqual(clean(expected()));
    });

    it(`${arch}: the oracle linked with the fixture's own sample.o prints expected.txt`, async (ctx) => {
      if (!usable.get(arch)) return skipWith(ctx, `${arch}: toolchain missing`);
      expect(outcome(await runOracleObject(arch, shared(`${arch}/sample.o`), SAMPLE_C))).toEqual(clean(expected()));
    });

    it(`${arch}: the oracle with sample.c rebuilt by this machine's gcc prints expected.txt`, async (ctx) => {
      if (!usable.get(arch)) return skipWith(ctx, `${arch}: toolchain missing`);
      // Results never depend on the compiler, but the backtraces do where a
      // different gcc inlines or tail-calls differently; expected.txt is gcc 12's.
      const major = gccMajor(arch);
      if (major !== 12) return skipWith(ctx, `${arch}: gcc ${major ?? "?"} is not the fixtures' gcc 12, so its backtraces may legitimately differ`);
      expect(outcome(await runOracleSource(arch, SAMPLE_C))).toEqual(clean(expected()));
    });
  }

  it("aarch64 with forceVeneers: every call through a veneer, same output", async (ctx) => {
    if (!usable.get("aarch64")) return skipWith(ctx, "aarch64: toolchain missing");
    const lines = readFileSync(shared("aarch64/sample.jsonl"), "utf8").split("\n");
    const header = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
    lines[0] = JSON.stringify({ ...header, forceVeneers: true });
    const jsonl = join(scratch(), "sample-aarch64-veneers.jsonl");
    writeFileSync(jsonl, lines.join("\n"));
    const veneered = join(scratch(), "sample-aarch64-veneers.o");
    const r = await encode(jsonl, veneered);
    if (r.status !== 0 && process.env.OBJFOLD_TEST_ENCODER) {
      // e.g. peer-rust, which has no veneers; objfold itself must accept it.
      return skipWith(ctx, `${encoder().label} refuses forceVeneers on aarch64: ${r.stderr.trim()}`);
    }
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // The option must have changed the code, or this proves nothing new.
    expect(Buffer.compare(readFileSync(veneered), readFileSync(await sampleObject("aarch64")))).not.toBe(0);
    expect(outcome(await runLoader("aarch64", veneered, SAMPLE_C))).toEqual(
      clean(readFileSync(shared("aarch64/expected.txt"), "utf8")),
    );
  });
});

describe("the loader notices what it must", () => {
  for (const arch of ARCHES) {
    it(`${arch}: without the FDEs, the backtraces stop in the module and the throw cannot come back`, async (ctx) => {
      if (!usable.get(arch)) return skipWith(ctx, `${arch}: toolchain missing`);
      const bytes = new Uint8Array(readFileSync(await sampleObject(arch)));
      const eh = findSection(bytes, ".eh_frame");
      expect(eh).toBeDefined();
      if (eh === undefined) return;
      // Zero the length of the entry after the CIE: libgcc then sees the
      // terminator there and registers no FDE at all.
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const le = bytes[5] === 1;
      const cieLength = view.getUint32(eh.offset, le);
      view.setUint32(eh.offset + 4 + cieLength, 0, le);
      const broken = join(scratch(), `nofde-${arch}-broken.o`);
      writeFileSync(broken, bytes);
      const r = await runLoader(arch, broken, SAMPLE_C);
      // The plain checksum run still computes, but its backtrace ends inside
      // the module; the throwing run has no way back and terminates.
      expect(r.stdout).toContain("bt 1: [host] checksum (rc=5)");
      expect(r.stdout).not.toContain("caught");
      expect(r.status).not.toBe(0);
    });
  }

  it("refuses an object whose .eh_frame does not follow .text in the file", async (ctx) => {
    const arch = HOST_ARCH !== undefined && usable.get(HOST_ARCH) ? HOST_ARCH : ready[0];
    if (arch === undefined) return skipWith(ctx, "no architecture with a toolchain");
    const bytes = new Uint8Array(readFileSync(await sampleObject(arch)));
    const eh = findSection(bytes, ".eh_frame");
    if (eh === undefined) throw new Error("no .eh_frame");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setBigUint64(eh.header + 24, BigInt(eh.offset + 8), bytes[5] === 1);
    const moved = join(scratch(), `moved-${arch}-broken.o`);
    writeFileSync(moved, bytes);
    const r = await runLoader(arch, moved, SAMPLE_C);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(".eh_frame does not immediately follow .text");
  });
});

describe("our own module (test/fixtures/own/calls.c) through the real loader", () => {
  for (const arch of ARCHES) {
    const jsonl = own(`${arch}/calls.jsonl`);
    const object = own(`${arch}/calls.o`);
    const expectedPath = own(`${arch}/expected.txt`);
    // The fixtures are committed (scripts/regenerate-own-fixtures.sh makes them): a missing one fails.

    it(`${arch}: objfold's object of calls.jsonl prints expected.txt`, async (ctx) => {
      if (!usable.get(arch)) return skipWith(ctx, `${arch}: toolchain missing`);
      expect(existsSync(expectedPath), `${expectedPath} is missing: run scripts/regenerate-own-expected.sh`).toBe(true);
      const obj = await encodeCached(jsonl, `calls-${arch}.o`);
      expect(outcome(await runLoader(arch, obj, CALLS_C))).toEqual(clean(readFileSync(expectedPath, "utf8")));
    });

    it(`${arch}: expected.txt is the oracle's output for the calls.o that calls.jsonl came from`, async (ctx) => {
      if (!usable.get(arch)) return skipWith(ctx, `${arch}: toolchain missing`);
      if (!existsSync(object)) return skipWith(ctx, `${arch}: ${object} not there`);
      expect(existsSync(expectedPath), `${expectedPath} is missing: run scripts/regenerate-own-expected.sh`).toBe(true);
      expect(outcome(await runOracleObject(arch, object, CALLS_C))).toEqual(clean(readFileSync(expectedPath, "utf8")));
    });
  }
});
