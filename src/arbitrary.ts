/**
 * objfold/arbitrary: fast-check arbitraries of modules, for property tests
 * of objfold and of the tools that feed it.
 *
 * - Raw shapes come straight from the Effect schema (`Arbitrary.make` of its
 *   encoded side): JSON-like values of the right structure with any field
 *   values, for laws such as "decoding never throws".
 * - Valid modules are built by hand on top, per target, with bodies that hold
 *   real call sites (x86_64 `call rel32`, aarch64 `bl`, riscv64
 *   `auipc ra,0; jalr ra`, s390x `brasl %r14,0`, Pulley's 4-byte field),
 *   calls forward, backward and to the caller itself, padding items, and
 *   SystemV unwind programs using every instruction with offsets that factor.
 *   `arbFarModule` adds aarch64 calls across ~128 MiB of padding, around the
 *   reach limit of `bl`, so that some need veneers. (The other architectures
 *   reach ±2 GiB or more: a valid module near those limits would be a 2 GiB
 *   object, so only the invalid side, calls just beyond them, is drawn.)
 * - Invalid modules come with the error `_tag` (and item) encoding must give.
 *
 * The target facts below are transcribed from records.md, not taken from the
 * encoder, so that laws check the encoder against the format.
 *
 * fast-check is the copy Effect depends on (`FastCheck` from "effect"), so
 * these arbitraries mix with `Arbitrary.make` and with fast-check 3 runners.
 *
 * @example
 * import { FastCheck as fc } from "effect";
 * import { arbModule } from "objfold/arbitrary";
 * fc.assert(fc.property(arbModule(), (m) => E.isRight(encode(m))));
 */
import { Arbitrary, FastCheck as fc, Schema as S } from "effect";
import type { ObjfoldErrorTag } from "./errors.js";
import {
  CallRelocationKind,
  CfaInstruction,
  type CfaOp,
  FORMAT,
  type FunctionItem,
  Header,
  type Item,
  Item as ItemSchema,
  Module,
  type Relocation,
  type SystemVUnwind,
  type Unwind,
} from "./schema/records.js";

// ------------------------------------------------------------------ targets (records.md, "Targets")

export type ArchName = "x86_64" | "aarch64" | "riscv64" | "s390x" | "pulley";
export type UnwindKind = "systemv" | "windowsX64" | "windowsArm64" | "none";

/** What records.md says about a target triple. */
export interface TargetFacts {
  readonly triple: string;
  readonly arch: ArchName;
  readonly textAlign: number;
  readonly unwind: UnwindKind;
}

/** Every triple records.md names, with its facts. */
export const TARGETS: ReadonlyArray<TargetFacts> = [
  { triple: "x86_64-unknown-linux-gnu", arch: "x86_64", textAlign: 0x1000, unwind: "systemv" },
  { triple: "x86_64-apple-darwin", arch: "x86_64", textAlign: 0x1000, unwind: "systemv" },
  { triple: "x86_64-pc-windows-msvc", arch: "x86_64", textAlign: 0x1000, unwind: "windowsX64" },
  { triple: "aarch64-unknown-linux-gnu", arch: "aarch64", textAlign: 0x10000, unwind: "systemv" },
  { triple: "aarch64-apple-darwin", arch: "aarch64", textAlign: 0x4000, unwind: "systemv" },
  { triple: "aarch64-pc-windows-msvc", arch: "aarch64", textAlign: 0x1000, unwind: "windowsArm64" },
  { triple: "riscv64gc-unknown-linux-gnu", arch: "riscv64", textAlign: 0x1000, unwind: "systemv" },
  { triple: "s390x-unknown-linux-gnu", arch: "s390x", textAlign: 0x1000, unwind: "systemv" },
  { triple: "pulley32", arch: "pulley", textAlign: 1, unwind: "none" },
  { triple: "pulley64", arch: "pulley", textAlign: 1, unwind: "none" },
  { triple: "pulley32be", arch: "pulley", textAlign: 1, unwind: "none" },
  { triple: "pulley64be", arch: "pulley", textAlign: 1, unwind: "none" },
];

const factsOf = (triple: string): TargetFacts => {
  const t = TARGETS.find((x) => x.triple === triple);
  if (t === undefined) throw new Error(`objfold/arbitrary: no facts for target ${JSON.stringify(triple)}; use one of TARGETS`);
  return t;
};

// ------------------------------------------------------------------ architectures

/** A call instruction as the compiler emits it, before the relocation is applied. */
interface CallShape {
  readonly kind: Relocation["kind"];
  readonly addend: number;
  /** The instruction bytes (the site holds what Cranelift leaves there). */
  readonly bytes: ReadonlyArray<number>;
  /** Where the relocation's site starts inside the instruction. */
  readonly siteAt: number;
  /** Bytes the site covers. */
  readonly siteSize: number;
}

