/**
 * Laws of calls, islands and veneers, per architecture (fast-check, modules
 * from laws/arbitraries.ts with `forceVeneers` drawn):
 *
 * - decode: every call, direct or through a veneer, decodes (laws/decode/,
 *   one small decoder per ISA) to its target's start; a call goes through a
 *   veneer exactly when the plan says so, and every veneer lands on its target;
 * - reach: no patch is left beyond the reach of its use;
 * - veneers: none outside aarch64; under `forceVeneers` every aarch64 call has
 *   its own; otherwise a call that reaches its target gets one only when the
 *   target was not placed yet and the chunk placed after the island could
 *   have carried the site past its reach;
 * - placement: functions on their alignment and in item order, functions,
 *   paddings and veneers never overlap and lie inside `.text`, which is padded
 *   to the text alignment; elsewhere than aarch64 the layout (and whether a
 *   call is out of range) equals a model of a few lines.
 *
 * The plan laws run on the plan (`finish`) and a sparse image of the text,
 * so 128 MiB and 2 GiB layouts cost nothing; the bytes laws render objects
 * (small modules, and a few ~128 MiB aarch64 ones) and decode `.text`.
 */
import { isDeepStrictEqual } from "node:util";
import { Either } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeModule, foldItems } from "../src/encode.js";
import type { ObjfoldError } from "../src/errors.js";
import { finish } from "../src/layout/fold.js";
import type { TextPlan } from "../src/layout/plan.js";
import type { FunctionItem } from "../src/schema/records.js";
import { readElf } from "../test/support/elf.js";
import { arbCallModule, arbFarAarch64, FACTS, type LawArch, type LawModule } from "./arbitraries.js";
import { decodeVeneer } from "./decode/aarch64.js";
import { bytesReader, decodeCallPath, type Reader } from "./decode/index.js";
import { planImage } from "./image.js";

const MAX_TEXT = 0xffffffff;
const VENEER_REACH = { maxPos: 0x7fffffff, maxNeg: 0x80000000 };
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
const fnItems = (m: LawModule): FunctionItem[] => m.items.filter((i): i is FunctionItem => i.type === "function");

// ------------------------------------------------------------------ laws (pure predicates: a list of violations)

/** Every call lands on its target's start, through a veneer exactly when the plan routes it through one. */
export const decodeLaw = (arch: LawArch, plan: TextPlan, read: Reader): string[] => {
  const bad: string[] = [];
  const starts = new Set(plan.functions.map((f) => f.offset));
  for (const c of plan.calls) {
    const want = plan.functions[c.target]!.offset;
    const path = decodeCallPath(arch, read, c.at, (a) => starts.has(a));
    if (typeof path === "string") bad.push(`call at ${c.at}: ${path}`);
    else {
      if (path.final !== want) bad.push(`call at ${c.at} lands on ${path.final}, not ${want}`);
      if (path.viaVeneer !== (c.veneer !== undefined) || (c.veneer !== undefined && path.first !== c.veneer))
        bad.push(`call at ${c.at} jumps to ${path.first}, the plan says veneer ${c.veneer}`);
    }
  }
  if (arch === "aarch64")
    for (const i of plan.islands)
      for (const v of i.veneers) {
        const want = plan.functions[v.target]!.offset;
        const d = decodeVeneer(read, v.offset);
        if ("error" in d) bad.push(`veneer at ${v.offset}: ${d.error}`);
        else if (d.target !== want) bad.push(`veneer at ${v.offset} lands on ${d.target}, not ${want}`);
      }
  return bad;
};

/** No patch is left beyond the reach of its use (the call's, or a veneer slot's). */
export const reachLaw = (arch: LawArch, plan: TextPlan): string[] => {
  const bad: string[] = [];
  for (const p of plan.patches) {
    const reach = p.use.name === "PCRel32" && arch === "aarch64" ? VENEER_REACH : FACTS[arch].reach;
    const d = p.label - p.at;
    if (d > reach.maxPos || -d > reach.maxNeg) bad.push(`${p.use.name} at ${p.at} patched for Δ ${d}`);
  }
  return bad;
};

