/**
 * Modules for the inspect laws, every target of `TARGETS`: bodies built only
 * from the architecture's no-op and real call instructions (so the call scan
 * of `objfold inspect` has nothing to mistake for a call), calls to any
 * function (before, after, itself), padding items, `forceVeneers`, `symbols`
 * and `wasmtime` drawn, and unwind records of the target's kind: SystemV
 * programs (`arbSystemVUnwind` of `objfold/arbitrary`), Windows x64 and
 * ARM64 codes within what the formats hold (docs/windows-unwind.md).
 *
 * `src/arbitrary.ts`'s `arbModule` fills bodies with random bytes, which can
 * hold accidental call patterns, and gives Windows targets no unwind codes;
 * hence these. Headers, targets and SystemV programs are reused from it.
 */
import { FastCheck as fc } from "effect";
import { arbHeader, arbSystemVUnwind, type ArchName, TARGETS, type TargetFacts } from "../../src/arbitrary.js";
import type { FunctionItem, Item, Module, Relocation, WinArm64Code, WindowsArm64Unwind, WindowsX64Unwind, WinX64Code } from "../../src/schema/records.js";

const le32 = (w: number): number[] => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff];

interface CallShape {
  readonly kind: Relocation["kind"];
  readonly addend: number;
  readonly bytes: ReadonlyArray<number>;
  readonly siteAt: number;
}

interface Shapes {
  /** One no-op instruction. */
  readonly nop: ReadonlyArray<number>;
  readonly calls: ReadonlyArray<CallShape>;
  /** Smallest alignment that keeps call sites on their boundary. */
  readonly minAlign: number;
}

/** Encodings from the ISA manuals: `nop` (x86 90, aarch64 D503201F, riscv addi x0,x0,0, s390x bcr 0,0), calls as the compilers leave them. */
const SHAPES: { readonly [A in ArchName]: Shapes } = {
  x86_64: {
    nop: [0x90],
    calls: [
      { kind: "X86CallPCRel4", addend: -4, bytes: [0xe8, 0, 0, 0, 0], siteAt: 1 },
      { kind: "X86CallPCRel4", addend: -4, bytes: [0xe9, 0, 0, 0, 0], siteAt: 1 },
    ],
    minAlign: 1,
  },
  aarch64: {
    nop: le32(0xd503201f),
    calls: [
      { kind: "Arm64Call", addend: 0, bytes: le32(0x94000000), siteAt: 0 },
      { kind: "Arm64Call", addend: 0, bytes: le32(0x14000000), siteAt: 0 },
    ],
    minAlign: 4,
  },
  riscv64: {
    nop: le32(0x00000013),
    calls: [
      { kind: "RiscvCallPlt", addend: 0, bytes: [...le32(0x00000097), ...le32(0x000080e7)], siteAt: 0 }, // auipc ra,0; jalr ra,0(ra)
      { kind: "RiscvCallPlt", addend: 0, bytes: [...le32(0x00000317), ...le32(0x00030067)], siteAt: 0 }, // auipc t1,0; jalr x0,0(t1): tail
    ],
    minAlign: 2,
  },
  s390x: {
    nop: [0x07, 0x00],
    calls: [
      { kind: "S390xPLTRel32Dbl", addend: 2, bytes: [0xc0, 0xe5, 0, 0, 0, 0], siteAt: 2 }, // brasl %r14
      { kind: "S390xPCRel32Dbl", addend: 2, bytes: [0xc0, 0xf4, 0, 0, 0, 0], siteAt: 2 }, // brcl 15 (jg)
    ],
    minAlign: 2,
  },
  // Pulley: 0x00 filler; `call` is opcode 0x01 with its field pre-filled with 1 (the field's offset in the instruction).
  pulley: { nop: [0x00], calls: [{ kind: "PulleyPcRel", addend: 0, bytes: [0x01, 1, 0, 0, 0], siteAt: 1 }], minAlign: 1 },
};

type Segment = { readonly _tag: "nops"; readonly n: number } | { readonly _tag: "call"; readonly call: number; readonly target: number } | { readonly _tag: "host"; readonly id: number };