interface ArchFacts {
  /** Instruction granule: filler and call sites keep offsets a multiple of it. */
  readonly granule: number;
  /** Smallest function alignment that keeps call sites and targets on the label use's boundary. */
  readonly minAlign: number;
  /** The boundary call sites and call targets must be on (LabelUse::ALIGN). */
  readonly siteAlign: number;
  /** The CIE's code alignment factor (SystemV); the data alignment factor is -8 everywhere. */
  readonly caf: number;
  readonly calls: ReadonlyArray<CallShape>;
  /** Largest forward and backward reach of a direct call, and whether a veneer can extend it. */
  readonly maxPos: number;
  readonly maxNeg: number;
}

const le32 = (w: number): number[] => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff];

/** Any opcode byte before Pulley's field: the encoder reads only the field (pre-filled with 1, its offset in the instruction). */
const PULLEY_OPCODE = 0x01;
/** Pulley's `call_indirect_host`: extended-op byte, u16 LE opcode, host-call number (reference §6); opcode values are placeholders. */
const PULLEY_HOST_CALL = [0xff, 0x00, 0x00, 0x00] as const;

const ARCH: { readonly [A in ArchName]: ArchFacts } = {
  x86_64: {
    granule: 1,
    minAlign: 1,
    siteAlign: 1,
    caf: 1,
    calls: [
      { kind: "X86CallPCRel4", addend: -4, bytes: [0xe8, 0, 0, 0, 0], siteAt: 1, siteSize: 4 }, // call rel32
      { kind: "X86CallPCRel4", addend: -4, bytes: [0xe9, 0, 0, 0, 0], siteAt: 1, siteSize: 4 }, // jmp rel32 (tail call)
    ],
    maxPos: 0x7fffffff,
    // rel32 counts from the end of the 4-byte field: Δ − 4 must stay ≥ −2^31.
    maxNeg: 0x80000000 - 4,
  },
  aarch64: {
    granule: 4,
    minAlign: 4,
    siteAlign: 4,
    caf: 4,
    calls: [
      { kind: "Arm64Call", addend: 0, bytes: le32(0x94000000), siteAt: 0, siteSize: 4 }, // bl
      { kind: "Arm64Call", addend: 0, bytes: le32(0x14000000), siteAt: 0, siteSize: 4 }, // b (tail call)
    ],
    maxPos: 0x7ffffff,
    maxNeg: 0x8000000,
  },
  riscv64: {
    granule: 2,
    minAlign: 2,
    siteAlign: 2,
    caf: 2,
    calls: [{ kind: "RiscvCallPlt", addend: 0, bytes: [...le32(0x00000097), ...le32(0x000080e7)], siteAt: 0, siteSize: 8 }], // auipc ra,0; jalr ra
    maxPos: 0x7ffff7ff,
    maxNeg: 0x80000800,
  },
  s390x: {
    granule: 2,
    minAlign: 2,
    siteAlign: 2,
    caf: 1,
    calls: [
      { kind: "S390xPLTRel32Dbl", addend: 2, bytes: [0xc0, 0xe5, 0, 0, 0, 0], siteAt: 2, siteSize: 4 }, // brasl %r14,0
      { kind: "S390xPCRel32Dbl", addend: 2, bytes: [0xc0, 0xe5, 0, 0, 0, 0], siteAt: 2, siteSize: 4 },
    ],
    maxPos: 0xfffffffc,
    maxNeg: 0xffffffff,
  },
  pulley: {
    granule: 1,
    minAlign: 1,
    siteAlign: 1,
    caf: 1,
    calls: [{ kind: "PulleyPcRel", addend: 0, bytes: [PULLEY_OPCODE, 1, 0, 0, 0], siteAt: 1, siteSize: 4 }],
    maxPos: 0x7fffffff,
    maxNeg: 0x80000000,
  },
};

/** The relocation kinds the schema knows, and those of each architecture. */
const ALL_KINDS: ReadonlyArray<Relocation["kind"]> = [...CallRelocationKind.literals, "PulleyCallIndirectHost"];
const kindsOf = (arch: ArchName): ReadonlyArray<Relocation["kind"]> =>
  arch === "pulley" ? ["PulleyPcRel", "PulleyCallIndirectHost"] : ARCH[arch].calls.map((c) => c.kind);

// ------------------------------------------------------------------ raw shapes from the schema

/**
 * JSON-like values of the module's encoded shape with any field values
 * (`Arbitrary.make(Schema.encodedSchema(Module))`): most do not decode.
 */
export const arbModuleJson: fc.Arbitrary<S.Schema.Encoded<typeof Module>> = Arbitrary.make(S.encodedSchema(Module));
/** Values of a header line's encoded shape with any field values. */
export const arbHeaderJson: fc.Arbitrary<S.Schema.Encoded<typeof Header>> = Arbitrary.make(S.encodedSchema(Header));
/** Values of an item line's encoded shape with any field values. */
export const arbItemJson: fc.Arbitrary<S.Schema.Encoded<typeof ItemSchema>> = Arbitrary.make(S.encodedSchema(ItemSchema));

// ------------------------------------------------------------------ building blocks

