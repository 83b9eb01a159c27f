/**
 * Laws of `objfold inspect` (src/inspect/): reading back is the inverse of
 * writing.
 *
 * - readBack: for generated modules of every target (laws/support/inspect.ts:
 *   bodies of no-ops and real calls, `symbols`, `forceVeneers`, `wasmtime`
 *   drawn, unwind records of the target's kind), `inspectObject` of the
 *   encoded bytes recovers, from the bytes alone, each function's name,
 *   offset and size (from the symbols, or without them from the FDEs /
 *   `.pdata` as `fn@0x…`), every call with its site, its target and the
 *   veneer it goes through, every veneer, and each function's unwind program:
 *   SystemV instructions in record form (offsets and `at` in bytes, so
 *   factoring is undone), Windows x64 header and codes, Windows ARM64 codes;
 *   the description is plain JSON and every renderer accepts it;
 * - damaged: for objects with bytes flipped, fields overwritten, cut short or
 *   replaced, `inspectObject` returns a value or a `MalformedObject` /
 *   `UnsupportedObject` error, never throws, and the renderers accept any
 *   description it returns.
 */
import { isDeepStrictEqual } from "node:util";
import { Either } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TARGETS } from "../src/arbitrary.js";
import { anonymousName, inspectObject } from "../src/inspect/inspect.js";
import type { CallView, FunctionView, Inspection } from "../src/inspect/model.js";
import { perfMap } from "../src/inspect/perfmap.js";
import { renderSvg } from "../src/inspect/svg.js";
import { renderText } from "../src/inspect/text.js";
import type { PlacedFunction, TextPlan } from "../src/layout/plan.js";
import type { Module } from "../src/schema/records.js";
import { encodeParts } from "../test/support/modules.js";
import { arbInspectModule } from "./support/inspect.js";

type CallKey = Pick<CallView, "site" | "target" | "function" | "veneer">;
const byteOrder = (triple: string) => (triple.startsWith("s390x") || triple.endsWith("be") ? "big" : "little");

/** The renderers accept the description (and the perf map has a line per function with bytes and per veneer). */
const renderersLaw = (d: Inspection): string[] => {
  const bad: string[] = [];
  renderText(d, "x.o");
  if (!renderSvg(d, "x.o").startsWith("<svg")) bad.push("renderSvg does not give an <svg> document");
  const lines = perfMap(d, 0x7f0000000000n);
  const want = d.functions.filter((f) => f.size > 0).length + d.islands.reduce((n, i) => n + i.veneers.length, 0);
  if (Either.isLeft(lines)) bad.push(`perfMap: ${lines.left}`);
  else if (lines.right.length !== want) bad.push(`perfMap gives ${lines.right.length} lines, expected ${want}`);
  return bad;
};

