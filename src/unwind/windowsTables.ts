/**
 * `.xdata` and `.pdata` for the Windows targets (reference §3, §4, §10, §13):
 * the planning both architectures share.
 *
 * Layout contract (reference §10): `.xdata` starts right after the
 * page-padded `.text` (size S) and `.pdata` right after `.xdata`, both
 * 4-aligned. Wasmtime registers `.pdata` with `RtlAddFunctionTable(pdata,
 * count, base = start of .text)`, so every RVA here is relative to the start
 * of `.text`: a function at text offset `o` has begin RVA `o`, and an
 * `.xdata` record at offset `x` of `.xdata` has RVA `x + S`.
 *
 * - x64: one `UNWIND_INFO` per function; `.pdata` entries of 12 bytes
 *   (`RUNTIME_FUNCTION`: begin, end, unwind-info RVA).
 * - ARM64: one `.xdata` record per fragment (one fragment unless the function
 *   is longer than 1 MiB − 4); `.pdata` entries of 8 bytes (begin, `.xdata`
 *   RVA with Flag = 00).
 *
 * EMPTY: a function with an empty body gets no entry (its record is still
 * validated). No instruction address lies inside it, and its `.pdata` entry
 * would share its begin address with the next function's, which makes the
 * table's binary search ambiguous (objdump warns "has same begin address as
 * predecessor"); upstream writes the entry.
 *
 * Every record is validated here; `writeXdata`/`writePdata` never fail and
 * write exactly `xdataSize`/`pdataSize` bytes.
 *
 * Example (x64): one function at text offset 0, 5 bytes, codes
 * `[pushRegister rbp @1]`, S = 0x1000:
 * `.xdata` = `01 01 01 00 01 50 00 00`, `.pdata` = `00 00 00 00 05 00 00 00 00 10 00 00`.
 */
import * as Either from "../result.js";
import { type ByteWriter, Defect } from "../bytes/writer.js";
import type { ObjfoldError } from "../errors.js";
import type { WindowsArm64Unwind, WindowsX64Unwind } from "../schema/records.js";
import { type Arm64Fragment, type Arm64UnwindPlan, planArm64Unwind, writeArm64Xdata } from "./windowsArm64.js";
import { checkX64Unwind, writeX64UnwindInfo, x64UnwindInfoSize } from "./windowsX64.js";

/** One function's input, as the layout gives it. */
export interface WinUnwindFunction {
  /** 0-based item index in the module (for errors). */
  readonly item: number;
  readonly name: string;
  /** Offset of the function's first byte in `.text`. */
  readonly offset: number;
  /** Body length in bytes. */
  readonly length: number;
  readonly unwind: WindowsX64Unwind | WindowsArm64Unwind;
}

/** The two planned sections; the writers write exactly the planned sizes and never fail. */
export interface WindowsUnwindTables {
  readonly xdataSize: number;
  readonly pdataSize: number;
  writeXdata(w: ByteWriter): void;
  writePdata(w: ByteWriter): void;
}

export type WindowsArch = "x86_64" | "aarch64";

/** `IMAGE_RUNTIME_FUNCTION_ENTRY` on x64: BeginAddress, EndAddress, UnwindInfoAddress. */
export const X64_PDATA_ENTRY_SIZE = 12;
/** `IMAGE_ARM64_RUNTIME_FUNCTION_ENTRY`: BeginAddress, UnwindData (Flag in bits 0..1). */
export const ARM64_PDATA_ENTRY_SIZE = 8;
/** `.xdata` records are 4-aligned (the low two bits of an ARM64 `.xdata` RVA are the Flag). */
const XDATA_ALIGN = 4;
const U32_MAX = 0xffffffff;

const align4 = (n: number): number => Math.ceil(n / XDATA_ALIGN) * XDATA_ALIGN;

const le32 = (w: ByteWriter, v: number): void => {
  w.u8(v & 0xff);
  w.u8((v >>> 8) & 0xff);
  w.u8((v >>> 16) & 0xff);
  w.u8((v >>> 24) & 0xff);
};

const rvaOutOfRange = (f: WinUnwindFunction, field: string, value: number): ObjfoldError => ({
  _tag: "UnwindValueOutOfRange",
  item: f.item,
  function: f.name,
  index: -1,
  code: "pdata",
  field,
  value,
  allowed: `at most ${U32_MAX} (a u32 RVA relative to the start of .text)`,
});

const kindMismatch = (f: WinUnwindFunction, expected: string): ObjfoldError => ({
  _tag: "UnwindKindNotForTarget",
  item: f.item,
  function: f.name,
  kind: f.unwind.kind,
  expected,
});

/** The layout hands functions in text order, each after the previous body, inside S. */
const checkOrder = (functions: ReadonlyArray<WinUnwindFunction>, textSectionSize: number): void => {
  if (!Number.isSafeInteger(textSectionSize) || textSectionSize < 0 || textSectionSize % XDATA_ALIGN !== 0)
    throw new Defect(`Windows unwind tables: text section size ${textSectionSize} is not a non-negative multiple of 4`);
  let end = 0;
  for (const f of functions) {
    if (!(f.offset >= end) || !(f.length >= 0) || f.offset + f.length > textSectionSize)
      throw new Defect(`Windows unwind tables: function ${JSON.stringify(f.name)} at ${f.offset}+${f.length} is out of text order or outside S = ${textSectionSize}`);
    end = f.offset + f.length;
  }
};