const concat = (parts: ReadonlyArray<ArrayLike<number>>): Uint8Array => {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const powersOfTwo = (lo: number, hi: number): number[] => {
  const out: number[] = [];
  for (let a = lo; a <= hi; a *= 2) out.push(a);
  return out;
};

/** Function alignments: small ones mostly, the target's text alignment sometimes. */
const arbAlignment = (t: TargetFacts): fc.Arbitrary<number> => {
  const { minAlign } = ARCH[t.arch];
  const small = powersOfTwo(minAlign, Math.min(t.textAlign, 64));
  if (small.length === 0) return fc.constant(t.textAlign);
  return fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...small) }, { weight: 1, arbitrary: fc.constant(t.textAlign) });
};

/** Bytes between call sites: a multiple of the granule. */
const arbFiller = (arch: ArchName, max = 24): fc.Arbitrary<Uint8Array> => {
  const g = ARCH[arch].granule;
  return fc.uint8Array({ minLength: 0, maxLength: max }).map((b) => b.slice(0, b.length - (b.length % g)));
};

/** Function names in the styles the seed uses, and some that are not ASCII. */
const NAME_STYLES = [(i: number) => `_wasm_function_${i}`, (i: number) => `_trampoline_${i}`, (i: number) => `fn_é_${i}`, (i: number) => `関数_${i}_😀`] as const;
const arbNames = (n: number, unicode: boolean): fc.Arbitrary<string[]> =>
  fc.array(fc.integer({ min: 0, max: unicode ? NAME_STYLES.length - 1 : 1 }), { minLength: n, maxLength: n }).map((styles) => styles.map((s, i) => NAME_STYLES[s]!(i)));

type Segment =
  | { readonly _tag: "fill"; readonly bytes: Uint8Array }
  | { readonly _tag: "call"; readonly call: CallShape; readonly target: string }
  | { readonly _tag: "host"; readonly hostCall: number };

/** Lay segments out into a body and its relocations. */
const assemble = (segments: ReadonlyArray<Segment>): { body: Uint8Array; relocations: Relocation[] } => {
  const parts: ArrayLike<number>[] = [];
  const relocations: Relocation[] = [];
  let at = 0;
  for (const s of segments) {
    if (s._tag === "fill") {
      parts.push(s.bytes);
      at += s.bytes.length;
    } else if (s._tag === "call") {
      const c = s.call;
      relocations.push(
        c.kind === "PulleyCallIndirectHost"
          ? { offset: at, kind: c.kind, hostCall: 0, addend: 0 }
          : { offset: at + c.siteAt, kind: c.kind, target: s.target, addend: c.addend },
      );
      parts.push(c.bytes);
      at += c.bytes.length;
    } else {
      relocations.push({ offset: at, kind: "PulleyCallIndirectHost", hostCall: s.hostCall, addend: 0 });
      parts.push(PULLEY_HOST_CALL);
      at += PULLEY_HOST_CALL.length;
    }
  }
  return { body: concat(parts), relocations };
};

const arbSegments = (t: TargetFacts, names: ReadonlyArray<string>, maxSegments: number): fc.Arbitrary<Segment[]> => {
  const arch = ARCH[t.arch];
  const fill: fc.Arbitrary<Segment> = arbFiller(t.arch).map((bytes) => ({ _tag: "fill", bytes }));
  const kinds: Array<fc.Arbitrary<Segment>> = [fill];
  if (names.length > 0)
    kinds.push(fc.record({ call: fc.constantFrom(...arch.calls), target: fc.constantFrom(...names) }).map(({ call, target }) => ({ _tag: "call", call, target })));
  if (t.arch === "pulley") kinds.push(fc.integer({ min: 0, max: 255 }).map((hostCall) => ({ _tag: "host", hostCall })));
  return fc.array(fc.oneof(...kinds), { maxLength: maxSegments });
};

// ------------------------------------------------------------------ SystemV unwind

const arbRegister = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 32 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) });
/** Offsets that the data alignment factor (-8) divides, within an i32. */
const arbFactoredOffset = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -64, max: 64 }).map((k) => k * 8) },
  { weight: 1, arbitrary: fc.integer({ min: -0x10000000, max: 0x0fffffff }).map((k) => k * 8) },
);
/** CFA offsets: gimli factors only negative ones. */
const arbCfaOffset = fc.oneof(arbFactoredOffset, fc.integer({ min: 0, max: 0x7fffffff }));

type Untimed<T> = T extends unknown ? Omit<T, "at"> : never;
type CfaBody = Untimed<CfaInstruction>;

