/**
 * aarch64 islands and veneers (reference §5, docs/targets.md): where islands
 * go, which calls take a veneer, what the veneer looks like to objdump, and
 * that code routed through veneers runs under qemu-aarch64 (the small
 * test/support/calltext.c harness, and the real loader, which also unwinds
 * through the far functions). Also the calls no veneer can rescue, on every
 * architecture. (The real loader's run of the forced fixture with backtraces
 * and exceptions is in test/loader.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Either } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { VENEER_SIZE } from "../src/isa/aarch64.js";
import { foldItems } from "../src/encode.js";
import type { ObjfoldError } from "../src/errors.js";
import { finish } from "../src/layout/fold.js";
import type { TextPlan } from "../src/layout/plan.js";
import type { FunctionItem, Header, Item, SystemVUnwind } from "../src/schema/records.js";
import { canRunText, runText } from "./support/calltext.js";
import { callTargetOf, disassemble, fdes, veneerTargetOf } from "./support/disasm.js";
import { cleanupLoaderBuilds, requireToolchain, runLoader } from "./support/loader.js";
import { encodeParts, encodeText, fixtureText, reheader } from "./support/modules.js";
import { requireTools, runRaw } from "./support/tools.js";

const MiB = 1024 * 1024;
const BRANCH26_MAX = 0x7ffffff;
const dir = mkdtempSync(join(tmpdir(), "objfold-veneers-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanupLoaderBuilds();
});

const A64 = "aarch64-unknown-linux-gnu";
const header = (target = A64, forceVeneers = false): Header => ({ format: "objfold/v1", target, forceVeneers, symbols: true });

const words = (...ws: number[]): Uint8Array => {
  const b = new Uint8Array(4 * ws.length);
  const dv = new DataView(b.buffer);
  ws.forEach((w, i) => dv.setUint32(4 * i, w >>> 0, true));
  return b;
};

const fn = (name: string, body: Uint8Array, calls: Array<{ offset: number; target: string }>, extra: Partial<FunctionItem> = {}, kind = "Arm64Call", addend = 0): FunctionItem => ({
  type: "function",
  name,
  body,
  alignment: 4,
  relocations: calls.map((c) => ({ offset: c.offset, kind: kind as "Arm64Call", target: c.target, addend })),
  ...extra,
});
const pad = (size: number): Item => ({ type: "padding", size });

const plan = (h: Header, items: ReadonlyArray<Item>): Either.Either<TextPlan, ObjfoldError> => finish(foldItems(h, items));
const planOk = (h: Header, items: ReadonlyArray<Item>): TextPlan => {
  const p = plan(h, items);
  if (Either.isLeft(p)) throw new Error(JSON.stringify(p.left));
  return p.right;
};
const planErr = (h: Header, items: ReadonlyArray<Item>): ObjfoldError => {
  const p = plan(h, items);
  if (Either.isRight(p)) throw new Error("expected an error");
  return p.left;
};

/** A body of `n` words: `bl` at word 0, then `ret`s (zeros are fine for the plan). */
const blBody = (bytes: number): Uint8Array => {
  const b = new Uint8Array(bytes);
  b.set(words(0x94000000, 0xd65f03c0));
  return b;
};

/**
 * The hand-written far module: f0 calls f1 across `gap` bytes of padding and
 * f1 calls f0 back; at the bottom f0 tail-calls the host. As C, with
 * h(x, y) = 7x + 13y + c (c = 1 for the first host call):
 *
 *   long f0(long n, long b, host h) { return n == 0 ? h(0, b) : f1(n, b, h) + 1; }
 *   long f1(long n, long b, host h) { return 3 * f0(n - 1, b, h); }
 *
 * so with b = 2: f0(0) = 27, f0(1) = 82, f0(2) = 247, f0(3) = 742,
 * f1(1) = 81, f1(3) = 741, each with one host call.
 */