/** Everything inspect must recover from the bytes, given the module and the plan it was encoded with. */
export const readBackLaw = (m: Module, plan: TextPlan, d: Inspection): string[] => {
  const bad: string[] = [];
  const { header } = m;
  const check = (ok: boolean, what: string) => {
    if (!ok) bad.push(what);
  };
  const same = (a: unknown, b: unknown, what: string) => check(isDeepStrictEqual(a, b), `${what}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);

  // The target.
  const facts = TARGETS.find((t) => t.triple === header.target)!;
  check(d.schema === "objfold-inspect/v1", "schema");
  check(d.target.arch === facts.arch, `arch ${d.target.arch}, expected ${facts.arch}`);
  check(d.target.triples.includes(header.target), `triples ${d.target.triples.join(",")} lack ${header.target}`);
  check(d.target.wasmtime === (header.wasmtime ?? null), `wasmtime ${d.target.wasmtime}`);
  check(d.target.pulley === (facts.arch !== "pulley" ? null : header.target.startsWith("pulley32") ? 32 : 64), `pulley ${d.target.pulley}`);
  check(d.elf.byteOrder === byteOrder(header.target), `byte order ${d.elf.byteOrder}`);
  check(d.text.size === plan.textSize, `text size ${d.text.size}, plan ${plan.textSize}`);
  same(d.warnings, [], "warnings");

  // Functions: from symbols, or from the unwind tables.
  const found = (f: PlacedFunction): boolean => header.symbols || f.fn.unwind !== undefined;
  const nameOf = (f: PlacedFunction): string => (header.symbols ? f.fn.name : anonymousName(f.offset));
  const expected = plan.functions.filter(found);
  const sizeOf = (f: PlacedFunction): number => (header.symbols || f.fn.unwind?.kind !== "systemv" ? f.fn.body.length : f.fn.unwind.length);
  same(
    d.functions.map((f) => [f.name, f.offset, f.size, f.source]),
    expected.map((f) => [nameOf(f), f.offset, sizeOf(f), header.symbols ? "symbol" : facts.unwind === "systemv" ? "fde" : "pdata"]),
    "functions",
  );

  // Veneers.
  const byIndex = new Map(plan.functions.map((f) => [f.index, f]));
  const planVeneers = plan.islands.flatMap((i) => i.veneers.map((v) => [v.offset, byIndex.get(v.target)!.offset, found(byIndex.get(v.target)!) ? nameOf(byIndex.get(v.target)!) : null]));
  same(d.islands.flatMap((i) => i.veneers.map((v) => [v.offset, v.target, v.function])), planVeneers, "veneers");

  const got = new Map<number, FunctionView>(d.functions.map((f) => [f.offset, f]));
  for (const f of expected) {
    const v = got.get(f.offset);
    if (v === undefined) continue; // reported above
    // Calls: every relocation of this function, where it landed (the plan knows the veneers).
    const want: CallKey[] = plan.calls
      .filter((c) => c.caller === f.index)
      .map((c) => {
        const t = byIndex.get(c.target)!;
        return { site: c.at, target: t.offset, function: found(t) ? nameOf(t) : null, veneer: c.veneer ?? null };
      })
      .filter((c) => c.function !== null || c.veneer !== null)
      .sort((a, b) => a.site - b.site);
    same(
      v.calls.map((c) => ({ site: c.site, target: c.target, function: c.function, veneer: c.veneer })),
      want,
      `calls of ${JSON.stringify(v.name)}`,
    );
    // Unwind.
    const u = f.fn.unwind;
    const w = v.unwind;
    if (u === undefined) check(w === null, `${v.name}: unwind ${w?.kind}, the record has none`);
    else if (u.kind === "systemv") {
      if (w?.kind !== "systemv") bad.push(`${v.name}: unwind ${w?.kind}, expected systemv`);
      else {
        same([w.pcBegin, w.pcRange], [f.offset, u.length], `${v.name}: FDE range`);
        same(w.instructions, u.instructions, `${v.name}: CFI`);
      }
    } else if (u.kind === "windowsX64") {
      if (w?.kind !== "windowsX64") bad.push(`${v.name}: unwind ${w?.kind}, expected windowsX64`);
      else {
        same([w.begin, w.end], [f.offset, f.offset + f.fn.body.length], `${v.name}: .pdata range`);
        same(
          { flags: w.flags, prologueSize: w.prologueSize, frameRegister: w.frameRegister, frameRegisterOffset: w.frameRegisterOffset, codes: w.codes },
          { flags: u.flags, prologueSize: u.prologueSize, frameRegister: u.frameRegister, frameRegisterOffset: u.frameRegisterOffset, codes: u.codes },
          `${v.name}: UNWIND_INFO`,
        );
      }
    } else if (w?.kind !== "windowsArm64") bad.push(`${v.name}: unwind ${w?.kind}, expected windowsArm64`);
    else {
      same(
        w.fragments.map((x) => [x.begin, x.length, x.hasPrologue]),
        [[f.offset, f.fn.body.length, true]],
        `${v.name}: fragments`,
      );
      same(w.codes, u.codes, `${v.name}: ARM64 codes`);
    }
  }
  // Plain JSON: what --json prints is the value itself.
  same(JSON.parse(JSON.stringify(d)), d, "JSON round trip");
  bad.push(...renderersLaw(d));
  return bad;
};

const readBack = (m: Module): string[] => {
  const { bytes, plan } = encodeParts(m.header, m.items);
  const d = inspectObject(bytes);
  if (Either.isLeft(d)) return [`inspect refused the object: ${JSON.stringify(d.left)}`];
  return readBackLaw(m, plan, d.right);
};

// ---------------------------------------------------------------- damage

type Mutation =
  | { readonly _tag: "flip"; readonly at: ReadonlyArray<number>; readonly xor: ReadonlyArray<number> }
  | { readonly _tag: "field"; readonly at: number; readonly width: 2 | 4 | 8; readonly value: number }
  | { readonly _tag: "cut"; readonly at: number }
  | { readonly _tag: "noise"; readonly bytes: Uint8Array };

/** Values that break offsets and counts: 0, small, at or past the file's end, the largest. */
const fieldValues = fc.oneof(fc.constantFrom(0, 1, 0xff, 0x7fffffff, 0xffffffff, 0xffff, 0x8000), fc.nat(), fc.integer({ min: 0, max: 0x3000 }));

const arbMutation = (len: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ _tag: fc.constant("flip" as const), at: fc.array(fc.nat({ max: len - 1 }), { minLength: 1, maxLength: 8 }), xor: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 8, maxLength: 8 }) }) },
    // Header and section header fields sit at multiples of 2 in the first 64 bytes and the table at the end.
    { weight: 4, arbitrary: fc.record({ _tag: fc.constant("field" as const), at: fc.oneof(fc.nat({ max: 63 }), fc.nat({ max: len - 1 })), width: fc.constantFrom(2 as const, 4 as const, 8 as const), value: fieldValues }) },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("cut" as const), at: fc.nat({ max: len }) }) },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("noise" as const), bytes: fc.uint8Array({ maxLength: 256 }) }) },
  );

const mutate = (bytes: Uint8Array, m: Mutation, littleEndian: boolean): Uint8Array => {
  switch (m._tag) {
    case "flip": {
      const b = bytes.slice();
      m.at.forEach((at, i) => (b[at] = b[at]! ^ m.xor[i]!));
      return b;
    }
    case "field": {
      const b = bytes.slice();
      const at = Math.min(m.at, b.length - m.width);
      if (at < 0) return b;
      const dv = new DataView(b.buffer);
      if (m.width === 2) dv.setUint16(at, m.value & 0xffff, littleEndian);
      else if (m.width === 4) dv.setUint32(at, m.value >>> 0, littleEndian);
      else dv.setBigUint64(at, BigInt(m.value), littleEndian);
      return b;
    }
    case "cut":
      return bytes.slice(0, m.at);
    case "noise":
      // Keep the magic sometimes, so the reader gets past it.
      return m.bytes.length > 8 && m.bytes[0]! % 2 === 0 ? Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1 + (m.bytes[1]! % 2), ...m.bytes.subarray(6)]) : m.bytes;
  }
};

/** Any bytes: a description (that the renderers accept) or a typed error, never an exception. */
const damagedLaw = (bytes: Uint8Array): string[] => {
  let r: ReturnType<typeof inspectObject>;
  try {
    r = inspectObject(bytes);
  } catch (e) {
    return [`inspectObject threw: ${(e as Error).stack ?? String(e)}`];
  }
  if (Either.isLeft(r)) return r.left._tag === "MalformedObject" || r.left._tag === "UnsupportedObject" ? [] : [`unexpected error tag ${r.left._tag}`];
  try {
    return renderersLaw(r.right).filter((x) => !x.startsWith("perfMap gives"));
  } catch (e) {
    return [`a renderer threw: ${(e as Error).stack ?? String(e)}`];
  }
};

// ---------------------------------------------------------------- runners

const assertLaw = <A>(arb: fc.Arbitrary<A>, law: (a: A) => string[], numRuns: number) =>
  fc.assert(
    fc.property(arb, (a) => {
      const bad = law(a);
      if (bad.length > 0) throw new Error(bad.slice(0, 8).join("\n"));
    }),
    { numRuns },
  );

describe("inspect reads back what encode wrote", () => {
  for (const t of TARGETS)
    it(`${t.triple}: names, offsets, sizes, calls, veneers and unwind programs`, () => {
      assertLaw(arbInspectModule({ targets: [t.triple] }), readBack, 100);
    });

  it("aarch64 calls across 128 MiB of padding: veneers found and followed", () => {
    assertLaw(arbInspectModule({ targets: ["aarch64-unknown-linux-gnu", "aarch64-apple-darwin", "aarch64-pc-windows-msvc"], far: true, maxFunctions: 4 }), readBack, 3);
  });
});

describe("the read-back law itself", () => {
  it("notices a description that lost a call, moved a function or changed an unwind code", () => {
    const m = fc.sample(
      arbInspectModule({ targets: ["x86_64-pc-windows-msvc"] }).filter((m) => m.header.symbols && m.items.some((i) => i.type === "function" && i.relocations.length > 0 && i.unwind?.kind === "windowsX64" && i.unwind.codes.length > 0)),
      { numRuns: 1, seed: 11 },
    )[0]!;
    const { bytes, plan } = encodeParts(m.header, m.items);
    const d = Either.getOrThrow(inspectObject(bytes));
    expect(readBackLaw(m, plan, d)).toEqual([]);
    const k = d.functions.findIndex((f) => f.calls.length > 0 && f.unwind?.kind === "windowsX64" && f.unwind.codes.length > 0);
    const f = d.functions[k]!;
    const tamper = (g: Partial<FunctionView>): Inspection => ({ ...d, functions: d.functions.map((x, i) => (i === k ? { ...x, ...g } : x)) });
    expect(readBackLaw(m, plan, tamper({ calls: f.calls.slice(1) })).join("\n")).toContain("calls of");
    expect(readBackLaw(m, plan, tamper({ offset: f.offset + 1 })).join("\n")).toContain("functions");
    const u = f.unwind as Extract<FunctionView["unwind"], { kind: "windowsX64" }>;
    expect(readBackLaw(m, plan, tamper({ unwind: { ...u, codes: u.codes.slice(1) } })).join("\n")).toContain("UNWIND_INFO");
  });
});

describe("inspect on damaged objects", () => {
  it("returns a value or a typed error, never throws", () => {
    const objects = fc.sample(arbInspectModule({ maxFunctions: 4 }), { numRuns: 40, seed: 7 }).map((m) => ({ bytes: encodeParts(m.header, m.items).bytes, le: byteOrder(m.header.target) === "little" }));
    assertLaw(
      fc.tuple(fc.constantFrom(...objects), fc.nat()).chain(([o]) => fc.array(arbMutation(o.bytes.length), { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce((b, m) => mutate(b, m, o.le), o.bytes))),
      damagedLaw,
      3000,
    );
  });

  it("refuses the shared gcc objects and objects that are no ELF at all with a typed error", () => {
    for (const b of [new Uint8Array(0), new Uint8Array(64), Uint8Array.from([0x7f, 0x45, 0x4c, 0x46])]) expect(Either.isLeft(inspectObject(b))).toBe(true);
  });
});