/** Veneers only on aarch64; one per call under force; otherwise only where a streaming layout needs one. */
export const veneerLaw = (m: LawModule, plan: TextPlan): string[] => {
  const bad: string[] = [];
  const veneers = plan.islands.flatMap((i) => i.veneers.map((v) => ({ ...v, island: i })));
  if (m.arch !== "aarch64") return veneers.length === 0 ? [] : [`${veneers.length} veneers on ${m.arch}`];
  const { maxPos, maxNeg } = FACTS.aarch64.reach;
  const chunks = [
    ...plan.functions.map((f) => ({ offset: f.offset, end: f.offset + f.fn.body.length, fn: f.index as number | undefined })),
    ...plan.paddings.filter((p) => p.size > 0).map((p) => ({ offset: p.offset, end: p.offset + p.size, fn: undefined })),
  ].sort((a, b) => a.offset - b.offset);
  const slack = 20 * 3 * plan.calls.length;
  for (const c of plan.calls) {
    if (m.header.forceVeneers) {
      if (c.veneer === undefined) bad.push(`forced, but the call at ${c.at} has no veneer`);
      continue;
    }
    if (c.veneer === undefined) continue;
    const target = plan.functions[c.target]!.offset;
    const d = target - c.at;
    if (d > maxPos || -d > maxNeg) continue; // the direct call cannot reach: justified
    const v = veneers.find((x) => x.offset === c.veneer)!;
    if (target < v.offset) {
      bad.push(`call at ${c.at} reaches its placed target ${target} (Δ ${d}) but goes through veneer ${v.offset}`);
      continue;
    }
    // Justified only if the chunk placed after the island could have carried the site out of
    // reach (counting the worst-case island), and, when that chunk is the target itself, if
    // even its start could have (the fold knows where the next function starts, up to the island).
    const next = chunks.find((x) => x.offset >= v.island.end);
    const carried = next !== undefined && next.end + slack > c.at + maxPos && (next.fn !== c.target || next.offset + slack > c.at + maxPos);
    if (!carried) bad.push(`call at ${c.at} (Δ ${d}) took veneer ${v.offset} though the next chunk ${JSON.stringify(next)} could not carry it out of reach`);
  }
  const used = new Set(plan.calls.map((c) => c.veneer).filter((v) => v !== undefined));
  if (used.size !== plan.calls.filter((c) => c.veneer !== undefined).length) bad.push("two calls share a veneer");
  return bad;
};

const view = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** The plan rebuilds function items from its columns: equal to the module's (the unwind record the same object), never the same object. */
const sameFunction = (a: FunctionItem, b: FunctionItem | undefined): boolean =>
  b !== undefined &&
  a.name === b.name &&
  a.alignment === b.alignment &&
  a.unwind === b.unwind &&
  (a.body === b.body || view(a.body).equals(view(b.body))) &&
  isDeepStrictEqual(a.relocations, b.relocations);