const farModule = (gap: number): Item[] => {
  const unwind = (frameAt: number, popAt: number): SystemVUnwind => ({
    kind: "systemv",
    length: 0, // set below
    instructions: [
      { at: frameAt, op: "cfaOffset", offset: 16 },
      { at: frameAt, op: "offset", register: 29, offset: -16 },
      { at: frameAt, op: "offset", register: 30, offset: -8 },
      { at: popAt, op: "cfaOffset", offset: 0 },
      { at: popAt, op: "restore", register: 29 },
      { at: popAt, op: "restore", register: 30 },
    ],
  });
  const f0 = words(
    0xb40000e0, // 0x00 cbz x0, 0x1c
    0xa9bf7bfd, // 0x04 stp x29, x30, [sp, #-16]!
    0x910003fd, // 0x08 mov x29, sp
    0x94000000, // 0x0c bl f1
    0x91000400, // 0x10 add x0, x0, #1
    0xa8c17bfd, // 0x14 ldp x29, x30, [sp], #16
    0xd65f03c0, // 0x18 ret
    0xd61f0040, // 0x1c br x2 (tail call h(0, b))
  );
  const f1 = words(
    0xa9bf7bfd, // 0x00 stp x29, x30, [sp, #-16]!
    0x910003fd, // 0x04 mov x29, sp
    0xd1000400, // 0x08 sub x0, x0, #1
    0x94000000, // 0x0c bl f0
    0x8b000400, // 0x10 add x0, x0, x0, lsl #1
    0xa8c17bfd, // 0x14 ldp x29, x30, [sp], #16
    0xd65f03c0, // 0x18 ret
  );
  return [
    fn("f0", f0, [{ offset: 0x0c, target: "f1" }], { alignment: 16, unwind: { ...unwind(0x08, 0x18), length: f0.length } }),
    pad(gap),
    fn("f1", f1, [{ offset: 0x0c, target: "f0" }], { alignment: 16, unwind: { ...unwind(0x04, 0x18), length: f1.length } }),
  ];
};

const veneerCount = (p: TextPlan): number => p.islands.reduce((n, i) => n + i.veneers.length, 0);