const build = (arch: ArchName, segments: ReadonlyArray<Segment>, names: ReadonlyArray<string>): { body: Uint8Array; relocations: Relocation[] } => {
  const s = SHAPES[arch];
  const bytes: number[] = [];
  const relocations: Relocation[] = [];
  for (const seg of segments) {
    if (seg._tag === "nops") for (let k = 0; k < seg.n; k++) bytes.push(...s.nop);
    else if (seg._tag === "call") {
      const c = s.calls[seg.call % s.calls.length]!;
      relocations.push({ offset: bytes.length + c.siteAt, kind: c.kind, target: names[seg.target % names.length]!, addend: c.addend } as Relocation);
      bytes.push(...c.bytes);
    } else {
      // call_indirect_host: an extended-op byte, a u16 opcode, the host-call number (written by the encoder).
      relocations.push({ offset: bytes.length, kind: "PulleyCallIndirectHost", hostCall: seg.id, addend: 0 });
      bytes.push(0xff, 0, 0, 0);
    }
  }
  if (bytes.length === 0) bytes.push(...s.nop); // every body has bytes: functions never share an offset
  return { body: Uint8Array.from(bytes), relocations };
};

const arbSegments = (arch: ArchName, n: number): fc.Arbitrary<Segment[]> => {
  const kinds: Array<fc.Arbitrary<Segment>> = [
    fc.integer({ min: 1, max: 6 }).map((k): Segment => ({ _tag: "nops", n: k })),
    fc.record({ call: fc.nat({ max: 1 }), target: fc.nat({ max: n - 1 }) }).map(({ call, target }): Segment => ({ _tag: "call", call, target })),
  ];
  // Host-call number 1 would read as Pulley's `call` opcode, a pattern the scan cannot tell apart: left out.
  if (arch === "pulley") kinds.push(fc.integer({ min: 0, max: 255 }).filter((id) => id !== 1).map((id): Segment => ({ _tag: "host", id })));
  return fc.array(fc.oneof(...kinds), { maxLength: 8 });
};

const arbAlignment = (t: TargetFacts): fc.Arbitrary<number> => {
  const min = SHAPES[t.arch].minAlign;
  const small: number[] = [];
  for (let a = min; a <= Math.min(t.textAlign, 64); a *= 2) small.push(a);
  return small.length === 0 ? fc.constant(t.textAlign) : fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...small) }, { weight: 1, arbitrary: fc.constant(t.textAlign) });
};

// ---------------------------------------------------------------- Windows codes

const mult = (step: number, min: number, max: number): fc.Arbitrary<number> => fc.integer({ min: Math.ceil(min / step), max: Math.floor(max / step) }).map((k) => k * step);

type X64Untimed = WinX64Code extends infer C ? (C extends { at: number } ? Omit<C, "at"> : never) : never;

const arbX64Code = (withFp: boolean): fc.Arbitrary<X64Untimed> =>
  fc.oneof(
    fc.record({ op: fc.constant("pushRegister" as const), register: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ op: fc.constant("saveReg" as const), register: fc.integer({ min: 0, max: 15 }), stackOffset: fc.oneof(mult(8, 0, 0x7fff8), mult(8, 0x80000, 0xfffffff8)) }),
    fc.record({ op: fc.constant("saveXmm" as const), register: fc.integer({ min: 0, max: 15 }), stackOffset: fc.oneof(mult(16, 0, 0xffff0), mult(16, 0x100000, 0xfffffff0)) }),
    fc.record({ op: fc.constant("stackAlloc" as const), size: fc.oneof(mult(8, 8, 128), mult(8, 136, 0x7fff8), mult(8, 0x80000, 0xfffffff8)) }),
    ...(withFp ? [fc.constant({ op: "setFpRegister" as const })] : []),
  );

/** A valid `windowsX64` record: codes in prologue order, `at` non-decreasing and within the prologue. */
export const arbWindowsX64 = (): fc.Arbitrary<WindowsX64Unwind> =>
  fc.option(fc.integer({ min: 1, max: 15 }), { nil: null }).chain((frameRegister) =>
    fc
      .record({
        prologueSize: fc.integer({ min: 0, max: 255 }),
        frameRegisterOffset: frameRegister === null ? fc.constant(0) : mult(16, 0, 240),
        codes: fc.array(fc.tuple(arbX64Code(frameRegister !== null), fc.nat()), { maxLength: 12 }),
      })
      .map(({ prologueSize, frameRegisterOffset, codes }) => {
        const ats = codes.map(([, r]) => r % (prologueSize + 1)).sort((a, b) => a - b);
        return {
          kind: "windowsX64" as const,
          flags: 0,
          prologueSize,
          frameRegister,
          frameRegisterOffset,
          codes: codes.map(([c], i) => ({ ...c, at: ats[i]! }) as WinX64Code),
        };
      }),
  );