/** One generator per SystemV op: the Record type makes the list exhaustive. */
const CFA_OPS: { readonly [K in CfaOp]: fc.Arbitrary<Extract<CfaBody, { op: K }>> } = {
  cfa: fc.record({ op: fc.constant("cfa"), register: arbRegister, offset: arbCfaOffset }),
  cfaRegister: fc.record({ op: fc.constant("cfaRegister"), register: arbRegister }),
  cfaOffset: fc.record({ op: fc.constant("cfaOffset"), offset: arbCfaOffset }),
  restore: fc.record({ op: fc.constant("restore"), register: arbRegister }),
  undefined: fc.record({ op: fc.constant("undefined"), register: arbRegister }),
  sameValue: fc.record({ op: fc.constant("sameValue"), register: arbRegister }),
  offset: fc.record({ op: fc.constant("offset"), register: arbRegister, offset: arbFactoredOffset }),
  valOffset: fc.record({ op: fc.constant("valOffset"), register: arbRegister, offset: arbFactoredOffset }),
  register: fc.record({ op: fc.constant("register"), register: arbRegister, fromRegister: arbRegister }),
  rememberState: fc.record({ op: fc.constant("rememberState") }),
  restoreState: fc.record({ op: fc.constant("restoreState") }),
  argsSize: fc.record({ op: fc.constant("argsSize"), size: fc.integer({ min: 0, max: 0xffffffff }) }),
  aarch64SetPointerAuth: fc.record({ op: fc.constant("aarch64SetPointerAuth"), returnAddresses: fc.boolean() }),
};

/** The ops the schema defines, in its order (so a new op fails to compile above until it gets a generator). */
export const CFA_OP_NAMES: ReadonlyArray<CfaOp> = CfaInstruction.members.map((m) => m.fields.op.literals[0]);

/** The ops that make sense on an architecture (RA_SIGN_STATE is aarch64's). */
export const cfaOpsOf = (arch: ArchName): ReadonlyArray<CfaOp> => CFA_OP_NAMES.filter((op) => op !== "aarch64SetPointerAuth" || arch === "aarch64");

/** One SystemV instruction of `op` at offset 0 (callers place it). */
export const arbCfaInstruction = (op: CfaOp): fc.Arbitrary<CfaBody> => CFA_OPS[op] as fc.Arbitrary<CfaBody>;

/**
 * A valid SystemV program for a function of `length` bytes: instructions in
 * non-decreasing `at` order, each `at` a multiple of the code alignment
 * factor and at most `length`, offsets that factor by -8.
 */
export const arbSystemVUnwind = (arch: ArchName, length: number, maxInstructions = 8): fc.Arbitrary<SystemVUnwind> => {
  const caf = ARCH[arch].caf;
  const slots = Math.floor(length / caf);
  const ops = cfaOpsOf(arch);
  const one = fc.tuple(
    fc.constantFrom(...ops).chain((op) => arbCfaInstruction(op)),
    fc.integer({ min: 0, max: slots }),
  );
  return fc.array(one, { maxLength: maxInstructions }).map((xs) => ({
    kind: "systemv" as const,
    length,
    instructions: xs
      .map(([ins, k]) => ({ ...ins, at: k * caf }) as CfaInstruction)
      .sort((a, b) => a.at - b.at),
  }));
};

// ------------------------------------------------------------------ valid modules

export interface ModuleOptions {
  /** One triple of `TARGETS`, or leave it to the arbitrary. */
  readonly target?: string;
  /** Draw targets from these triples (default: all of `TARGETS`). */
  readonly targets?: ReadonlyArray<string>;
  /** At most this many functions (default 5). */
  readonly maxFunctions?: number;
  /** Use names outside ASCII too (default true): exercises UTF-8 in text chunking. */
  readonly unicodeNames?: boolean;
  /** Force `forceVeneers` to this value (default: drawn). */
  readonly forceVeneers?: boolean;
}

const arbTargetFacts = (opts: ModuleOptions): fc.Arbitrary<TargetFacts> =>
  opts.target !== undefined ? fc.constant(factsOf(opts.target)) : fc.constantFrom(...(opts.targets ?? TARGETS.map((t) => t.triple)).map(factsOf));

/** A header for the target, with `forceVeneers`, `symbols` and `wasmtime` drawn. */
export const arbHeader = (target: string, opts: { readonly forceVeneers?: boolean } = {}): fc.Arbitrary<Header> =>
  fc
    .record({
      forceVeneers: opts.forceVeneers === undefined ? fc.boolean() : fc.constant(opts.forceVeneers),
      symbols: fc.boolean(),
      wasmtime: fc.constantFrom(undefined, "module" as const, "component" as const),
    })
    .map(({ forceVeneers, symbols, wasmtime }) =>
      wasmtime === undefined ? { format: FORMAT, target, forceVeneers, symbols } : { format: FORMAT, target, forceVeneers, symbols, wasmtime },
    );

const arbFunction = (t: TargetFacts, name: string, names: ReadonlyArray<string>, withUnwind: boolean, maxSegments = 6): fc.Arbitrary<FunctionItem> =>
  fc.tuple(arbAlignment(t), arbSegments(t, names, maxSegments)).chain(([alignment, segments]) => {
    const { body, relocations } = assemble(segments);
    const base: FunctionItem = { type: "function", name, body, alignment, relocations };
    if (!withUnwind || t.unwind !== "systemv") return fc.constant(base);
    return fc.option(arbSystemVUnwind(t.arch, body.length), { nil: undefined }).map((unwind) => (unwind === undefined ? base : { ...base, unwind }));
  });