describe("islands in the plan", () => {
  it("calls that reach take no veneer and make no island (the shared aarch64 fixture)", () => {
    const { plan: p } = encodeText(fixtureText("aarch64"));
    expect(p.calls.length).toBeGreaterThan(0);
    expect(p.islands).toEqual([]);
    expect(p.calls.every((c) => c.veneer === undefined)).toBe(true);
  });

  it("functions 130 MiB apart: a veneer in each direction, each island right where it is needed", () => {
    const p = planOk(header(), farModule(130 * MiB));
    const [f0, f1] = p.functions;
    expect(p.functions.length).toBe(2);
    expect(p.islands.length).toBe(2);
    // Forward: the island goes before the padding that would carry f0's site out of reach.
    const fwd = p.islands[0]!;
    expect(fwd.offset).toBe(f0!.offset + f0!.fn.body.length);
    expect(fwd.veneers).toEqual([expect.objectContaining({ offset: fwd.offset, size: VENEER_SIZE, site: f0!.offset + 0x0c, target: 1 })]);
    expect(p.paddings[0]!.offset).toBe(fwd.end);
    // Backward: f0 is known and out of reach, so the next island (here at the end) takes a veneer.
    const back = p.islands[1]!;
    expect(back.offset).toBe(f1!.offset + f1!.fn.body.length);
    expect(back.veneers).toEqual([expect.objectContaining({ site: f1!.offset + 0x0c, target: 0 })]);
    expect(p.calls.map((c) => c.veneer)).toEqual([fwd.offset, back.offset]);
    expect(p.textLength).toBe(back.end);
    // Each call is patched to its veneer, each veneer's slot to the function.
    const byAt = new Map(p.patches.map((x) => [x.at, x]));
    expect(byAt.get(f0!.offset + 0x0c)).toMatchObject({ label: fwd.offset, use: { name: "Branch26" } });
    expect(byAt.get(fwd.offset + 16)).toMatchObject({ label: f1!.offset, use: { name: "PCRel32" } });
    expect(byAt.get(f1!.offset + 0x0c)).toMatchObject({ label: back.offset, use: { name: "Branch26" } });
    expect(byAt.get(back.offset + 16)).toMatchObject({ label: f0!.offset, use: { name: "PCRel32" } });
  });

  it("forward: a target starting at the last reachable word is called directly; 4 bytes further, through a veneer", () => {
    // f0's site is its first word; f1 follows f0 directly, so the fold knows where f1 will start.
    const body = BRANCH26_MAX - 3;
    const near = planOk(header(), [fn("f0", blBody(body), [{ offset: 0, target: "f1" }]), fn("f1", blBody(8), [{ offset: 0, target: "f0" }])]);
    expect(near.functions[1]!.offset - near.calls[0]!.at).toBe(BRANCH26_MAX - 3);
    expect(veneerCount(near)).toBe(0);
    // 4 bytes of padding more: the island goes before the padding, the last place the site can still reach.
    const far = planOk(header(), [fn("f0", blBody(body), [{ offset: 0, target: "f1" }]), pad(4), fn("f1", blBody(8), [])]);
    expect(far.calls[0]!.veneer).toBe(body);
    expect(far.paddings[0]!.offset).toBe(body + VENEER_SIZE);
  });

  it("a padding that could carry a site past its reach gets the island first, whatever follows it", () => {
    // The fold cannot see past the padding: f1 right after it would be reachable, but a
    // function placed after it might not be, and no island can go inside it.
    const gap = BRANCH26_MAX - 3 - 8;
    const p = planOk(header(), [fn("f0", blBody(8), [{ offset: 0, target: "f1" }]), pad(gap), fn("f1", blBody(8), [])]);
    expect(p.calls[0]!.veneer).toBe(8);
    // Far enough from the deadline (more than the worst-case island), no island.
    const q = planOk(header(), [fn("f0", blBody(8), [{ offset: 0, target: "f1" }]), pad(gap - 64), fn("f1", blBody(8), [])]);
    expect(q.islands).toEqual([]);
  });

  it("backward: 128 MiB back reaches, 128 MiB + 4 takes a veneer", () => {
    const mk = (gap: number) => planOk(header(), [fn("f0", blBody(8), []), pad(gap), fn("f1", blBody(8), [{ offset: 0, target: "f0" }])]);
    const reach = mk(0x8000000 - 8);
    expect(reach.calls[0]!.at - reach.functions[0]!.offset).toBe(0x8000000);
    expect(reach.calls[0]!.veneer).toBeUndefined();
    const beyond = mk(0x8000000 - 8 + 4);
    expect(beyond.calls[0]!.veneer).toBe(beyond.functions[1]!.offset + 8);
  });

  it("the target placed right after the island, within reach, is called directly (Cranelift would take a veneer)", () => {
    // f1 is 50 MiB long: the worst case after placing it passes f0's deadline, but f1's start does not.
    const items = [fn("f0", blBody(8), [{ offset: 0, target: "f1" }]), pad(100 * MiB), fn("f1", blBody(50 * MiB), [])];
    const p = planOk(header(), items);
    expect(p.islands).toEqual([]);
    expect(p.calls[0]!.veneer).toBeUndefined();
    // The same module with f1 starting out of reach does take one.
    const q = planOk(header(), [fn("f0", blBody(8), [{ offset: 0, target: "f1" }]), pad(128 * MiB), fn("f1", blBody(50 * MiB), [])]);
    expect(q.calls[0]!.veneer).toBe(8);
  });

  it("a function alignment that would carry a site past its reach gets the island before it", () => {
    // f0 calls f2; f1 (64 KiB-aligned) comes where MachBuffer's check (which ignores the
    // alignment fill) says no island is needed, but f1 would start at 128 MiB, past f0's reach.
    const gap = 0x7ff0000;
    const items = [
      fn("f0", blBody(8), [{ offset: 0, target: "f2" }]),
      pad(gap),
      fn("f1", blBody(8), [], { alignment: 0x10000 }),
      fn("f2", blBody(8), []),
    ];
    const p = planOk(header(), items);
    expect(p.islands.length).toBe(1);
    expect(p.islands[0]!.offset).toBe(8 + gap);
    expect(p.functions[1]!.offset).toBe(0x8000000);
    expect(p.calls[0]!.veneer).toBe(8 + gap);
  });

  it("forceVeneers routes every call through its own veneer; islands are not functions", () => {
    const text = fixtureText("aarch64");
    const plain = encodeText(text).plan;
    const forced = encodeText(reheader(text, { forceVeneers: true })).plan;
    expect(forced.calls.length).toBe(plain.calls.length);
    expect(forced.calls.every((c) => c.veneer !== undefined)).toBe(true);
    expect(new Set(forced.calls.map((c) => c.veneer)).size).toBe(forced.calls.length);
    expect(veneerCount(forced)).toBe(forced.calls.length);
    expect(forced.functions.map((f) => f.fn.name)).toEqual(plain.functions.map((f) => f.fn.name));
    // No island overlaps a function.
    for (const i of forced.islands)
      for (const f of forced.functions) expect(i.end <= f.offset || i.offset >= f.offset + f.fn.body.length).toBe(true);
  });

  it("an island serves the earliest deadline first: a function's own calls cannot take the space promised to an earlier call", () => {
    // Found by the laws: under force, f1's two calls back to f0 used to get their veneers
    // before f0's forward call (registered earlier, deadline first), pushing its veneer out of reach.
    const two = new Uint8Array(8);
    two.set(words(0x94000000, 0x94000000));
    const p = planOk(header(A64, true), [fn("f0", words(0x94000000), [{ offset: 0, target: "f1" }]), pad(134217692), fn("f1", two, [{ offset: 0, target: "f0" }, { offset: 4, target: "f0" }])]);
    expect(p.calls.every((c) => c.veneer !== undefined && c.veneer - c.at <= BRANCH26_MAX)).toBe(true);
    expect(p.islands.at(-1)!.veneers[0]!.site).toBe(0);
  });

  it("forceVeneers changes nothing on x86_64, riscv64 and s390x", () => {
    for (const arch of ["x86_64", "riscv64", "s390x"] as const) {
      const text = fixtureText(arch);
      const a = encodeText(text);
      const b = encodeText(reheader(text, { forceVeneers: true }));
      expect(b.plan.islands).toEqual([]);
      expect(Buffer.compare(a.bytes, b.bytes), arch).toBe(0);
    }
  });

  it("padding of size 0 makes no island, even under forceVeneers", () => {
    const p = planOk(header(A64, true), [fn("f0", blBody(8), []), pad(0), fn("f1", blBody(8), [])]);
    expect(p.islands).toEqual([]);
    expect(p.functions[1]!.offset).toBe(8);
  });
});

