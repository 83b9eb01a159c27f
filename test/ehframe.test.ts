/**
 * `.eh_frame` bytes against the test vectors of reference §1.5 (checked there
 * against gimli) and gimli's opcode choices of §1.2.
 */
import * as Either from "../src/result.js"; // the core's own Either values (plain records)
import { describe, expect, it } from "vitest";
import { writeBytes } from "../src/bytes/writer.js";
import type { CfaInstruction, SystemVUnwind } from "../src/schema/records.js";
import { cieOf } from "../src/unwind/systemv/cie.js";
import { planEhFrame, writeEhFrame } from "../src/unwind/systemv/ehFrame.js";
import { instructionSize, writeInstruction, programSize } from "../src/unwind/systemv/cfi.js";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
const unhex = (s: string) => s.replaceAll("|", " ").split(/\s+/).filter(Boolean).join(" ");

const ehFrame = (arch: "x86_64" | "aarch64" | "riscv64" | "s390x", fdes: { textOffset: number; unwind: SystemVUnwind }[], textSize: number) => {
  const cie = cieOf(arch)!;
  const plan = planEhFrame(cie, fdes.map((f, k) => ({ item: k, name: `f${k}`, ...f })));
  if (Either.isLeft(plan)) throw new Error(JSON.stringify(plan.left));
  return writeBytes(plan.right.size, arch !== "s390x", (w) => writeEhFrame(w, plan.right, textSize));
};

describe(".eh_frame test vectors (reference §1.5)", () => {
  const cies = {
    x86_64: "14 00 00 00 | 00 00 00 00 | 01 | 7a 52 00 | 01 | 78 | 10 | 01 10 | 0c 07 08 | 90 01 | 00 00",
    aarch64: "14 00 00 00 00 00 00 00 01 7a 52 00 04 78 1e 01 10 0c 1f 00 00 00 00 00",
    riscv64: "14 00 00 00 00 00 00 00 01 7a 52 00 02 78 01 01 10 0c 02 00 00 00 00 00",
    s390x: "00 00 00 14 00 00 00 00 01 7a 52 00 01 78 0e 01 10 0c 0f a0 01 00 00 00",
  } as const;
  for (const [arch, bytes] of Object.entries(cies) as [keyof typeof cies, string][]) {
    it(`${arch} CIE, then the terminator`, () => {
      const b = ehFrame(arch, [], 0x1000);
      expect(hex(b)).toBe(`${unhex(bytes)} 00 00 00 00`);
    });
  }

  it("x64 FDE after the CIE: function at 0x40, length 0x30, S = 0x1000", () => {
    const unwind: SystemVUnwind = {
      kind: "systemv",
      length: 0x30,
      instructions: [
        { at: 1, op: "cfaOffset", offset: 16 },
        { at: 1, op: "offset", register: 6, offset: -16 },
        { at: 4, op: "cfaRegister", register: 6 },
        { at: 12, op: "offset", register: 3, offset: -24 },
      ],
    };
    const b = ehFrame("x86_64", [{ textOffset: 0x40, unwind }], 0x1000);
    expect(hex(b.subarray(24))).toBe(
      // The sheet says "three nops", but its own length field (0x24) makes the entry 40 bytes:
      // 25 fixed + 11 instruction bytes = 36, so four nops (and the peer encoder writes four).
      unhex("24 00 00 00 | 1c 00 00 00 | 20 f0 ff ff ff ff ff ff | 30 00 00 00 00 00 00 00 | 00 | 41 0e 10 86 02 43 0d 06 48 83 03 | 00 00 00 00 | 00 00 00 00"),
    );
  });
});