const arbPaddingSize = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 65, max: 5000 }) });

/**
 * Interleave functions with optional padding items: `pads[i]` goes before
 * function `i`, `pads[n]` after the last.
 */
const interleave = (fns: ReadonlyArray<Item>, pads: ReadonlyArray<number | undefined>): Item[] => {
  const items: Item[] = [];
  for (let i = 0; i <= fns.length; i++) {
    const p = pads[i];
    if (p !== undefined) items.push({ type: "padding", size: p });
    const f = fns[i];
    if (f !== undefined) items.push(f);
  }
  return items;
};

/**
 * Valid modules: every target of `TARGETS` (or `opts.target`), 0 to
 * `maxFunctions` functions whose bodies hold real call sites to any function
 * of the module (before, after, or itself), padding items between them, and
 * SystemV unwind programs on SystemV targets. Functions of Windows targets
 * carry no unwind info (valid everywhere): arbitraries of Windows unwind
 * codes are to come with the encoder's Windows tables.
 */
export const arbModule = (opts: ModuleOptions = {}): fc.Arbitrary<Module> =>
  arbTargetFacts(opts).chain((t) =>
    fc.integer({ min: 0, max: opts.maxFunctions ?? 5 }).chain((n) =>
      arbNames(n, opts.unicodeNames ?? true).chain((names) =>
        fc
          .tuple(
            arbHeader(t.triple, opts.forceVeneers === undefined ? {} : { forceVeneers: opts.forceVeneers }),
            fc.tuple(...names.map((name) => arbFunction(t, name, names, t.unwind === "systemv"))),
            fc.array(fc.option(arbPaddingSize, { nil: undefined, freq: 3 }), { minLength: n + 1, maxLength: n + 1 }),
          )
          .map(([header, fns, pads]) => ({ header, items: interleave(fns, pads) })),
      ),
    ),
  );

/** Padding that brings a call right up to aarch64's `bl` reach (±128 MiB), either side. */
const FAR = 0x8000000;

/**
 * aarch64 modules with calls across ~128 MiB of padding, forward and
 * backward, within a few hundred bytes of the reach of `bl`: some reach
 * directly, some need a veneer (and `forceVeneers` is drawn too). Each
 * object is ~128 MiB: run few of these.
 */
export const arbFarModule = (opts: { readonly target?: string; readonly forceVeneers?: boolean } = {}): fc.Arbitrary<Module> => {
  const triples = TARGETS.filter((t) => t.arch === "aarch64").map((t) => t.triple);
  return arbTargetFacts(opts.target === undefined ? { targets: triples } : { target: opts.target }).chain((t) => {
    const names = ["near_0", "far_1", "far_2"];
    const call = ARCH.aarch64.calls[0]!;
    const fn = (name: string, targets: ReadonlyArray<string>) =>
      fc
        .tuple(fc.constantFrom(4, 8, 16), fc.array(arbFiller("aarch64", 8), { minLength: targets.length + 1, maxLength: targets.length + 1 }))
        .chain(([alignment, fills]) => {
          const segs: Segment[] = [];
          targets.forEach((target, i) => segs.push({ _tag: "fill", bytes: fills[i]! }, { _tag: "call", call, target }));
          segs.push({ _tag: "fill", bytes: fills[targets.length]! });
          const { body, relocations } = assemble(segs);
          const f: FunctionItem = { type: "function", name, body, alignment, relocations };
          return t.unwind === "systemv" ? fc.option(arbSystemVUnwind("aarch64", body.length, 3), { nil: undefined }).map((unwind) => (unwind === undefined ? f : { ...f, unwind })) : fc.constant(f);
        });
    return fc
      .tuple(
        arbHeader(t.triple, opts.forceVeneers === undefined ? {} : { forceVeneers: opts.forceVeneers }),
        fn(names[0]!, [names[1]!, names[2]!, names[0]!]),
        fn(names[1]!, [names[0]!, names[1]!]),
        fn(names[2]!, [names[0]!, names[1]!]),
        fc.integer({ min: -64, max: 64 }).map((d) => FAR + 4 * d),
        fc.option(arbPaddingSize, { nil: undefined }),
      )
      .map(([header, f0, f1, f2, gap, small]) => ({
        header,
        items: [f0, { type: "padding", size: gap }, f1, ...(small === undefined ? [] : [{ type: "padding", size: small } as Item]), f2],
      }));
  });
};

// ------------------------------------------------------------------ invalid modules

/** The kinds of defect `arbInvalidModule` plants, one per module. */
export type Defect =
  | "unknownTarget"
  | "duplicateName"
  | "alignmentTooLarge"
  | "kindOfOtherArch"
  | "wrongAddend"
  | "siteOutsideBody"
  | "unknownCallTarget"
  | "misalignedSite"
  | "misalignedTarget"
  | "callOutOfRange"
  | "unwindKindMismatch"
  | "unwindOutOfOrder"
  | "unwindBeyondLength"
  | "offsetNotFactored"
  | "atNotFactored"
  | "textTooLarge";

