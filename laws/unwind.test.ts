/**
 * Laws of `.eh_frame` over generated modules of every SystemV target: one
 * FDE per function with unwind info, in text order, each covering exactly
 * its function (pc_begin read as a pc-relative pointer with `.eh_frame`
 * right after the page-padded text), each decoding back to its program; and
 * the same module always gives the same bytes.
 */
import { Either } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbModule } from "../src/arbitrary.js";
import { type ElfFile, readElf, readSymbols, sectionByName, sectionData } from "../src/elf/read.js";
import { encodeModule } from "../src/encode.js";
import type { FunctionItem, Module } from "../src/schema/records.js";
import { parseEhFrame } from "../src/unwind/systemv/parse.js";

const SYSTEMV = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "riscv64gc-unknown-linux-gnu", "s390x-unknown-linux-gnu", "aarch64-apple-darwin"];

describe("laws: .eh_frame", () => {
  it("every FDE covers exactly its function and decodes to its program", () => {
    fc.assert(
      fc.property(arbModule({ targets: SYSTEMV, maxFunctions: 6 }), (m0) => {
        const m: Module = { ...m0, header: { ...m0.header, symbols: true } };
        const bytes = Either.getOrThrow(encodeModule(m));
        const elf = Either.getOrThrow(readElf(bytes));
        const text = sectionByName(elf, ".text")!;
        const withUnwind = m.items.filter((i): i is FunctionItem => i.type === "function" && i.unwind !== undefined);
        const eh = sectionByName(elf, ".eh_frame");
        if (withUnwind.length === 0) {
          expect(eh).toBeUndefined();
          return;
        }
        // The layout contract: .eh_frame starts right where the page-padded text ends.
        expect(eh!.offset).toBe(text.offset + text.size);
        const frame = Either.getOrThrow(
          parseEhFrame(sectionData(elf, eh!), { littleEndian: elf.header.littleEndian, sectionAddress: BigInt(text.size) }),
        );
        expect(frame.cies.length).toBe(1);
        expect(frame.terminator).toBe(eh!.size - 4);
        expect(frame.fdes.length).toBe(withUnwind.length);
        // Function offsets from the symbol table (one local FUNC per function, in order).
        const symOffsets = symbolsOf(elf);
        const fns = m.items.filter((i): i is FunctionItem => i.type === "function");
        let k = 0;
        fns.forEach((f, idx) => {
          if (f.unwind === undefined || f.unwind.kind !== "systemv") return;
          const fde = frame.fdes[k++]!;
          expect(Number(fde.pcBegin)).toBe(symOffsets[idx]);
          expect(fde.pcRange).toBe(f.unwind.length);
          expect(fde.instructions).toEqual(f.unwind.instructions);
        });
      }),
      { numRuns: 150 },
    );
  });

  it("the same module gives the same bytes", () => {
    fc.assert(
      fc.property(arbModule({ maxFunctions: 5 }), (m) => {
        const a = encodeModule(m);
        const b = encodeModule(structuredClone(m));
        expect(Either.isRight(a)).toBe(true);
        expect(Buffer.compare(Either.getOrThrow(a), Either.getOrThrow(b))).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});

/** Offsets of the local function symbols, in order (the module turns `symbols` on for this). */
const symbolsOf = (elf: ElfFile): number[] =>
  Either.getOrThrow(readSymbols(elf, sectionByName(elf, ".symtab")!))
    .filter((s) => s.type === 2)
    .map((s) => Number(s.value));