describe("calls no veneer can rescue", () => {
  const GiB = 1024 * MiB;
  it("aarch64, forward: a veneer's ±2 GiB slot cannot reach 2.5 GiB", () => {
    const e = planErr(header(), [fn("f0", blBody(8), [{ offset: 0, target: "f1" }]), pad(2.5 * GiB), fn("f1", blBody(8), [])]);
    expect(e).toMatchObject({ _tag: "CallOutOfRange", item: 0, function: "f0", offset: 0, target: "f1", kind: "Arm64Call" });
    // f0, its veneer (placed before the padding), the padding: f1 starts there.
    expect((e as { distance: number }).distance).toBe(8 + VENEER_SIZE + 2.5 * GiB);
  });

  it("aarch64, backward: 2.5 GiB back", () => {
    const e = planErr(header(), [fn("f0", blBody(8), []), pad(2.5 * GiB), fn("f1", blBody(8), [{ offset: 4, target: "f0" }])]);
    expect(e).toMatchObject({ _tag: "CallOutOfRange", item: 2, function: "f1", offset: 4, target: "f0", distance: -(8 + 2.5 * GiB + 4) });
  });

  it("aarch64: a body longer than the branch range with a call at its start", () => {
    const e = planErr(header(), [fn("f0", blBody(130 * MiB), [{ offset: 0, target: "f1" }]), fn("f1", blBody(8), [])]);
    expect(e).toMatchObject({ _tag: "CallOutOfRange", function: "f0", offset: 0, target: "f1" });
    expect((e as { distance: number }).distance).toBeGreaterThan(BRANCH26_MAX);
  });

  it("x86_64: the rel32 counts from the end of the call, so 2^31 − 4 back is the farthest (Cranelift wraps at 2^31)", () => {
    const call = new Uint8Array([0xe8, 0, 0, 0, 0, 0xc3]);
    // f at 0; g's call site at 1 + back.
    const mk = (back: number) =>
      plan(header("x86_64-unknown-linux-gnu"), [
        fn("f", new Uint8Array([0xc3]), [], { alignment: 1 }, "X86CallPCRel4", -4),
        pad(back - 1 - 1),
        fn("g", call, [{ offset: 1, target: "f" }], { alignment: 1 }, "X86CallPCRel4", -4),
      ]);
    const ok = mk(2 ** 31 - 4);
    if (Either.isLeft(ok)) throw new Error(JSON.stringify(ok.left));
    const p = ok.right.patches[0]!;
    expect(p.label - p.at).toBe(-(2 ** 31 - 4));
    // The displacement written is Δ − 4 = −2^31: the most negative i32, relative to the end of the call.
    const field = new Uint8Array(4);
    p.use.patch(field, 0, p.label - p.at);
    expect(new DataView(field.buffer).getInt32(0, true)).toBe(-(2 ** 31));
    expect(p.at + 4 + new DataView(field.buffer).getInt32(0, true)).toBe(0);
    for (const back of [2 ** 31 - 3, 2 ** 31 - 1, 2 ** 31]) {
      const e = mk(back);
      expect(Either.isLeft(e) && e.left, String(back)).toMatchObject({ _tag: "CallOutOfRange", function: "g", target: "f", distance: -back });
    }
  });

  it("x86_64 and riscv64: beyond ±2 GiB, forward and backward", () => {
    const G = 2.25 * GiB;
    const call = new Uint8Array([0xe8, 0, 0, 0, 0, 0xc3]);
    const x86 = (name: string, target: string) => fn(name, call, [{ offset: 1, target }], { alignment: 1 }, "X86CallPCRel4", -4);
    const e1 = planErr(header("x86_64-unknown-linux-gnu"), [x86("x", "y"), pad(G), x86("y", "x")]);
    expect(e1).toMatchObject({ _tag: "CallOutOfRange", function: "x", offset: 1, target: "y", distance: 6 + G - 1, min: -0x7ffffffc, max: 0x7fffffff });
    const e1b = planErr(header("x86_64-unknown-linux-gnu"), [x86("x", "x"), pad(G), x86("y", "x")]);
    expect(e1b).toMatchObject({ _tag: "CallOutOfRange", function: "y", offset: 1, target: "x", distance: -(6 + G + 1) });
    const rv = (name: string, target: string) => fn(name, new Uint8Array(8), [{ offset: 0, target }], {}, "RiscvCallPlt", 0);
    const e2 = planErr(header("riscv64gc-unknown-linux-gnu"), [rv("a", "a"), pad(G), rv("b", "a")]);
    expect(e2).toMatchObject({ _tag: "CallOutOfRange", function: "b", offset: 0, target: "a", distance: -(8 + G), min: -0x80000800, max: 0x7ffff7ff });
    // s390x reaches ±4 GiB, the whole text: no call there is ever out of range.
    const sz = (name: string, target: string) => fn(name, new Uint8Array(6), [{ offset: 2, target }], {}, "S390xPLTRel32Dbl", 2);
    expect(Either.isRight(plan(header("s390x-unknown-linux-gnu"), [sz("a", "b"), pad(3.5 * GiB), sz("b", "a")]))).toBe(true);
  });
});