/** A module with one defect, and the error encoding it must give. */
export interface InvalidModule {
  readonly module: Module;
  readonly defect: Defect;
  readonly tag: ObjfoldErrorTag;
  /** The item index the error must name, for errors that name one. */
  readonly item: number | undefined;
}

/** The error tag each defect gives. */
export const DEFECT_TAG: { readonly [D in Defect]: ObjfoldErrorTag } = {
  unknownTarget: "UnsupportedTarget",
  duplicateName: "DuplicateName",
  alignmentTooLarge: "AlignmentTooLarge",
  kindOfOtherArch: "RelocationKindNotForTarget",
  wrongAddend: "RelocationAddend",
  siteOutsideBody: "SiteOutsideBody",
  unknownCallTarget: "UnknownCallTarget",
  misalignedSite: "MisalignedCallSite",
  misalignedTarget: "MisalignedCallSite",
  callOutOfRange: "CallOutOfRange",
  unwindKindMismatch: "UnwindKindNotForTarget",
  unwindOutOfOrder: "UnwindOutOfOrder",
  unwindBeyondLength: "UnwindBeyondLength",
  offsetNotFactored: "UnwindNotFactored",
  atNotFactored: "UnwindNotFactored",
  textTooLarge: "TextTooLarge",
};

/** Whether a defect can be planted in a module for target `t`. */
export const defectApplies = (d: Defect, t: TargetFacts): boolean => {
  const arch = ARCH[t.arch];
  switch (d) {
    case "wrongAddend":
      return t.arch !== "riscv64"; // riscv64 accepts any addend (Cranelift ignores it)
    case "misalignedSite":
    case "misalignedTarget":
      return arch.siteAlign > 1;
    case "callOutOfRange":
      return arch.maxPos < 0x80000000 + 0x1000; // beyond ±2 GiB fits a u32 text; s390x reaches ±4 GiB
    case "unwindOutOfOrder":
    case "unwindBeyondLength":
    case "offsetNotFactored":
      return t.unwind === "systemv";
    case "atNotFactored":
      return t.unwind === "systemv" && arch.caf > 1;
    default:
      return true;
  }
};

/** Where the defect's items go: anywhere among the base items, or at one end (when layout matters). */
interface Planted {
  readonly items: ReadonlyArray<Item>;
  /** Index, within `items`, of the item the error names. */
  readonly errorAt: number | undefined;
  readonly place: "anywhere" | "start" | "end";
  readonly target?: string;
}

const BOGUS_TARGETS = ["mips-unknown-linux-gnu", "riscv64gc-pc-windows-msvc", "s390x-pc-windows-msvc", "x86_64", "", "pulley16", "wasm32-unknown-unknown"];

/** A plain, valid function of `t` with a body of `words` granules of filler, to carry a defect. */
const carrier = (t: TargetFacts, name: string, alignment = ARCH[t.arch].minAlign): fc.Arbitrary<FunctionItem> =>
  fc.integer({ min: 4, max: 12 }).chain((words) =>
    fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }).map((body) => ({ type: "function" as const, name, body, alignment, relocations: [] })),
  );

/** A call relocation of this architecture in a body: the instruction bytes appended to `f`, the relocation pointing at them. */
const withCall = (f: FunctionItem, call: CallShape, target: string, over: Partial<{ offsetShift: number; addend: number; kind: Relocation["kind"] }> = {}): FunctionItem => {
  const at = f.body.length;
  const body = concat([f.body, call.bytes]);
  const kind = over.kind ?? call.kind;
  const offset = at + call.siteAt + (over.offsetShift ?? 0);
  const addend = over.addend ?? call.addend;
  const r: Relocation = kind === "PulleyCallIndirectHost" ? { offset, kind, hostCall: 0, addend } : { offset, kind, target, addend };
  return { ...f, body, relocations: [...f.relocations, r] };
};

