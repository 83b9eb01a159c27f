/**
 * Pulley targets (reference §5.4, §6, §8), checked with readelf: machine,
 * class, byte order, e_flags bits, `.text` flags and alignment; and the two
 * relocation kinds' bytes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Either } from "effect";
import { describe, expect, it } from "vitest";
import { encodeModule } from "../src/encode.js";
import type { Item, Module, Relocation } from "../src/schema/records.js";
import { requireTools, run } from "./support/tools.js";

const dir = mkdtempSync(join(tmpdir(), "objfold-pulley-"));

const fn = (name: string, body: number[], relocations: Relocation[] = []): Item => ({
  type: "function",
  name,
  body: new Uint8Array(body),
  alignment: 1,
  relocations,
});

const module = (target: string, items: ReadonlyArray<Item>, extra: Partial<Module["header"]> = {}): Module => ({
  header: { format: "objfold/v1", target, forceVeneers: false, symbols: true, ...extra },
  items,
});

const encodeOk = (m: Module): Uint8Array => {
  const r = encodeModule(m);
  if (Either.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right;
};

// call: opcode byte, then a 4-byte pc-relative field pre-filled with (field − instruction start) = 1.
const CALL = [0x01, 0x01, 0x00, 0x00, 0x00];
// call_indirect_host: extended-op byte, u16 opcode, host-call number (left 0 by the emitter).
const HOST = [0xff, 0x34, 0x12, 0x00];

const sample = (target: string) =>
  module(target, [
    fn("a", [0x00, ...CALL, ...HOST, 0x02], [
      { offset: 2, kind: "PulleyPcRel", target: "b", addend: 0 },
      { offset: 6, kind: "PulleyCallIndirectHost", hostCall: 77, addend: 0 },
    ]),
    fn("b", [0x03, ...CALL], [{ offset: 2, kind: "PulleyPcRel", target: "a", addend: 0 }]),
  ]);

const textOf = (bytes: Uint8Array): Uint8Array => bytes.subarray(64, 64 + 17); // text align 1: right after the header

describe("Pulley", () => {
  for (const target of ["pulley32", "pulley64", "pulley32be", "pulley64be"]) {
    it(`${target}: patches little-endian call offsets and the host-call byte`, () => {
      const text = textOf(encodeOk(sample(target)));
      // a at 0, b at 11 (alignment 1, no fill). a's call field at 2: 1 + (11 − 2) = 10, i.e. b − instruction start.
      expect([...text.subarray(2, 6)]).toEqual([10, 0, 0, 0]);
      expect([...text.subarray(6, 10)]).toEqual([0xff, 0x34, 0x12, 77]);
      // b's field at 13: 1 + (0 − 13) = −12.
      expect([...text.subarray(13, 17)]).toEqual([0xf4, 0xff, 0xff, 0xff]);
    });
  }

  it("writes the RISC-V machine, class 64, the byte order of the triple and the Pulley e_flags bit (readelf)", () => {
    if (!requireTools("Pulley header check", "readelf")) return;
    const cases = [
      ["pulley32", "little endian", 0x4],
      ["pulley64", "little endian", 0x8],
      ["pulley32be", "big endian", 0x4],
      ["pulley64be", "big endian", 0x8],
    ] as const;
    for (const [target, endian, bit] of cases) {
      for (const wasmtime of [undefined, "module", "component"] as const) {
        const f = join(dir, `${target}-${wasmtime ?? "plain"}.o`);
        writeFileSync(f, encodeOk(module(target, sample(target).items, wasmtime ? { wasmtime } : {})));
        const h = run("readelf", ["-h", "-S", "-W", f]);
        expect(h).toMatch(/Class:\s+ELF64/);
        expect(h).toContain(endian);
        expect(h).toMatch(/Machine:\s+RISC-V/);
        const flags = parseInt(/Flags:\s+0x([0-9a-f]+)/.exec(h)![1]!, 16);
        expect(flags).toBe(bit | (wasmtime === "module" ? 1 : wasmtime === "component" ? 2 : 0));
        expect(h).toMatch(wasmtime ? /OS\/ABI:\s+<unknown: c8>/ : /OS\/ABI:\s+UNIX - System V/);
        // .text: PROGBITS, flags W only (0x1 = Wasmtime's not-executed bit), alignment 1, 17 bytes, no unwind sections.
        const text = h.split("\n").find((l) => l.includes(" .text"))!;
        expect(text).toMatch(/PROGBITS\s+0+\s+0+40\s+0+11\s+00\s+W\s+0\s+0\s+1$/);
        expect(h).not.toContain(".eh_frame");
      }
    }
  });

  it("refuses unwind info and relocation kinds of other architectures", () => {
    const withUnwind = module("pulley64", [{ ...fn("a", [0]), unwind: { kind: "systemv", length: 1, instructions: [] } } as Item]);
    const r = encodeModule(withUnwind);
    expect(Either.isLeft(r) && r.left._tag).toBe("UnwindKindNotForTarget");
    const x86 = module("pulley64", [fn("a", [0xe8, 0, 0, 0, 0], [{ offset: 1, kind: "X86CallPCRel4", target: "a", addend: -4 }])]);
    const r2 = encodeModule(x86);
    expect(Either.isLeft(r2) && r2.left._tag).toBe("RelocationKindNotForTarget");
    const host = module("x86_64-unknown-linux-gnu", [fn("a", HOST, [{ offset: 0, kind: "PulleyCallIndirectHost", hostCall: 1, addend: 0 }])]);
    const r3 = encodeModule(host);
    expect(Either.isLeft(r3) && r3.left._tag).toBe("RelocationKindNotForTarget");
    const outside = module("pulley64", [fn("a", [0xff, 0x34, 0x12], [{ offset: 0, kind: "PulleyCallIndirectHost", hostCall: 1, addend: 0 }])]);
    const r4 = encodeModule(outside);
    expect(Either.isLeft(r4) && r4.left).toMatchObject({ _tag: "SiteOutsideBody", siteSize: 4, bodyLength: 3 });
  });
});