describe("veneers seen by objdump and run under qemu-aarch64", () => {
  const tools = requireTools("veneer disassembly", "objdump", "objcopy", "readelf", "llvm-dwarfdump", "eu-elflint");
  // The plain runs of the fixture's expected.txt (test/fixtures/shared/aarch64/, copied from the shared fixtures).
  const ENTRIES = (() => {
    const text = readFileSync(new URL("./fixtures/shared/aarch64/expected.txt", import.meta.url), "utf8");
    return [...text.matchAll(/^## (\w+) (-?\d+) (-?\d+) \nresult (-?\d+)\ncalls (\d+)$/gm)].map((m) => ({ name: m[1]!, a: Number(m[2]), b: Number(m[3]), result: m[4]!, calls: Number(m[5]) }));
  })();

  it("the fixture's expected.txt lists the five ENTRY runs", () => {
    expect(ENTRIES.map((e) => e.name)).toEqual(["checksum", "ackermann_small", "spill_heavy", "big_frame", "drive"]);
  });

  it.runIf(tools)("forceVeneers: every call is a `bl` to a veneer (ldrsw/adr/add/br + slot) that reaches its function", () => {
    const text = reheader(fixtureText("aarch64"), { forceVeneers: true });
    const { bytes, plan: p } = encodeText(text);
    const path = join(dir, "forced.o");
    writeFileSync(path, bytes);
    const insns = disassemble(path);
    const names = new Set(p.functions.map((f) => f.fn.name));
    for (const c of p.calls) {
      const got = callTargetOf("aarch64", insns, c.at);
      if (typeof got === "string") throw new Error(got);
      expect(got.addr).toBe(c.veneer);
      expect(names.has(got.annotation), `a veneer has no symbol: <${got.annotation}>`).toBe(false);
      expect(veneerTargetOf(insns, got.addr)).toBe(p.functions[c.target]!.offset);
    }
    // The symbols are the functions only, and the FDEs still cover exactly them.
    const syms = runRaw("readelf", ["-s", "-W", path]).stdout;
    expect([...syms.matchAll(/ FUNC +LOCAL +DEFAULT +1 (\S+)$/gm)].map((m) => m[1])).toEqual(p.functions.map((f) => f.fn.name));
    const f = fdes(dir, path, p.textSize);
    expect(f.llvm).toEqual(p.functions.map((x) => ({ start: x.offset, end: x.offset + (x.fn.unwind as SystemVUnwind).length })));
    expect(runRaw("eu-elflint", ["--gnu-ld", path]).stdout.trim()).toBe("No errors");
  });

  it.runIf(tools)("forceVeneers: the fixture gives the same results with and without veneers under qemu-aarch64", () => {
    if (!canRunText("forced veneers under qemu", "aarch64")) return;
    const text = fixtureText("aarch64");
    const results = [false, true].map((force) => {
      const { bytes, plan: p } = encodeText(reheader(text, { forceVeneers: force }));
      if (force) expect(veneerCount(p)).toBeGreaterThan(0);
      const path = join(dir, `fixture-${force}.o`);
      writeFileSync(path, bytes);
      return runText("aarch64", path, bytes, ENTRIES);
    });
    expect(results[0]).toEqual(ENTRIES.map((e) => ({ result: e.result, calls: e.calls })));
    expect(results[1]).toEqual(results[0]);
  });

  it.runIf(tools)("functions 130 MiB apart: veneers both ways in the bytes, and the calls run (and unwind) under qemu-aarch64", async () => {
    const { bytes, plan: p } = encodeParts(header(), farModule(130 * MiB));
    const path = join(dir, "far.o");
    writeFileSync(path, bytes);
    expect(p.textLength).toBeGreaterThan(130 * MiB);
    const [f0, f1] = p.functions;
    // objdump only around the two functions (the padding between them is 130 MiB of zeros).
    const insns = new Map([
      ...disassemble(path, { start: 0, stop: p.islands[0]!.end }),
      ...disassemble(path, { start: f1!.offset, stop: p.textLength }),
    ]);
    for (const [c, callee] of [
      [p.calls[0]!, f1!],
      [p.calls[1]!, f0!],
    ] as const) {
      const got = callTargetOf("aarch64", insns, c.at);
      if (typeof got === "string") throw new Error(got);
      expect(got.addr).toBe(c.veneer);
      expect(veneerTargetOf(insns, got.addr)).toBe(callee.offset);
    }
    expect(runRaw("eu-elflint", ["--gnu-ld", path]).stdout.trim()).toBe("No errors");
    const f = fdes(dir, path, p.textSize);
    expect(f.readelf).toEqual([
      { start: f0!.offset, end: f0!.offset + f0!.fn.body.length },
      { start: f1!.offset, end: f1!.offset + f1!.fn.body.length },
    ]);
    if (!canRunText("far calls under qemu", "aarch64")) return;
    const out = runText("aarch64", path, bytes, [
      { name: "f0", a: 0, b: 2 },
      { name: "f0", a: 1, b: 2 },
      { name: "f0", a: 3, b: 2 },
      { name: "f1", a: 1, b: 2 },
      { name: "f1", a: 3, b: 2 },
    ]);
    expect(out).toEqual(["27", "82", "742", "81", "741"].map((result) => ({ result, calls: 1 })));

    // The real loader (test/support/loader.ts, test/loader/loader.cpp): `.eh_frame`
    // registered with libgcc, backtraces taken at the host call, and a C++
    // exception thrown there unwinding through f1 and f0 across the 130 MiB.
    if (!requireToolchain("far calls through the real loader", "aarch64")) return;
    const entries = join(dir, "far-entries.txt");
    writeFileSync(entries, "ENTRY f0 2 2\nENTRY f1 1 2\n");
    const r = await runLoader("aarch64", path, entries);
    const runs = (name: string, result: number, frames: string) =>
      [`## ${name} `, `result ${result}`, "calls 1", `bt 1: ${frames} (rc=5)`, `## ${name} throw 1`, "caught 27", "calls 1", `bt 1: ${frames} (rc=5)`].join("\n");
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({
      status: 0,
      stderr: "",
      stdout: `${runs("f0 2 2", 247, "[host] f1 f0 f1 f0 [host]")}\n${runs("f1 1 2", 81, "[host] f1 [host]")}\n`,
    });
    rmSync(path);
  });
});