const arbArm64Code: fc.Arbitrary<WinArm64Code> = fc.oneof(
  fc.boolean().chain((isPair) =>
    fc.record({ op: fc.constant("saveReg" as const), register: fc.integer({ min: 19, max: isPair ? 29 : 30 }), stackOffset: mult(8, 8, isPair ? 512 : 256), isPair: fc.constant(isPair) }),
  ),
  fc.boolean().chain((isPair) =>
    fc.record({ op: fc.constant("saveFReg" as const), register: fc.integer({ min: 8, max: isPair ? 14 : 15 }), stackOffset: mult(8, 8, isPair ? 512 : 256), isPair: fc.constant(isPair) }),
  ),
  fc.record({ op: fc.constant("saveFpLrPair" as const), stackOffset: fc.oneof(fc.constant(0), mult(8, 8, 512)) }),
  fc.record({ op: fc.constant("allocS" as const), size: mult(16, 0, 496) }),
  fc.record({ op: fc.constant("allocM" as const), size: mult(16, 0, 32752) }),
  fc.record({ op: fc.constant("allocL" as const), size: mult(16, 0, 0xffffff0) }),
  fc.constant({ op: "pacSignLr" as const }),
  fc.constant({ op: "setFp" as const }),
  fc.record({ op: fc.constant("addFp" as const), offset: mult(8, 0, 2040) }),
);

/** A valid `windowsArm64` record (up to 40 codes: past 31 code words the extended header is used). */
export const arbWindowsArm64 = (): fc.Arbitrary<WindowsArm64Unwind> =>
  fc
    .oneof({ weight: 5, arbitrary: fc.array(arbArm64Code, { maxLength: 10 }) }, { weight: 1, arbitrary: fc.array(arbArm64Code, { minLength: 40, maxLength: 80 }) })
    .map((codes) => ({ kind: "windowsArm64" as const, codes }));

// ---------------------------------------------------------------- modules

const arbUnwind = (t: TargetFacts, length: number, withUnwind: number): fc.Arbitrary<FunctionItem["unwind"]> => {
  const u: fc.Arbitrary<FunctionItem["unwind"]> =
    t.unwind === "systemv" ? arbSystemVUnwind(t.arch, length, 10) : t.unwind === "windowsX64" ? arbWindowsX64() : t.unwind === "windowsArm64" ? arbWindowsArm64() : fc.constant(undefined);
  return fc.oneof({ weight: withUnwind, arbitrary: u }, { weight: 1, arbitrary: fc.constant(undefined) });
};

const NAMES = [(i: number) => `_wasm_function_${i}`, (i: number) => `_trampoline_${i}`, (i: number) => `fn_é_${i}`, (i: number) => `関数_${i}_😀`, (i: number) => `odd name\t${i}`] as const;

export interface InspectModuleOptions {
  readonly targets?: ReadonlyArray<string>;
  readonly maxFunctions?: number;
  /** aarch64 only: one padding of 128 MiB ± a little, so that calls across it need veneers (each object is ~128 MiB). */
  readonly far?: boolean;
}

/** Modules of every target (or `targets`), whose objects the inspect law reads back. */
export const arbInspectModule = (opts: InspectModuleOptions = {}): fc.Arbitrary<Module> => {
  const targets = TARGETS.filter((t) => opts.targets === undefined || opts.targets.includes(t.triple));
  return fc.constantFrom(...targets).chain((t) =>
    fc.integer({ min: opts.far === true ? 2 : 1, max: opts.maxFunctions ?? 6 }).chain((n) =>
      fc
        .tuple(
          arbHeader(t.triple),
          fc.array(fc.tuple(arbSegments(t.arch, n), arbAlignment(t), fc.nat({ max: NAMES.length - 1 })), { minLength: n, maxLength: n }),
          fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 300 }) }), { minLength: n + 1, maxLength: n + 1 }),
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: -64, max: 64 }),
        )
        .chain(([header, shapes, pads, withUnwind, farDelta]) => {
          const names = shapes.map(([, , style], i) => NAMES[style]!(i));
          const built = shapes.map(([segs, alignment], i) => ({ ...build(t.arch, segs, names), alignment, name: names[i]! }));
          return fc.tuple(...built.map((b) => arbUnwind(t, b.body.length, withUnwind))).map((unwinds) => {
            const items: Item[] = [];
            built.forEach((b, i) => {
              const pad = opts.far === true && i === 1 ? 0x8000000 + 4 * farDelta : pads[i]!;
              if (pad > 0) items.push({ type: "padding", size: pad });
              const u = unwinds[i];
              items.push({ type: "function", name: b.name, body: b.body, alignment: b.alignment, relocations: b.relocations, ...(u === undefined ? {} : { unwind: u }) });
            });
            if (pads[n]! > 0) items.push({ type: "padding", size: pads[n]! });
            return { header, items };
          });
        }),
    ),
  );
};
