/**
 * The line fold's `Stepper` (internal: `src/layout/fold.ts`) steps one arena
 * in place and hands out one state at the end. Laws: it folds to the bytes
 * `step` gives one item at a time; the state it started from is still a
 * value (stepping it afterwards replays instead of extending the stepper's
 * arena); and after `state()` it takes no more items. `stepMany` over
 * batches of any sizes (each reserves room for its batch: the columns' and
 * the name table's growth) folds to the same bytes. So does a stepper told
 * to reserve room of any size at any point, and the CLI's line fold sizing
 * itself from an input size that is right, too small or too large.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Either } from "effect";
import { Readable } from "node:stream";
import { arbModule } from "../src/arbitrary.js";
import { encodeChunks } from "../src/cli/encodeStream.js";
import { writeObject } from "../src/elf/object.js";
import { finishBytes } from "../src/encode.js";
import { stringifyModule } from "../src/index.js";
import { begin, type LayoutState, step, Stepper, stepMany } from "../src/layout/fold.js";
import type { Item } from "../src/schema/records.js";

const bytesOf = (s: LayoutState): Uint8Array | string => {
  const r = finishBytes(s);
  return Either.isRight(r) ? r.right : r.left._tag;
};

const stepAll = (s: LayoutState, items: ReadonlyArray<Item>): LayoutState => items.reduce(step, s);

describe("the Stepper", () => {
  it("folds to the bytes of stepping one item at a time, and leaves the state it began with a value", () => {
    fc.assert(
      fc.property(arbModule({ maxFunctions: 6 }), fc.nat(), (m, cut) => {
        const k = cut % (m.items.length + 1);
        const start = stepAll(begin(m.header), m.items.slice(0, k));
        const want = bytesOf(stepAll(begin(m.header), m.items));
        const stepper = new Stepper(start);
        const rest = m.items.slice(k);
        const half = rest.length >> 1;
        for (const item of rest.slice(0, half)) stepper.add(item);
        // `start` was its arena's tip: stepped while the stepper is at work, it must neither see the stepper's items nor disturb them.
        const again = stepAll(start, [{ type: "padding", size: 1 }]);
        for (const item of rest.slice(half)) stepper.add(item);
        const end = stepper.state();
        expect(bytesOf(end)).toEqual(want);
        expect(bytesOf(again)).toEqual(bytesOf(stepAll(begin(m.header), [...m.items.slice(0, k), { type: "padding", size: 1 }])));
        // Spent: more items change nothing, and the same state comes back.
        stepper.add({ type: "padding", size: 5 });
        expect(stepper.state()).toBe(end);
        expect(bytesOf(end)).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  it("stepMany over batches of any sizes folds to the bytes of stepping one item at a time", () => {
    fc.assert(
      fc.property(arbModule({ maxFunctions: 160 }), fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 12 }), (m, sizes) => {
        let s = begin(m.header);
        for (let at = 0, k = 0; at < m.items.length; k++) {
          const n = sizes[k % sizes.length]!;
          s = stepMany(s, m.items.slice(at, at + n));
          at += n;
        }
        expect(bytesOf(s)).toEqual(bytesOf(stepAll(begin(m.header), m.items)));
      }),
      { numRuns: 25 },
    );
  });

  it("reserving room of any size at any point (the line fold's estimate) folds to the same bytes", () => {
    fc.assert(
      fc.property(
        arbModule({ maxFunctions: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 100_000 })), { maxLength: 4 }),
        (m, reserves) => {
          const stepper = new Stepper(begin(m.header));
          m.items.forEach((item, k) => {
            for (const [at, items, nameBytes] of reserves) if (at % (m.items.length + 1) === k) stepper.reserve(items, nameBytes);
            stepper.add(item);
          });
          expect(bytesOf(stepper.state())).toEqual(bytesOf(stepAll(begin(m.header), m.items)));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("the CLI's line fold, sized from an input size right or wrong after any number of items, reads to the same object", async () => {
    const objectOf = (r: Awaited<ReturnType<typeof encodeChunks>>): Uint8Array | string => (Either.isRight(r.result) ? writeObject(r.result.right) : r.result.left._tag);
    await fc.assert(
      fc.asyncProperty(
        arbModule({ maxFunctions: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.oneof(fc.constant(1), fc.double({ min: 0, max: 50, noNaN: true }), fc.constant(0), fc.constant(-1), fc.constant(Number.NaN)),
        fc.integer({ min: 1, max: 4096 }),
        async (m, reserveAfter, scale, chunk) => {
          const text = Buffer.from(stringifyModule(m) + "\n");
          const chunks = (): Buffer[] => Array.from({ length: Math.ceil(text.length / chunk) }, (_, k) => text.subarray(k * chunk, (k + 1) * chunk));
          const plain = await encodeChunks(Readable.from(chunks()));
          const inputBytes = Math.round(text.length * scale);
          const sized = await encodeChunks(Readable.from(chunks()), undefined, { inputBytes: Number.isNaN(scale) ? Number.NaN : inputBytes, reserveAfter });
          expect(objectOf(sized)).toEqual(objectOf(plain));
          // The input line of every item (error reports) too.
          const lines = (r: typeof plain): (number | undefined)[] => m.items.map((_, k) => r.lineOfItem(k));
          expect(lines(sized)).toEqual(lines(plain));
          expect(sized.functions).toBe(plain.functions);
        },
      ),
      { numRuns: 30 },
    );
  });
});