const plant = (d: Defect, t: TargetFacts): fc.Arbitrary<Planted> => {
  const arch = ARCH[t.arch];
  const call = fc.constantFrom(...arch.calls);
  switch (d) {
    case "unknownTarget":
      return fc
        .oneof(fc.constantFrom(...BOGUS_TARGETS), fc.string({ maxLength: 12 }).map((s) => `bogus-${s}`))
        .map((target) => ({ items: [], errorAt: undefined, place: "anywhere", target }));
    case "duplicateName":
      return fc.tuple(carrier(t, "defect_dup"), carrier(t, "defect_dup"), fc.option(arbPaddingSize, { nil: undefined })).map(([a, b, p]) => ({
        items: p === undefined ? [a, b] : [a, { type: "padding", size: p }, b],
        errorAt: p === undefined ? 1 : 2,
        place: "anywhere",
      }));
    case "alignmentTooLarge":
      return carrier(t, "defect_align", t.textAlign * 2).map((f) => ({ items: [f], errorAt: 0, place: "anywhere" }));
    case "kindOfOtherArch": {
      const own = kindsOf(t.arch);
      const foreign = ALL_KINDS.filter((k) => !own.includes(k));
      return fc.tuple(carrier(t, "defect_kind"), call, fc.constantFrom(...foreign)).map(([f, c, kind]) => ({
        items: [withCall(f, c, "defect_kind", { kind })],
        errorAt: 0,
        place: "anywhere",
      }));
    }
    case "wrongAddend":
      return fc
        .tuple(carrier(t, "defect_addend"), call, fc.integer({ min: -8, max: 8 }))
        .filter(([, c, a]) => a !== c.addend)
        .map(([f, c, addend]) => ({ items: [withCall(f, c, "defect_addend", { addend })], errorAt: 0, place: "anywhere" }));
    case "siteOutsideBody":
      return fc.tuple(carrier(t, "defect_site"), call, fc.integer({ min: 1, max: 16 })).map(([f, c, beyond]) => {
        // The relocation's site ends `beyond` bytes past the end of the body.
        const g = withCall(f, c, "defect_site");
        const r = g.relocations[0]!;
        const offset = g.body.length - c.siteSize + beyond;
        return { items: [{ ...g, relocations: [{ ...r, offset }] }], errorAt: 0, place: "anywhere" };
      });
    case "unknownCallTarget":
      return fc.tuple(carrier(t, "defect_target"), call).map(([f, c]) => ({ items: [withCall(f, c, "no_such_function")], errorAt: 0, place: "anywhere" }));
    case "misalignedSite":
      return fc.tuple(carrier(t, "defect_misaligned"), call, fc.integer({ min: 1, max: arch.siteAlign - 1 })).map(([f, c, shift]) => {
        // Insert `shift` filler bytes before the instruction: the site leaves its boundary.
        const g: FunctionItem = { ...f, body: concat([f.body, new Uint8Array(shift)]) };
        return { items: [withCall(g, c, "defect_misaligned")], errorAt: 0, place: "anywhere" };
      });
    case "misalignedTarget":
      // At the start of the text: the caller at 0, then 1 byte of padding, then a target with alignment 1.
      return fc.tuple(carrier(t, "defect_caller"), call, carrier(t, "defect_callee", 1)).map(([f, c, callee]) => ({
        items: [withCall(f, c, "defect_callee"), { type: "padding", size: 1 }, callee],
        errorAt: 0,
        place: "start",
      }));
    case "callOutOfRange":
      // At the end, so no other call crosses the gap. Beyond ±2 GiB (plus riscv64's lo12 slack) either way.
      return fc.tuple(carrier(t, "defect_caller"), call, carrier(t, "defect_far"), fc.boolean(), fc.integer({ min: 0x1000, max: 0x100000 })).map(([f, c, far, forward, extra]) => {
        const gap: Item = { type: "padding", size: 0x80000000 + extra };
        const caller = withCall(f, c, "defect_far");
        return forward ? { items: [caller, gap, far], errorAt: 0, place: "end" } : { items: [far, gap, caller], errorAt: 2, place: "end" };
      });
    case "unwindKindMismatch":
      return carrier(t, "defect_unwind").map((f) => {
        const unwind: Unwind =
          t.unwind === "systemv"
            ? { kind: "windowsX64", flags: 0, prologueSize: 0, frameRegister: null, frameRegisterOffset: 0, codes: [] }
            : { kind: "systemv", length: f.body.length, instructions: [] };
        return { items: [{ ...f, unwind }], errorAt: 0, place: "anywhere" };
      });
    case "unwindOutOfOrder":
      return carrier(t, "defect_order").map((f) => {
        const c = arch.caf;
        const unwind: SystemVUnwind = { kind: "systemv", length: f.body.length, instructions: [{ at: 2 * c, op: "rememberState" }, { at: c, op: "restoreState" }] };
        return { items: [{ ...f, unwind }], errorAt: 0, place: "anywhere" };
      });
    case "unwindBeyondLength":
      return carrier(t, "defect_beyond").map((f) => {
        const unwind: SystemVUnwind = { kind: "systemv", length: f.body.length, instructions: [{ at: f.body.length + arch.caf, op: "cfaOffset", offset: 16 }] };
        return { items: [{ ...f, unwind }], errorAt: 0, place: "anywhere" };
      });
    case "offsetNotFactored":
      return fc.tuple(carrier(t, "defect_offset"), fc.integer({ min: -64, max: 64 }), fc.integer({ min: 1, max: 7 }), fc.boolean()).map(([f, k, r, cfa]) => {
        const ins: CfaInstruction = cfa ? { at: 0, op: "cfa", register: 7, offset: -(Math.abs(k) * 8 + r) } : { at: 0, op: "offset", register: 6, offset: k * 8 + r };
        return { items: [{ ...f, unwind: { kind: "systemv", length: f.body.length, instructions: [ins] } }], errorAt: 0, place: "anywhere" };
      });
    case "atNotFactored":
      return fc.tuple(carrier(t, "defect_at"), fc.integer({ min: 1, max: arch.caf - 1 })).map(([f, r]) => ({
        items: [{ ...f, unwind: { kind: "systemv", length: f.body.length, instructions: [{ at: arch.caf + r, op: "rememberState" }] } }],
        errorAt: 0,
        place: "anywhere",
      }));
    case "textTooLarge":
      return fc.integer({ min: 1, max: 0x1000 }).map((extra) => ({
        items: [{ type: "padding", size: 0x80000000 }, { type: "padding", size: 0x80000000 + extra }],
        errorAt: undefined,
        place: "end",
      }));
  }
};