describe("gimli's opcode choices (reference §1.2)", () => {
  const x64 = cieOf("x86_64")!;
  const enc = (i: CfaInstruction) => hex(writeBytes(instructionSize(i, x64), true, (w) => writeInstruction(w, i, x64)));
  const cases: [CfaInstruction, string][] = [
    [{ at: 0, op: "cfa", register: 7, offset: 8 }, "0c 07 08"],
    [{ at: 0, op: "cfa", register: 7, offset: 300 }, "0c 07 ac 02"], // not factored
    [{ at: 0, op: "cfa", register: 7, offset: -16 }, "12 07 02"], // def_cfa_sf, factored by −8
    [{ at: 0, op: "cfaRegister", register: 6 }, "0d 06"],
    [{ at: 0, op: "cfaOffset", offset: 16 }, "0e 10"],
    [{ at: 0, op: "cfaOffset", offset: -8 }, "13 01"],
    [{ at: 0, op: "restore", register: 3 }, "c3"],
    [{ at: 0, op: "restore", register: 0x40 }, "06 40"],
    [{ at: 0, op: "undefined", register: 16 }, "07 10"],
    [{ at: 0, op: "sameValue", register: 200 }, "08 c8 01"],
    [{ at: 0, op: "offset", register: 6, offset: -16 }, "86 02"],
    [{ at: 0, op: "offset", register: 70, offset: -16 }, "05 46 02"],
    [{ at: 0, op: "offset", register: 6, offset: 16 }, "11 06 7e"], // factored −2: offset_extended_sf
    [{ at: 0, op: "valOffset", register: 6, offset: -24 }, "14 06 03"],
    [{ at: 0, op: "valOffset", register: 6, offset: 8 }, "15 06 7f"],
    [{ at: 0, op: "register", register: 3, fromRegister: 12 }, "09 03 0c"],
    [{ at: 0, op: "rememberState" }, "0a"],
    [{ at: 0, op: "restoreState" }, "0b"],
    [{ at: 0, op: "argsSize", size: 130 }, "2e 82 01"],
    [{ at: 0, op: "aarch64SetPointerAuth", returnAddresses: true }, "16 22 01 31"],
    [{ at: 0, op: "aarch64SetPointerAuth", returnAddresses: false }, "16 22 01 30"],
  ];
  for (const [i, bytes] of cases) it(`${JSON.stringify(i)} → ${bytes}`, () => expect(enc(i)).toBe(bytes));

  it("advance codes: 1, 2, 3 and 5 bytes, in the target's byte order, scaled by the code alignment", () => {
    const prog = (ats: number[]): SystemVUnwind => ({ kind: "systemv", length: 0x200000, instructions: ats.map((at) => ({ at, op: "rememberState" })) });
    const ats = [4 * 0x3f, 4 * 0x3f + 4 * 0xff, 4 * 0x3f + 4 * 0xff + 4 * 0xffff, 4 * 0x3f + 4 * 0xff + 4 * 0xffff + 4 * 0x10000];
    const b = ehFrame("aarch64", [{ textOffset: 0, unwind: prog(ats) }], 0x10000);
    const body = hex(b.subarray(24 + 25));
    expect(body.startsWith(unhex("7f 0a | 02 ff 0a | 03 ff ff 0a | 04 00 00 01 00 0a"))).toBe(true);
    const s390 = ehFrame("s390x", [{ textOffset: 0, unwind: prog([0x1234]) }], 0x2000);
    expect(hex(s390.subarray(24 + 25, 24 + 29))).toBe("03 12 34 0a");
  });

  it("refuses offsets and advances that do not factor, and instructions out of order", () => {
    const a64 = cieOf("aarch64")!;
    const u = (instructions: CfaInstruction[]): SystemVUnwind => ({ kind: "systemv", length: 64, instructions });
    expect(programSize(u([{ at: 2, op: "rememberState" }]), a64, 3, "f")).toEqual(
      Either.left({ _tag: "UnwindNotFactored", item: 3, function: "f", index: 0, field: "at", value: 2, factor: 4 }),
    );
    expect(programSize(u([{ at: 4, op: "offset", register: 29, offset: -12 }]), a64, 3, "f")).toMatchObject(
      Either.left({ _tag: "UnwindNotFactored", field: "offset", value: -12, factor: -8 }),
    );
    expect(programSize(u([{ at: 8, op: "rememberState" }, { at: 4, op: "restoreState" }]), a64, 3, "f")).toMatchObject(
      Either.left({ _tag: "UnwindOutOfOrder", index: 1, at: 4, previous: 8 }),
    );
    expect(programSize(u([{ at: 68, op: "rememberState" }]), a64, 3, "f")).toMatchObject(Either.left({ _tag: "UnwindBeyondLength", at: 68, length: 64 }));
    // a positive cfa offset is written unfactored, so any value is fine
    expect(Either.isRight(programSize(u([{ at: 0, op: "cfa", register: 31, offset: 12 }]), a64, 3, "f"))).toBe(true);
  });
});
