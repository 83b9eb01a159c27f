/**
 * Arbitrary modules for the call laws: per architecture, functions whose
 * bodies hold real call instructions (x86_64 `call rel32`, aarch64 `bl`,
 * riscv64 `auipc ra,0; jalr ra,0(ra)`, s390x `brasl %r14,0`) calling any
 * function of the module (forward, backward, themselves), with alignments up
 * to the target's text alignment, padding items between them (mostly small,
 * some near the reach limit of the architecture's call so that calls land on
 * both sides of it, on aarch64 enough to need veneers), and `forceVeneers`
 * drawn.
 *
 * The facts below (ranges, minimum alignments, sites) are transcribed from
 * reference.md §5.4 and records.md, not imported from the encoder, so the
 * laws hold the encoder to the spec.
 *
 * For now here; the public `objfold/arbitrary` module may take them over.
 */
import fc from "fast-check";
import type { Header, Item } from "../src/schema/records.js";

export type LawArch = "x86_64" | "aarch64" | "riscv64" | "s390x";

export interface Reach {
  /** Largest forward Δ = target − site, and largest backward |Δ|. */
  readonly maxPos: number;
  readonly maxNeg: number;
}

export interface ArchFacts {
  readonly arch: LawArch;
  readonly triples: ReadonlyArray<{ readonly triple: string; readonly textAlign: number }>;
  /** The direct call's reach (reference §5.4). */
  readonly reach: Reach;
  /** Bytes per call slot in a generated body; a call instruction starts a slot. */
  readonly slot: number;
  /** Where the relocation site lies inside the call instruction. */
  readonly siteInInsn: number;
  readonly kinds: ReadonlyArray<string>;
  readonly addend: number;
  /** Smallest function alignment the generated bodies need (call sites on their boundary). */
  readonly minAlign: number;
  /** Write a call instruction (site field zero) at `at`. */
  readonly call: (b: Uint8Array, at: number) => void;
  /** The filler byte pattern (a no-op of the ISA), repeated. */
  readonly filler: ReadonlyArray<number>;
  /** Padding sizes that put calls across them near the reach limit. */
  readonly farPaddings: ReadonlyArray<number>;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const le32 = (b: Uint8Array, at: number, w: number): void => {
  for (let i = 0; i < 4; i++) b[at + i] = (w >>> (8 * i)) & 0xff;
};

export const FACTS: Record<LawArch, ArchFacts> = {
  x86_64: {
    arch: "x86_64",
    triples: [
      { triple: "x86_64-unknown-linux-gnu", textAlign: 0x1000 },
      { triple: "x86_64-apple-darwin", textAlign: 0x1000 },
    ],
    // Cranelift's JmpRel32 says 0x8000_0000 back, but the rel32 holds Δ − 4 (it counts from
    // the end of the instruction), so −2^31 + 4 is as far back as an i32 displacement goes.
    reach: { maxPos: 0x7fffffff, maxNeg: 0x80000000 - 4 },
    slot: 8,
    siteInInsn: 1,
    kinds: ["X86CallPCRel4"],
    addend: -4,
    minAlign: 1,
    call: (b, at) => b.set([0xe8, 0, 0, 0, 0], at),
    filler: [0x90],
    farPaddings: [2 * GiB],
  },
  aarch64: {
    arch: "aarch64",
    triples: [
      { triple: "aarch64-unknown-linux-gnu", textAlign: 0x10000 },
      { triple: "aarch64-apple-darwin", textAlign: 0x4000 },
    ],
    reach: { maxPos: 2 ** 27 - 1, maxNeg: 2 ** 27 },
    slot: 4,
    siteInInsn: 0,
    kinds: ["Arm64Call"],
    addend: 0,
    minAlign: 4,
    call: (b, at) => le32(b, at, 0x94000000),
    filler: [0x1f, 0x20, 0x03, 0xd5],
    farPaddings: [128 * MiB, 64 * MiB, 128 * MiB - 4096],
  },
  riscv64: {
    arch: "riscv64",
    triples: [{ triple: "riscv64gc-unknown-linux-gnu", textAlign: 0x1000 }],
    reach: { maxPos: 0x7ffff7ff, maxNeg: 0x80000800 },
    slot: 8,
    siteInInsn: 0,
    kinds: ["RiscvCallPlt"],
    addend: 0,
    minAlign: 2,
    call: (b, at) => {
      le32(b, at, 0x00000097); // auipc ra, 0
      le32(b, at + 4, 0x000080e7); // jalr ra, 0(ra)
    },
    filler: [0x13, 0x00, 0x00, 0x00],
    farPaddings: [2 * GiB],
  },
  s390x: {
    arch: "s390x",
    triples: [{ triple: "s390x-unknown-linux-gnu", textAlign: 0x1000 }],
    reach: { maxPos: 0xfffffffc, maxNeg: 0xffffffff },
    slot: 6,
    siteInInsn: 2,
    kinds: ["S390xPLTRel32Dbl", "S390xPCRel32Dbl"],
    addend: 2,
    minAlign: 2,
    call: (b, at) => b.set([0xc0, 0xe5, 0, 0, 0, 0], at), // brasl %r14, 0
    filler: [0x07, 0x00],
    // s390x reaches ±4 GiB, as far as the text goes: near 4 GiB the text limit is what refuses.
    farPaddings: [2 * GiB, 4 * GiB - 8192],
  },
};

/** A generated module, with what the laws need to know about how it was made. */
export interface LawModule {
  readonly arch: LawArch;
  readonly textAlign: number;
  readonly header: Header;
  readonly items: ReadonlyArray<Item>;
}

interface FnSpec {
  readonly slots: number;
  readonly tail: number;
  /** Zero bytes in the body before (negative) or after (positive) the call slots: big bodies on aarch64. */
  readonly bulk: number;
  readonly alignLog: number;
  readonly calls: ReadonlyArray<{ readonly slot: number; readonly target: number; readonly kind: number }>;
}

const arbBulk = (f: ArchFacts, far: boolean): fc.Arbitrary<number> =>
  !far || f.arch !== "aarch64"
    ? fc.constant(0)
    : fc.oneof(
        { weight: 12, arbitrary: fc.constant(0) },
        {
          weight: 1,
          arbitrary: fc.tuple(fc.constantFrom(32 * MiB, 100 * MiB, 127 * MiB), fc.integer({ min: -64, max: 64 }), fc.boolean()).map(([b, d, before]) => (before ? -1 : 1) * (b + 4 * d)),
        },
      );

const arbFn = (f: ArchFacts, n: number, maxAlignLog: number, far = false): fc.Arbitrary<FnSpec> =>
  fc.record({
    slots: fc.integer({ min: 1, max: 10 }),
    tail: fc.integer({ min: 0, max: 3 }),
    bulk: arbBulk(f, far),
    alignLog: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: Math.log2(f.minAlign), max: 6 }) },
      { weight: 1, arbitrary: fc.integer({ min: Math.log2(f.minAlign), max: maxAlignLog }) },
    ),
    calls: fc.array(fc.record({ slot: fc.nat({ max: 9 }), target: fc.nat({ max: n - 1 }), kind: fc.nat({ max: f.kinds.length - 1 }) }), { maxLength: 4 }),
  });

