/**
 * The module format of `records.md`, version 1: the one source of truth for
 * the record shapes. Types, decoders, the io-ts codec and the fast-check
 * arbitraries all derive from these schemas.
 */
import { ParseResult, Schema as S } from "effect";
import { base64ToBytes, bytesToBase64 } from "../bytes/base64.js";
import { CALL_RELOCATION_KINDS, HOST_CALL_RELOCATION_KIND, isFunctionName } from "./kinds.js";

const int = (lo: number, hi: number, what: string) =>
  S.Number.pipe(
    S.int({ message: () => `${what} must be an integer` }),
    S.between(lo, hi, { message: () => `${what} must be between ${lo} and ${hi}` }),
  );

export const U8 = int(0, 0xff, "a u8");
export const U16 = int(0, 0xffff, "a u16");
export const U32 = int(0, 0xffffffff, "a u32");
export const I32 = int(-0x80000000, 0x7fffffff, "an i32");
export const SafeInt = S.Number.pipe(S.int({ message: () => "must be an integer" }));
export const NonNegativeSafeInt = SafeInt.pipe(S.nonNegative({ message: () => "must not be negative" }));

const isPowerOfTwo = (n: number): boolean => Number.isSafeInteger(n) && n >= 1 && (n & (n - 1)) === 0 && n <= 0x40000000;

export const Alignment = S.Number.pipe(
  S.filter(isPowerOfTwo, { message: (i) => `alignment must be a power of two from 1 to 2^30, got ${JSON.stringify(i.actual)}` }),
);

/** RFC 4648 base64, padded, in JSON; bytes in memory. */
export const Base64Bytes = S.transformOrFail(S.String, S.Uint8ArrayFromSelf, {
  strict: true,
  decode: (s, _opts, ast) => {
    const bytes = base64ToBytes(s);
    return bytes === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, s, "body must be padded RFC 4648 base64"))
      : ParseResult.succeed(bytes);
  },
  encode: (b) => ParseResult.succeed(bytesToBase64(b)),
});

/** A symbol name (`isFunctionName`). */
export const FunctionName = S.String.pipe(
  S.filter(isFunctionName, {
    message: () => "name must be a non-empty string without NUL or unpaired surrogates",
  }),
);

// ---------------------------------------------------------------- header

export const FORMAT = "objfold/v1" as const;

export const Header = S.Struct({
  format: S.Literal(FORMAT).annotations({ message: (i) => `format must be "objfold/v1", got ${JSON.stringify(i.actual)}` }),
  target: S.String,
  forceVeneers: S.optionalWith(S.Boolean, { default: () => false }),
  symbols: S.optionalWith(S.Boolean, { default: () => true }),
  wasmtime: S.optional(S.Literal("module", "component")),
});
export type Header = S.Schema.Type<typeof Header>;

// ---------------------------------------------------------------- relocations

export const CallRelocationKind = S.Literal(...CALL_RELOCATION_KINDS);
export type CallRelocationKind = S.Schema.Type<typeof CallRelocationKind>;

export const CallRelocation = S.Struct({
  offset: U32,
  kind: CallRelocationKind,
  target: FunctionName,
  addend: S.optionalWith(SafeInt, { default: () => 0 }),
});
export type CallRelocation = S.Schema.Type<typeof CallRelocation>;

export const HostCallRelocation = S.Struct({
  offset: U32,
  kind: S.Literal(HOST_CALL_RELOCATION_KIND),
  hostCall: U8,
  addend: S.optionalWith(SafeInt, { default: () => 0 }),
});
export type HostCallRelocation = S.Schema.Type<typeof HostCallRelocation>;

export const Relocation = S.Union(CallRelocation, HostCallRelocation);
export type Relocation = S.Schema.Type<typeof Relocation>;
export type RelocationKind = Relocation["kind"];

// ---------------------------------------------------------------- SystemV unwind

const reg = { register: U16 } as const;
const at = { at: U32 } as const;
const op = <T extends string>(name: T) => ({ op: S.Literal(name) });

export const CfaInstruction = S.Union(
  S.Struct({ ...at, ...op("cfa"), ...reg, offset: I32 }),
  S.Struct({ ...at, ...op("cfaRegister"), ...reg }),
  S.Struct({ ...at, ...op("cfaOffset"), offset: I32 }),
  S.Struct({ ...at, ...op("restore"), ...reg }),
  S.Struct({ ...at, ...op("undefined"), ...reg }),
  S.Struct({ ...at, ...op("sameValue"), ...reg }),
  S.Struct({ ...at, ...op("offset"), ...reg, offset: I32 }),
  S.Struct({ ...at, ...op("valOffset"), ...reg, offset: I32 }),
  S.Struct({ ...at, ...op("register"), ...reg, fromRegister: U16 }),
  S.Struct({ ...at, ...op("rememberState") }),
  S.Struct({ ...at, ...op("restoreState") }),
  S.Struct({ ...at, ...op("argsSize"), size: U32 }),
  S.Struct({ ...at, ...op("aarch64SetPointerAuth"), returnAddresses: S.Boolean }),
);
export type CfaInstruction = S.Schema.Type<typeof CfaInstruction>;
export type CfaOp = CfaInstruction["op"];

