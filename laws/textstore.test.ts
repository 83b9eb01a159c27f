/**
 * The fold keeps placed bodies in 1 MiB chunks (small bodies, copied) or by
 * reference (large ones): `src/layout/textStore.ts`. Laws: every body lands
 * in the object's `.text` at its symbol's offset, fill between bodies is
 * zero, and a fork (whose replay rebuilds items from those chunks) gives the
 * same bytes, for bodies that straddle chunk boundaries, sit next to
 * referenced ones, and follow paddings that skip whole chunks.
 *
 * The object is read with the tests' own ELF reader, not objfold's.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeModule, foldItems, finishBytes, finishPlan } from "../src/encode.js";
import { step } from "../src/layout/fold.js";
import { BY_REFERENCE } from "../src/layout/textStore.js";
import type { Header, Item } from "../src/schema/records.js";
import { readElf } from "../test/support/elf.js";
import { Either } from "effect";
import { Readable } from "node:stream";
import { encodeChunks } from "../src/cli/encodeStream.js";
import { objectParts, writeObject } from "../src/elf/object.js";
import { stringifyModule } from "../src/api/text.js";

const MiB = 1 << 20;

/** A body of exactly n random bytes (fast-check's own array lengths stay short: these must reach across a boundary). */
const bytesOf = (min: number, max: number) => fc.integer({ min, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const arbBody = fc.oneof({ weight: 6, arbitrary: bytesOf(0, BY_REFERENCE - 1) }, { weight: 1, arbitrary: bytesOf(BY_REFERENCE, 3 * BY_REFERENCE) });
/**
 * Paddings: small ones, ones that skip whole chunks, and ones that end `d`
 * bytes before a 1 MiB boundary, so that the next body straddles it (their
 * size is worked out from the offset so far: x86_64 places without islands).
 */
const arbPadding = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map((size) => ({ _tag: "pad" as const, size })),
  fc.integer({ min: 2 * MiB, max: 3 * MiB }).map((size) => ({ _tag: "pad" as const, size })),
  fc.integer({ min: 0, max: 40 }).map((d) => ({ _tag: "toBoundary" as const, d })),
);

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

const arbItems = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ body: arbBody, alignment: fc.constantFrom(1, 2, 4, 16, 64) }).map((f) => ({ _tag: "fn" as const, ...f })) },
      { weight: 2, arbitrary: arbPadding },
    ),
    { minLength: 1, maxLength: 40 },
  )
  .map((xs) => {
    let offset = 0;
    return xs.map((x, k): Item => {
      if (x._tag === "fn") {
        offset = alignUp(offset, x.alignment) + x.body.length;
        return { type: "function", name: `f${k}`, body: x.body, alignment: x.alignment, relocations: [] };
      }
      const size = x._tag === "pad" ? x.size : alignUp(offset + x.d + 1, MiB) - x.d - offset;
      offset += size;
      return { type: "padding", size };
    });
  });

/**
 * Functions whose bodies are views of one buffer, as a decoder's slab hands
 * them out: one after another, with gaps, overlapping or out of order; with
 * alignments that leave fill between them in the text or none, and paddings
 * in between. `stepMany` holds such bodies by reference.
 */
const arbSharedItems = fc
  .array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          length: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 96 }) }, { weight: 1, arbitrary: fc.integer({ min: BY_REFERENCE, max: BY_REFERENCE + 64 }) }),
          where: fc.constantFrom("next", "next", "next", "gap", "back"),
          alignment: fc.constantFrom(1, 1, 4, 16),
        }),
      },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((size) => ({ size })) },
    ),
    { minLength: 1, maxLength: 60 },
  )
  .chain((xs) => {
    const total = xs.reduce((n, x) => n + ("length" in x ? x.length + 8 : 0), 0);
    return fc.uint8Array({ minLength: total, maxLength: total }).map((bytes): Item[] => {
      let at = 0;
      return xs.map((x, k): Item => {
        if (!("length" in x)) return { type: "padding", size: x.size };
        const start = x.where === "next" ? at : x.where === "gap" ? at + 1 + (k % 7) : Math.max(0, at - 1 - ((k * 13) % 40));
        at = Math.min(start, total - x.length) + x.length;
        return { type: "function", name: `f${k}`, body: bytes.subarray(at - x.length, at), alignment: x.alignment, relocations: [] };
      });
    });
  });

/** The same items with every body in a buffer of its own. */
const copied = (items: ReadonlyArray<Item>): Item[] => items.map((i) => (i.type === "function" ? { ...i, body: i.body.slice() } : i));

const header: Header = { format: "objfold/v1", target: "x86_64-unknown-linux-gnu", symbols: true, forceVeneers: false };

const orThrow = (e: Either.Either<Uint8Array, unknown>): Uint8Array => {
  if (Either.isLeft(e)) throw new Error(JSON.stringify(e.left));
  return e.right;
};