/** Placement: alignment, item order, no overlap, inside `.text`, `.text` padded to the text alignment. */
export const placementLaw = (m: LawModule, plan: TextPlan): string[] => {
  const bad: string[] = [];
  const fns = fnItems(m);
  if (plan.functions.length !== fns.length) bad.push(`${plan.functions.length} functions placed of ${fns.length}`);
  plan.functions.forEach((f, k) => {
    if (!sameFunction(f.fn, fns[k])) bad.push(`function ${k} is not the ${k}-th function item`);
    if (f.offset % f.fn.alignment !== 0) bad.push(`${f.fn.name} at ${f.offset} is not ${f.fn.alignment}-aligned`);
  });
  const byItem = [...plan.functions.map((f) => ({ item: f.item, offset: f.offset })), ...plan.paddings.map((p) => ({ item: p.item, offset: p.offset }))].sort((a, b) => a.item - b.item);
  for (let k = 1; k < byItem.length; k++) if (byItem[k]!.offset < byItem[k - 1]!.offset) bad.push(`item ${byItem[k]!.item} placed before item ${byItem[k - 1]!.item}`);
  const spans = [
    ...plan.functions.map((f) => ({ what: f.fn.name, start: f.offset, end: f.offset + f.fn.body.length })),
    ...plan.paddings.map((p) => ({ what: `padding ${p.item}`, start: p.offset, end: p.offset + p.size })),
    ...plan.islands.flatMap((i) => i.veneers.map((v) => ({ what: `veneer ${v.offset}`, start: v.offset, end: v.offset + v.size }))),
  ]
    .filter((s) => s.end > s.start)
    .sort((a, b) => a.start - b.start);
  for (let k = 1; k < spans.length; k++) if (spans[k]!.start < spans[k - 1]!.end) bad.push(`${spans[k]!.what} overlaps ${spans[k - 1]!.what}`);
  const last = spans[spans.length - 1];
  if (last !== undefined && last.end > plan.textLength) bad.push(`${last.what} ends after the text (${plan.textLength})`);
  for (const i of plan.islands) {
    for (const v of i.veneers) if (v.offset % 4 !== 0 || v.offset < i.offset || v.offset + v.size > i.end) bad.push(`veneer ${v.offset} misplaced in island ${i.offset}..${i.end}`);
  }
  if (plan.textSize % m.textAlign !== 0 || plan.textSize < plan.textLength || plan.textSize - plan.textLength >= m.textAlign)
    bad.push(`text ${plan.textLength} padded to ${plan.textSize}, alignment ${m.textAlign}`);
  return bad;
};

/**
 * Without veneers (every architecture but aarch64) the layout is a few lines:
 * padding appends, a function starts on its alignment. The encoder must agree,
 * and refuse exactly the modules with a call out of reach (the first one, in
 * call order) or a text past 4 GiB − 1.
 */
export const modelLaw = (m: LawModule, result: Either.Either<TextPlan, ObjfoldError>): string[] => {
  const { reach } = FACTS[m.arch];
  let cur = 0;
  let tooLarge = false;
  const at = new Map<string, number>();
  const sites: Array<{ fn: string; offset: number; site: number; target: string }> = [];
  for (const i of m.items) {
    if (i.type === "padding") cur += i.size;
    else {
      const o = alignUp(cur, i.alignment);
      at.set(i.name, o);
      for (const r of i.relocations) if ("target" in r) sites.push({ fn: i.name, offset: r.offset, site: o + r.offset, target: r.target });
      cur = o + i.body.length;
    }
    if (cur > MAX_TEXT) tooLarge = true;
  }
  const out = sites.find((s) => {
    const d = at.get(s.target)! - s.site;
    return d > reach.maxPos || -d > reach.maxNeg;
  });
  const want: string = tooLarge ? "TextTooLarge" : out !== undefined ? "CallOutOfRange" : alignUp(cur, m.textAlign) > MAX_TEXT ? "TextTooLarge" : "ok";
  const got = Either.isRight(result) ? "ok" : result.left._tag;
  if (got !== want) return [`model says ${want}, encoder ${got}${Either.isLeft(result) ? ` ${JSON.stringify(result.left)}` : ""}`];
  if (Either.isLeft(result)) {
    const e = result.left;
    if (e._tag === "CallOutOfRange" && out !== undefined && (e.function !== out.fn || e.offset !== out.offset || e.distance !== at.get(out.target)! - out.site))
      return [`refused ${e.function}+${e.offset} (${e.distance}), the first call out of reach is ${out.fn}+${out.offset}`];
    return [];
  }
  const plan = result.right;
  const bad = plan.functions.filter((f) => f.offset !== at.get(f.fn.name)).map((f) => `${f.fn.name} at ${f.offset}, model ${at.get(f.fn.name)}`);
  if (plan.textLength !== cur) bad.push(`text length ${plan.textLength}, model ${cur}`);
  return bad;
};