/**
 * Padding before a function: none, a few bytes, or (when `far`) one of the
 * architecture's far sizes plus or minus a little, so calls across it land
 * just inside or just outside the reach.
 */
const arbPadding = (f: ArchFacts, far: boolean): fc.Arbitrary<number> => {
  const near = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 300 }) });
  if (!far) return near;
  return fc.oneof(
    { weight: 5, arbitrary: near },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...f.farPaddings), fc.integer({ min: -512, max: 512 })).map(([p, d]) => p + d) },
  );
};

/** Build the module from the drawn shape. */
const build = (f: ArchFacts, triple: { triple: string; textAlign: number }, force: boolean, fns: ReadonlyArray<FnSpec>, pads: ReadonlyArray<number>): LawModule => {
  // Only aarch64 keeps several far paddings: elsewhere one far padding is enough to reach the limit, and more would pass 4 GiB.
  let farSeen = false;
  const items: Item[] = [];
  fns.forEach((s, i) => {
    let p = pads[i] ?? 0;
    if (p > 1 * MiB && f.arch !== "aarch64") {
      if (farSeen) p = p % 4096;
      farSeen = true;
    }
    if (p > 0 || i % 2 === 1) items.push({ type: "padding", size: p });
    // The bulk is left zero (never touched, so never materialized); only the slots are written.
    const code = s.slots * f.slot + s.tail * f.filler.length;
    const base = s.bulk < 0 ? -s.bulk : 0;
    const body = new Uint8Array(code + Math.abs(s.bulk));
    for (let k = 0; k < code; k++) body[base + k] = f.filler[k % f.filler.length]!;
    const seen = new Set<number>();
    const relocations = [];
    for (const c of s.calls) {
      const slot = c.slot % s.slots;
      if (seen.has(slot)) continue;
      seen.add(slot);
      f.call(body, base + slot * f.slot);
      relocations.push({ offset: base + slot * f.slot + f.siteInInsn, kind: f.kinds[c.kind] as "Arm64Call", target: `fn${c.target}`, addend: f.addend });
    }
    items.push({ type: "function", name: `fn${i}`, body, alignment: Math.min(2 ** s.alignLog, triple.textAlign), relocations });
  });
  return { arch: f.arch, textAlign: triple.textAlign, header: { format: "objfold/v1", target: triple.triple, forceVeneers: force, symbols: true }, items };
};