describe("the text store", () => {
  it("puts every body at its symbol's offset and zeros between them, across chunk boundaries", () => {
    fc.assert(
      fc.property(arbItems, (items) => {
        const bytes = orThrow(encodeModule({ header, items }));
        const elf = readElf(bytes);
        const text = elf.section(".text");
        const fns = items.filter((i) => i.type === "function");
        const symbols = elf.symbols.filter((s) => s.name !== "");
        expect(symbols.map((s) => s.name)).toEqual(fns.map((f) => f.name));
        const covered = new Uint8Array(text.size);
        symbols.forEach((s, k) => {
          const body = fns[k]!.body;
          expect(s.size).toBe(body.length);
          expect(Buffer.from(bytes.subarray(text.offset + s.value, text.offset + s.value + s.size)).equals(Buffer.from(body))).toBe(true);
          covered.fill(1, s.value, s.value + s.size);
        });
        for (let at = 0; at < text.size; at++) if (covered[at] === 0 && bytes[text.offset + at] !== 0) throw new Error(`fill byte at .text+${at} is ${bytes[text.offset + at]}`);
      }),
      { numRuns: 40 },
    );
  });

  it("a fork replays items rebuilt from the store: the same bytes as a fresh fold", () => {
    fc.assert(
      fc.property(arbItems, fc.nat(), (items, n) => {
        // Half the runs replay every item (the straddling bodies among them), half fork part-way.
        const k = n % 2 === 0 ? items.length : n % (items.length + 1);
        const prefix = foldItems(header, items.slice(0, k));
        // Move the chain on, so that `prefix` is no longer its tip and must be replayed from the store.
        const moved = step(prefix, { type: "padding", size: 3 });
        let s = prefix;
        for (const item of items.slice(k)) s = step(s, item);
        expect(Buffer.from(orThrow(finishBytes(s))).equals(Buffer.from(orThrow(encodeModule({ header, items }))))).toBe(true);
        expect(Buffer.from(orThrow(finishBytes(moved))).equals(Buffer.from(orThrow(encodeModule({ header, items: [...items.slice(0, k), { type: "padding", size: 3 }] }))))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it("bodies that are views of one buffer (held by reference) give the bytes of bodies each in a buffer of its own, folded whole, forked or written in parts", () => {
    fc.assert(
      fc.property(arbSharedItems, fc.nat(), (items, n) => {
        const want = orThrow(encodeModule({ header, items: copied(items) }));
        expect(Buffer.from(orThrow(encodeModule({ header, items }))).equals(Buffer.from(want))).toBe(true);
        // A fork of a whole-array fold replays its items from the bodies it holds.
        const k = n % (items.length + 1);
        let s = foldItems(header, items.slice(0, k));
        step(s, { type: "padding", size: 3 });
        for (const item of items.slice(k)) s = step(s, item);
        expect(Buffer.from(orThrow(finishBytes(s))).equals(Buffer.from(want))).toBe(true);
        // The object in parts (`.text` cut into windows) is the same bytes.
        const plan = finishPlan(foldItems(header, items));
        if (Either.isLeft(plan)) throw new Error(JSON.stringify(plan.left));
        for (const window of [1, 64, 1000]) expect(Buffer.concat([...objectParts(plan.right, window)]).equals(Buffer.from(want))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("a step refused for a text past 4 GiB stores nothing: a fork of the state before it still has its bodies", () => {
    const f0: Item = { type: "function", name: "f0", body: Uint8Array.from({ length: 64 }, (_, i) => i + 1), alignment: 1, relocations: [] };
    const s = foldItems(header, [f0]);
    // 200 bytes from 4 GiB − 36: past the limit; stored, their tail would wrap onto f0's chunk.
    const far = step(s, { type: "padding", size: 0xffffffff - 100 });
    const refused = step(far, { type: "function", name: "big", body: new Uint8Array(200).fill(0xee), alignment: 1, relocations: [] });
    expect(refused.failure?._tag).toBe("TextTooLarge");
    // `s` is no longer its chain's tip: stepping it replays f0 from the store.
    const items: Item[] = [f0, { type: "padding", size: 1 }];
    const forked = finishBytes(step(s, { type: "padding", size: 1 }));
    expect(Buffer.from(orThrow(forked)).equals(Buffer.from(orThrow(encodeModule({ header, items }))))).toBe(true);
  });

  it("the CLI's line path (rows, small bodies decoded into the scanner's scratch) stores what the items path stores", async () => {
    await fc.assert(
      fc.asyncProperty(arbItems, fc.integer({ min: 1, max: 4096 }), async (items, chunk) => {
        // Lines cut into chunks of any size: the scanner's scratch is reused line after line, and a large body must not be.
        const text = Buffer.from(stringifyModule({ header, items }));
        const chunks = Array.from({ length: Math.ceil(text.length / chunk) }, (_, k) => text.subarray(k * chunk, (k + 1) * chunk));
        const viaLines = (await encodeChunks(Readable.from(chunks))).result;
        if (Either.isLeft(viaLines)) throw new Error(JSON.stringify(viaLines.left));
        expect(Buffer.from(writeObject(viaLines.right)).equals(Buffer.from(orThrow(encodeModule({ header, items }))))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
