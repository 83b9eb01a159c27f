/**
 * The object written in parts (`objectParts`, what the CLI writes to a file)
 * is the object written whole (`writeObject`), byte for byte, whatever the
 * window. `.text` is cut at function starts, `.eh_frame` between entries,
 * `.symtab` between symbols and `.strtab` between names, and no cut may
 * change a byte: a patch, a veneer or a host-call byte written on the wrong
 * side of a cut would, and so would an FDE that copies the program of an
 * FDE in another part, or a run of names that loses the leading NUL. Small windows
 * give many cuts per module; `forceVeneers` puts an island between every two
 * functions on aarch64; one unwind record shared by every function makes
 * each FDE after the first copy its program.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Either } from "effect";
import { arbModule } from "../src/arbitrary.js";
import { objectParts, writeObject } from "../src/elf/object.js";
import { finishPlan, foldItems } from "../src/encode.js";
import type { Item, Module } from "../src/schema/records.js";

const planOf = (m: Module) => finishPlan(foldItems(m.header, m.items));

/** The module with the first function's unwind record (the same object) on every function that has one. */
const sharedUnwind = (m: Module): Module => {
  const first = m.items.find((i) => i.type === "function" && i.unwind !== undefined);
  if (first === undefined || first.type !== "function") return m;
  const items = m.items.map((i): Item => (i.type === "function" && i.unwind !== undefined ? { ...i, unwind: first.unwind! } : i));
  return { header: m.header, items };
};

describe("objectParts", () => {
  it("joined, the parts are writeObject's bytes, for any window", () => {
    const seen = { cuts: 0, symbolRuns: 0, ehFrameRuns: 0, nameRuns: 0 };
    fc.assert(
      fc.property(
        fc.oneof(arbModule({ maxFunctions: 8 }), arbModule({ maxFunctions: 8, forceVeneers: true }), arbModule({ maxFunctions: 8 }).map(sharedUnwind)),
        fc.integer({ min: 1, max: 600 }),
        (m, window) => {
          const plan = planOf(m);
          // Invalid draws (a call out of reach, say) have no object to cut.
          if (Either.isLeft(plan)) return;
          const whole = writeObject(plan.right);
          const parts = [...objectParts(plan.right, window)];
          expect(Buffer.concat(parts).equals(Buffer.from(whole))).toBe(true);
          // Reusing one buffer (each part copied before the next is asked for, as a writer to a file uses it up): the same bytes.
          const reused: Uint8Array[] = [];
          for (const p of objectParts(plan.right, window, true)) reused.push(Uint8Array.from(p));
          expect(Buffer.concat(reused).equals(Buffer.from(whole))).toBe(true);
          const text = plan.right.sections[1]!;
          const eh = plan.right.sections.find((s) => s.name === ".eh_frame");
          // Parts that start inside `.text` after its start: each is a cut.
          let at = 0;
          for (const p of parts) {
            if (at > text.offset && at < text.offset + text.size) seen.cuts++;
            if (at > plan.right.symtabOffset + 24 && at < plan.right.strtabOffset) seen.symbolRuns++;
            if (eh !== undefined && at > eh.offset && at < eh.offset + eh.size) seen.ehFrameRuns++;
            if (at > plan.right.strtabOffset && at < plan.right.strtabOffset + plan.right.strtab.size) seen.nameRuns++;
            at += p.length;
          }
        },
      ),
      // 600: over 300 draws the name runs seen were 66–134, with a tail under 50 about once in fifty runs of the law (seen twice, in CI once).
      { numRuns: 600 },
    );
    // The law must have cut text and symbols, or it proved nothing about cuts.
    expect(seen.cuts).toBeGreaterThan(50);
    expect(seen.symbolRuns).toBeGreaterThan(50);
    expect(seen.ehFrameRuns).toBeGreaterThan(50);
    expect(seen.nameRuns).toBeGreaterThan(50);
  });

  it("no part is much larger than the window: a part is at most the window and one function, one eh_frame entry or one small section", () => {
    fc.assert(
      fc.property(arbModule({ maxFunctions: 8, target: "x86_64-unknown-linux-gnu" }), fc.integer({ min: 1, max: 600 }), (m, window) => {
        const plan = planOf(m);
        if (Either.isLeft(plan)) return;
        const p = plan.right;
        const whole = writeObject(p);
        const { offset, length, count } = p.text.fns;
        // Largest function with the fill and padding up to the next (the padding before the first counts too).
        let largest = count > 0 ? offset[0]! : p.text.textSize;
        for (let k = 0; k < count; k++) largest = Math.max(largest, (k + 1 < count ? offset[k + 1]! : p.text.textSize) - offset[k]!, length[k]!);
        // Largest .eh_frame entry (CIE or FDE), from the length fields of the bytes.
        const eh = p.sections.find((s) => s.name === ".eh_frame");
        let entry = 0;
        if (eh !== undefined) {
          const dv = new DataView(whole.buffer, whole.byteOffset);
          for (let at = eh.offset; at < eh.offset + eh.size; ) {
            const len = dv.getUint32(at, true) + 4;
            entry = Math.max(entry, len);
            at += len;
          }
        }
        // Longest name: a run of the string table holds whole names.
        let name = 0;
        for (let k = 0; k < count; k++) name = Math.max(name, new TextEncoder().encode(p.text.fns.nameOf(k)).length + 1);
        // Small pieces that come whole: the ELF header, the section header table, `.shstrtab`.
        const small = Math.max(p.shstrtab.size, 64, 64 * p.sections.length);
        const maxAlign = Math.max(...p.sections.map((s) => s.align)); // alignment fill
        for (const part of objectParts(p, window)) expect(part.length).toBeLessThanOrEqual(Math.max(window + largest, window + entry, window + name, small, maxAlign));
      }),
      { numRuns: 200 },
    );
  });
});