/**
 * A module for `arch`. `far`: paddings near the reach limit are drawn (plan
 * laws; the text can be GiBs, never materialize it). Otherwise every padding
 * is small and the object can be written.
 */
export const arbCallModule = (arch: LawArch, opts: { readonly far: boolean; readonly maxFunctions?: number }): fc.Arbitrary<LawModule> => {
  const f = FACTS[arch];
  return fc.integer({ min: 1, max: opts.maxFunctions ?? 6 }).chain((n) =>
    fc
      .record({
        triple: fc.constantFrom(...f.triples),
        force: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        fns: fc.array(arbFn(f, n, opts.far ? 16 : 12, opts.far), { minLength: n, maxLength: n }),
        pads: fc.array(arbPadding(f, opts.far), { minLength: n, maxLength: n }),
      })
      .map(({ triple, force, fns, pads }) => build(f, triple, force, fns, pads)),
  );
};

/**
 * aarch64 modules that need veneers both ways, small enough to write: f0 and
 * f1 call each other across one padding of 128 MiB ± a little (so the text
 * is ~128 MiB), more small functions around them.
 */
export const arbFarAarch64 = (): fc.Arbitrary<LawModule> =>
  fc
    .record({
      extra: fc.integer({ min: 0, max: 2 }),
      delta: fc.integer({ min: -64, max: 64 }),
      force: fc.boolean(),
      fns: fc.array(arbFn(FACTS.aarch64, 4, 6), { minLength: 4, maxLength: 4 }),
    })
    .map(({ extra, delta, force, fns }) => {
      const f = FACTS.aarch64;
      const t = f.triples[0]!;
      const specs = fns.slice(0, 2 + extra).map((s, i) => ({ ...s, calls: [{ slot: 0, target: i === 0 ? 1 : 0, kind: 0 }, ...s.calls.filter((c) => c.target < 2 + extra)] }));
      const pads = specs.map((_, i) => (i === 1 ? 128 * MiB + delta : 0));
      return build(f, t, force, specs, pads);
    });
