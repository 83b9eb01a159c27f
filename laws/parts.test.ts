/**
 * The object written in parts (`objectParts`, what the CLI writes to a file)
 * is the object written whole (`writeObject`), byte for byte, whatever the
 * window: the `.text` is cut at function starts and the symbols in runs, and
 * neither cut may change a byte — a patch, a veneer or a host-call byte on
 * the wrong side of a cut would. Small windows give many cuts per module;
 * `forceVeneers` puts an island between every two functions on aarch64.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Either } from "effect";
import { arbModule } from "../src/arbitrary.js";
import { objectParts, writeObject } from "../src/elf/object.js";
import { finishPlan, foldItems } from "../src/encode.js";
import type { Module } from "../src/schema/records.js";

const planOf = (m: Module) => finishPlan(foldItems(m.header, m.items));

describe("objectParts", () => {
  it("joined, the parts are writeObject's bytes, for any window", () => {
    const seen = { cuts: 0, symbolRuns: 0 };
    fc.assert(
      fc.property(
        fc.oneof(arbModule({ maxFunctions: 8 }), arbModule({ maxFunctions: 8, forceVeneers: true })),
        fc.integer({ min: 1, max: 600 }),
        (m, window) => {
          const plan = planOf(m);
          // Invalid draws (a call out of reach, say) have no object to cut.
          if (Either.isLeft(plan)) return;
          const whole = writeObject(plan.right);
          const parts = [...objectParts(plan.right, window)];
          expect(Buffer.concat(parts).equals(Buffer.from(whole))).toBe(true);
          const text = plan.right.sections[1]!;
          // Parts that start inside `.text` after its start: each is a cut.
          let at = 0;
          for (const p of parts) {
            if (at > text.offset && at < text.offset + text.size) seen.cuts++;
            if (at > plan.right.symtabOffset + 24 && at < plan.right.strtabOffset) seen.symbolRuns++;
            at += p.length;
          }
        },
      ),
      { numRuns: 300 },
    );
    // The law must have cut text and symbols, or it proved nothing about cuts.
    expect(seen.cuts).toBeGreaterThan(50);
    expect(seen.symbolRuns).toBeGreaterThan(50);
  });

  it("no part is larger than the window unless it is one thing that is (a function and what follows it, a section, a header)", () => {
    fc.assert(
      fc.property(arbModule({ maxFunctions: 8, target: "x86_64-unknown-linux-gnu" }), fc.integer({ min: 1, max: 600 }), (m, window) => {
        const plan = planOf(m);
        if (Either.isLeft(plan)) return;
        const p = plan.right;
        const { offset, length, count } = p.text.fns;
        // Largest single function (with the fill and padding before the next), the bound for a text part.
        let largest = count > 0 ? offset[0]! : p.text.textSize; // padding before the first function
        for (let k = 0; k < count; k++) largest = Math.max(largest, (k + 1 < count ? offset[k + 1]! : p.text.textSize) - offset[k]!, length[k]!);
        // Whole: a section other than .text and .symtab, the ELF header, the section header table.
        const whole = new Set([...p.sections.slice(2).filter((s) => s.name !== ".symtab").map((s) => s.size), 64, 64 * p.sections.length]);
        const maxAlign = Math.max(...p.sections.map((s) => s.align));
        for (const part of objectParts(p, window)) {
          if (part.length <= window + largest || part.length < maxAlign) continue; // a text window, a run of symbols, alignment fill
          expect(whole.has(part.length)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