// ------------------------------------------------------------------ runners

const ARCHES: ReadonlyArray<LawArch> = ["x86_64", "aarch64", "riscv64", "s390x"];
const check = (bad: string[]): void => {
  if (bad.length > 0) throw new Error(bad.slice(0, 5).join("\n"));
};

describe("call laws on the plan (paddings near the reach limits, forceVeneers drawn)", () => {
  for (const arch of ARCHES) {
    it(`${arch}: decode, reach, veneers, placement`, () => {
      // What the runs covered, so a weakened arbitrary cannot make the laws pass vacuously.
      const seen = { planned: 0, refused: 0, farText: 0, unforcedVeneers: 0, forcedVeneers: 0 };
      fc.assert(
        fc.property(arbCallModule(arch, { far: true }), (m) => {
          const result = finish(foldItems(m.header, m.items));
          if (arch !== "aarch64") check(modelLaw(m, result));
          if (Either.isLeft(result)) {
            // aarch64 modules here stay far below 2 GiB, where a veneer can always help.
            if (arch === "aarch64") throw new Error(`refused: ${JSON.stringify(result.left)}`);
            seen.refused++;
            return;
          }
          seen.planned++;
          const plan = result.right;
          if (plan.textLength > 64 * 1024 * 1024) seen.farText++;
          const veneers = plan.calls.filter((c) => c.veneer !== undefined).length;
          if (m.header.forceVeneers) seen.forcedVeneers += veneers;
          else seen.unforcedVeneers += veneers;
          check(placementLaw(m, plan));
          check(reachLaw(arch, plan));
          check(veneerLaw(m, plan));
          check(decodeLaw(arch, plan, planImage(plan)));
        }),
        { numRuns: 300 },
      );
      expect(seen.planned).toBeGreaterThan(100);
      expect(seen.farText).toBeGreaterThan(30);
      if (arch === "aarch64") {
        expect(seen.unforcedVeneers).toBeGreaterThan(10);
        expect(seen.forcedVeneers).toBeGreaterThan(10);
      } else expect(seen.refused).toBeGreaterThan(5);
    });
  }

  it("aarch64: far modules take veneers, and under force every call has one", () => {
    let veneered = 0;
    fc.assert(
      fc.property(arbFarAarch64(), (m) => {
        const plan = Either.getOrThrowWith(finish(foldItems(m.header, m.items)), (e) => new Error(JSON.stringify(e)));
        check(placementLaw(m, plan));
        check(reachLaw("aarch64", plan));
        check(veneerLaw(m, plan));
        check(decodeLaw("aarch64", plan, planImage(plan)));
        if (plan.calls.some((c) => c.veneer !== undefined)) veneered++;
      }),
      { numRuns: 100 },
    );
    expect(veneered).toBeGreaterThan(50);
  });
});

describe("call laws on the object's bytes", () => {
  const textOf = (bytes: Uint8Array): Reader => {
    const t = readElf(bytes).section(".text");
    return bytesReader(bytes, t.offset, t.size);
  };
  const onBytes = (m: LawModule): void => {
    const plan = Either.getOrThrowWith(finish(foldItems(m.header, m.items)), (e) => new Error(JSON.stringify(e)));
    const bytes = Either.getOrThrowWith(encodeModule({ header: m.header, items: m.items }), (e) => new Error(JSON.stringify(e)));
    check(decodeLaw(m.arch, plan, textOf(bytes)));
    check(placementLaw(m, plan));
  };

  for (const arch of ARCHES) {
    it(`${arch}: small modules, forceVeneers drawn`, () => {
      fc.assert(fc.property(arbCallModule(arch, { far: false }), onBytes), { numRuns: 100 });
    });
  }

  it("aarch64: ~128 MiB modules with veneers both ways (a few)", () => {
    // Cheap despite the size: the padding is never touched, so its pages are never materialized.
    fc.assert(fc.property(arbFarAarch64(), onBytes), { numRuns: 8 });
  });
});