interface X64Entry {
  readonly f: WinUnwindFunction;
  readonly unwind: WindowsX64Unwind;
  readonly slots: number;
  readonly xdataOffset: number;
}

const planX64 = (functions: ReadonlyArray<WinUnwindFunction>, S: number): Either.Either<WindowsUnwindTables, ObjfoldError> => {
  const entries: X64Entry[] = [];
  let xdata = 0;
  for (const f of functions) {
    if (f.unwind.kind !== "windowsX64") return Either.left(kindMismatch(f, "windowsX64"));
    const slots = checkX64Unwind({ item: f.item, name: f.name }, f.unwind);
    if (typeof slots !== "number") return Either.left(slots);
    if (f.length === 0) continue; // no code to describe (EMPTY, in the module comment)
    xdata = align4(xdata); // a no-op: every UNWIND_INFO is a multiple of 4 bytes
    if (f.offset + f.length > U32_MAX) return Either.left(rvaOutOfRange(f, "end", f.offset + f.length));
    if (xdata + S > U32_MAX) return Either.left(rvaOutOfRange(f, "unwindInfo", xdata + S));
    entries.push({ f, unwind: f.unwind, slots, xdataOffset: xdata });
    xdata += x64UnwindInfoSize(slots);
  }
  const xdataSize = xdata;
  const pdataSize = X64_PDATA_ENTRY_SIZE * entries.length;
  return Either.right({
    xdataSize,
    pdataSize,
    writeXdata: (w) => {
      const base = w.pos;
      for (const e of entries) {
        w.expect(base + e.xdataOffset, "UNWIND_INFO start");
        writeX64UnwindInfo(w, e.unwind, e.slots);
      }
      w.expect(base + xdataSize, ".xdata end");
    },
    writePdata: (w) => {
      const base = w.pos;
      for (const e of entries) {
        le32(w, e.f.offset);
        le32(w, e.f.offset + e.f.length);
        le32(w, e.xdataOffset + S);
      }
      w.expect(base + pdataSize, ".pdata end");
    },
  });
};

interface Arm64Entry {
  readonly f: WinUnwindFunction;
  readonly plan: Arm64UnwindPlan;
  readonly fragment: Arm64Fragment;
  readonly xdataOffset: number;
}

const planArm64 = (functions: ReadonlyArray<WinUnwindFunction>, S: number): Either.Either<WindowsUnwindTables, ObjfoldError> => {
  const entries: Arm64Entry[] = [];
  let xdata = 0;
  for (const f of functions) {
    if (f.unwind.kind !== "windowsArm64") return Either.left(kindMismatch(f, "windowsArm64"));
    const plan = planArm64Unwind({ item: f.item, name: f.name }, f.unwind, f.length);
    if ("_tag" in plan) return Either.left(plan);
    if (f.length === 0) continue; // no code to describe (EMPTY, in the module comment)
    for (const fragment of plan.fragments) {
      xdata = align4(xdata); // a no-op: every record is whole words
      if (f.offset + fragment.offset > U32_MAX) return Either.left(rvaOutOfRange(f, "begin", f.offset + fragment.offset));
      if (xdata + S > U32_MAX) return Either.left(rvaOutOfRange(f, "unwindData", xdata + S));
      entries.push({ f, plan, fragment, xdataOffset: xdata });
      xdata += fragment.size;
    }
  }
  const xdataSize = xdata;
  const pdataSize = ARM64_PDATA_ENTRY_SIZE * entries.length;
  return Either.right({
    xdataSize,
    pdataSize,
    writeXdata: (w) => {
      const base = w.pos;
      for (const e of entries) {
        w.expect(base + e.xdataOffset, "ARM64 .xdata record start");
        writeArm64Xdata(w, e.plan, e.fragment);
      }
      w.expect(base + xdataSize, ".xdata end");
    },
    writePdata: (w) => {
      const base = w.pos;
      for (const e of entries) {
        le32(w, e.f.offset + e.fragment.offset);
        le32(w, e.xdataOffset + S); // 4-aligned, so Flag (bits 0..1) = 00: "points to .xdata"
      }
      w.expect(base + pdataSize, ".pdata end");
    },
  });
};

/**
 * Plan `.xdata` and `.pdata` for the functions that carry Windows unwind
 * info, in text order. `textSectionSize` is S, the page-padded `.text` size.
 * Fails with the first record that cannot be encoded (`UnwindValueOutOfRange`,
 * `UnwindOutOfOrder`, `UnwindKindNotForTarget`).
 */
export const planWindowsUnwind = (
  arch: WindowsArch,
  functions: ReadonlyArray<WinUnwindFunction>,
  textSectionSize: number,
): Either.Either<WindowsUnwindTables, ObjfoldError> => {
  checkOrder(functions, textSectionSize);
  return arch === "x86_64" ? planX64(functions, textSectionSize) : planArm64(functions, textSectionSize);
};