export interface InvalidOptions extends Omit<ModuleOptions, "forceVeneers"> {
  /** Plant only these defects (default: all that apply to the target). */
  readonly defects?: ReadonlyArray<Defect>;
}

/**
 * Modules with exactly one defect, planted in an otherwise valid module of
 * the target, paired with the error tag encoding must give and the item
 * index the error must name.
 */
export const arbInvalidModule = (opts: InvalidOptions = {}): fc.Arbitrary<InvalidModule> =>
  arbTargetFacts(opts)
    .chain((t) => {
      const defects = (opts.defects ?? (Object.keys(DEFECT_TAG) as Defect[])).filter((d) => defectApplies(d, t));
      return defects.length === 0 ? fc.constant(undefined) : fc.tuple(fc.constant(t), fc.constantFrom(...defects));
    })
    .filter((x): x is [TargetFacts, Defect] => x !== undefined)
    .chain(([t, defect]) =>
      fc
        .tuple(arbModule({ ...opts, target: t.triple, maxFunctions: Math.min(opts.maxFunctions ?? 3, 3) }), plant(defect, t), fc.nat())
        .map(([base, p, r]): InvalidModule => {
          const at = p.place === "start" ? 0 : p.place === "end" ? base.items.length : r % (base.items.length + 1);
          const items = [...base.items.slice(0, at), ...p.items, ...base.items.slice(at)];
          const header = p.target === undefined ? base.header : { ...base.header, target: p.target };
          return { module: { header, items }, defect, tag: DEFECT_TAG[defect], item: p.errorAt === undefined ? undefined : at + p.errorAt };
        }),
    );

// ------------------------------------------------------------------ damaged text

/** JSON Lines text with some lines damaged, and the (1-based) lines the decoder must report. */
export interface DamagedText {
  readonly text: string;
  readonly badLines: ReadonlyArray<number>;
}

const DAMAGE: ReadonlyArray<(line: string) => string> = [
  (l) => l.slice(0, Math.max(1, l.length >> 1)), // cut short: not JSON
  () => "42",
  () => "null",
  () => "[]",
  () => '"a string"',
  () => '{"type":"bogus"}',
  () => '{"type":"padding","size":-1}',
  () => '{"type":"function","name":"","body":"AAAA","alignment":3}',
  () => '{"type":"function","name":"f","body":"@@@=","alignment":1}',
  (l) => (l.startsWith("{") ? `{"unexpected":true,${l.slice(1)}` : "{"), // excess property
];

/**
 * Valid module text (with blank lines and `\r\n` line ends drawn in), then
 * some lines damaged: each damaged line must give at least one issue with
 * its number, and no other line any.
 */
export const arbDamagedText = (opts: ModuleOptions = {}): fc.Arbitrary<DamagedText> =>
  arbModule({ ...opts, maxFunctions: opts.maxFunctions ?? 3 }).chain((m) => {
    const encodeHeader = S.encodeSync(Header);
    const encodeItem = S.encodeSync(ItemSchema);
    const lines = [JSON.stringify(encodeHeader(m.header)), ...m.items.map((i) => JSON.stringify(encodeItem(i)))];
    return fc
      .tuple(
        fc.array(fc.option(fc.integer({ min: 0, max: DAMAGE.length - 1 }), { nil: undefined, freq: 2 }), { minLength: lines.length, maxLength: lines.length }),
        fc.array(fc.constantFrom("", "  ", "\t", " \r"), { minLength: lines.length, maxLength: lines.length }),
        fc.array(fc.boolean(), { minLength: lines.length, maxLength: lines.length }),
        fc.array(fc.boolean(), { minLength: lines.length, maxLength: lines.length }),
      )
      .filter(([damage]) => damage.some((d) => d !== undefined))
      .map(([damage, blanks, addBlank, crlf]) => {
        const out: string[] = [];
        const badLines: number[] = [];
        lines.forEach((l, i) => {
          if (addBlank[i]) out.push(blanks[i]!);
          const d = damage[i];
          out.push((d === undefined ? l : DAMAGE[d]!(l)) + (crlf[i] ? "\r" : ""));
          if (d !== undefined) badLines.push(out.length);
        });
        return { text: out.join("\n") + "\n", badLines };
      });
  });