export const SystemVUnwind = S.Struct({
  kind: S.Literal("systemv"),
  length: U32,
  instructions: S.Array(CfaInstruction),
});
export type SystemVUnwind = S.Schema.Type<typeof SystemVUnwind>;

// ---------------------------------------------------------------- Windows x64 unwind

export const WinX64Code = S.Union(
  S.Struct({ op: S.Literal("pushRegister"), at: NonNegativeSafeInt, register: NonNegativeSafeInt }),
  S.Struct({ op: S.Literal("saveReg"), at: NonNegativeSafeInt, register: NonNegativeSafeInt, stackOffset: NonNegativeSafeInt }),
  S.Struct({ op: S.Literal("saveXmm"), at: NonNegativeSafeInt, register: NonNegativeSafeInt, stackOffset: NonNegativeSafeInt }),
  S.Struct({ op: S.Literal("stackAlloc"), at: NonNegativeSafeInt, size: NonNegativeSafeInt }),
  S.Struct({ op: S.Literal("setFpRegister"), at: NonNegativeSafeInt }),
);
export type WinX64Code = S.Schema.Type<typeof WinX64Code>;

export const WindowsX64Unwind = S.Struct({
  kind: S.Literal("windowsX64"),
  flags: S.optionalWith(NonNegativeSafeInt, { default: () => 0 }),
  prologueSize: NonNegativeSafeInt,
  frameRegister: S.NullOr(NonNegativeSafeInt),
  frameRegisterOffset: S.optionalWith(NonNegativeSafeInt, { default: () => 0 }),
  codes: S.Array(WinX64Code),
});
export type WindowsX64Unwind = S.Schema.Type<typeof WindowsX64Unwind>;

// ---------------------------------------------------------------- Windows ARM64 unwind

export const WinArm64Code = S.Union(
  S.Struct({ op: S.Literal("saveReg"), register: NonNegativeSafeInt, stackOffset: NonNegativeSafeInt, isPair: S.Boolean }),
  S.Struct({ op: S.Literal("saveFReg"), register: NonNegativeSafeInt, stackOffset: NonNegativeSafeInt, isPair: S.Boolean }),
  S.Struct({ op: S.Literal("saveFpLrPair"), stackOffset: NonNegativeSafeInt }),
  S.Struct({ op: S.Literal("allocS"), size: NonNegativeSafeInt }),
  S.Struct({ op: S.Literal("allocM"), size: NonNegativeSafeInt }),
  S.Struct({ op: S.Literal("allocL"), size: NonNegativeSafeInt }),
  S.Struct({ op: S.Literal("pacSignLr") }),
  S.Struct({ op: S.Literal("setFp") }),
  S.Struct({ op: S.Literal("addFp"), offset: NonNegativeSafeInt }),
);
export type WinArm64Code = S.Schema.Type<typeof WinArm64Code>;

export const WindowsArm64Unwind = S.Struct({
  kind: S.Literal("windowsArm64"),
  codes: S.Array(WinArm64Code),
});
export type WindowsArm64Unwind = S.Schema.Type<typeof WindowsArm64Unwind>;

export const Unwind = S.Union(SystemVUnwind, WindowsX64Unwind, WindowsArm64Unwind);
export type Unwind = S.Schema.Type<typeof Unwind>;

// ---------------------------------------------------------------- items

export const FunctionItem = S.Struct({
  type: S.Literal("function"),
  name: FunctionName,
  body: Base64Bytes,
  alignment: Alignment,
  relocations: S.optionalWith(S.Array(Relocation), { default: () => [] }),
  unwind: S.optional(Unwind),
});
export type FunctionItem = S.Schema.Type<typeof FunctionItem>;

export const PaddingItem = S.Struct({
  type: S.Literal("padding"),
  size: NonNegativeSafeInt,
});
export type PaddingItem = S.Schema.Type<typeof PaddingItem>;

export const Item = S.Union(FunctionItem, PaddingItem);
export type Item = S.Schema.Type<typeof Item>;
/** An item as it stands in JSON (bodies as base64). */
export type ItemJson = S.Schema.Encoded<typeof Item>;
export type HeaderJson = S.Schema.Encoded<typeof Header>;

/** A whole module: the header and the items in text order. */
export const Module = S.Struct({ header: Header, items: S.Array(Item) });
export type Module = S.Schema.Type<typeof Module>;
export type ModuleJson = S.Schema.Encoded<typeof Module>;
