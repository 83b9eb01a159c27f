/**
 * Laws of decoding (issue 5): no input makes a decoder throw; every problem
 * is reported with its line; every text face (whole text, Node chunks of
 * strings or bytes, Effect streams, the CLI's reader) reads any chunking
 * of a text exactly as `parseModule` reads the whole; the io-ts codec is the
 * schema's decoder; printing and decoding are inverse.
 */
import { Readable } from "node:stream";
import { Chunk, Effect, Either as EffectEither, FastCheck as fc, Stream } from "effect";
import * as E from "fp-ts/lib/Either.js";
import { PathReporter } from "io-ts/lib/PathReporter.js";
import { describe, expect, it } from "vitest";
import { arbDamagedText, arbHeaderJson, arbItemJson, arbModule, arbModuleJson } from "../src/arbitrary.js";
import { decodeModule, encodeText, HeaderCodec, ItemCodec, ModuleCodec, parseModule, stringifyModule } from "../src/index.js";
import { decodeText, decodeTextSource, encodeTextStream } from "../src/effect.js";
import { encodeChunks, readChunks } from "../src/cli/encodeStream.js";
import { writeObject } from "../src/elf/object.js";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytePieces, textPieces } from "./support/faces.js";

const arbCuts = fc.array(fc.nat(), { maxLength: 12 });

const anyValue = fc.oneof(
  fc.jsonValue(),
  arbModuleJson,
  fc.record({ header: arbHeaderJson, items: fc.array(fc.oneof(arbItemJson, fc.jsonValue()), { maxLength: 4 }) }),
  fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withNullPrototype: true, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true }),
);

/** Text that is mostly not a module: any code points, JSON-ish tokens and line ends, lines of raw shapes, damaged modules. */
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.string({ unit: fc.constantFrom("\n", "\r", "\r\n", "{", "}", "[", "]", '"', ":", ",", " ", "a", "1", "-", "\ufeff", "é", "😀"), maxLength: 200 }),
  fc
    .array(fc.oneof(arbHeaderJson.map((v) => JSON.stringify(v)), arbItemJson.map((v) => JSON.stringify(v)), fc.jsonValue().map((v) => JSON.stringify(v) ?? "")), {
      maxLength: 6,
    })
    .map((ls) => ls.join("\n")),
  arbDamagedText().map((d) => d.text),
  arbModule({ maxFunctions: 2 }).map(stringifyModule),
  // Lines ending in runs of `\r`: only the one before `\n` goes, and JSON.parse's messages name positions.
  fc
    .array(fc.tuple(fc.constantFrom('{"a"', "{", "42", '{"format":"objfold/v1","target":"pulley64"}', '{"type":"padding","size":1}'), fc.constantFrom("", "\r", "\r\r", " \r", "\r ")), {
      maxLength: 5,
    })
    .map((ls) => ls.map(([a, b]) => a + b).join("\n")),
);

/** What `decodeText` reads from text chunks: the issues, or the decoded header and items. */
const effectDecoded = (chunks: ReadonlyArray<string | Uint8Array>) =>
  Effect.runPromise(Effect.either(Stream.runCollect(decodeText(Stream.fromIterable(chunks))))).then((r) =>
    EffectEither.isLeft(r) ? { issues: r.left._tag === "DecodeError" ? r.left.issues : r.left } : { decoded: Chunk.toArray(r.right) },
  );

describe("decoding never throws", () => {
  it("decodeModule and ModuleCodec on any value: the same verdict, and every issue has a path and a message", () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        const r = decodeModule(v);
        const c = ModuleCodec.decode(v);
        expect(E.isRight(c)).toBe(E.isRight(r));
        if (E.isLeft(r)) {
          expect(r.left.issues.length).toBeGreaterThan(0);
          for (const i of r.left.issues) {
            expect(Array.isArray(i.path)).toBe(true);
            expect(typeof i.message).toBe("string");
          }
        }
        if (E.isLeft(c) && E.isLeft(r)) {
          expect(c.left.length).toBe(r.left.issues.length);
          const report = PathReporter.report(c);
          expect(report.length).toBe(r.left.issues.length);
          r.left.issues.forEach((i, k) => expect(report[k]).toContain(i.message));
        }
        if (E.isRight(c) && E.isRight(r)) expect(c.right).toEqual(r.right);
      }),
      { numRuns: 300 },
    );
  });

  it("the header and item codecs are the schema's decoders too", () => {
    fc.assert(
      fc.property(arbHeaderJson, arbItemJson, (h, i) => {
        const hr = HeaderCodec.decode(h);
        if (E.isRight(hr)) expect(HeaderCodec.decode(HeaderCodec.encode(hr.right))).toEqual(hr);
        const ir = ItemCodec.decode(i);
        if (E.isRight(ir)) expect(ItemCodec.decode(ItemCodec.encode(ir.right))).toEqual(ir);
      }),
      { numRuns: 200 },
    );
  });

  it("parseModule on any string: each issue names a line of the text", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const r = parseModule(text);
        const lines = text.split("\n").length;
        if (E.isLeft(r)) {
          expect(r.left.issues.length).toBeGreaterThan(0);
          for (const i of r.left.issues) {
            expect(i.line).toBeGreaterThanOrEqual(1);
            expect(i.line).toBeLessThanOrEqual(lines);
          }
        } else r.right.lines.forEach((l) => expect(l).toBeLessThanOrEqual(lines));
      }),
      { numRuns: 300 },
    );
  });
});

describe("text faces read any chunking as parseModule reads the whole", () => {
  it("Effect decodeText, Node encodeText and the CLI's reader, over string chunks and byte chunks", async () => {
    await fc.assert(
      fc.asyncProperty(anyText, arbCuts, async (text, cuts) => {
        const whole = parseModule(text);
        const strings = textPieces(text, cuts);
        const buffers = bytePieces(new TextEncoder().encode(text), cuts).map((b) => Buffer.from(b));
        const viaEffect = await effectDecoded(strings);
        expect(await effectDecoded(buffers)).toEqual(viaEffect);
        const viaNodeBytes = await encodeText(Readable.from(buffers));
        const viaNodeStrings = await encodeText(strings);
        const viaEffectEncode = await Effect.runPromise(Effect.either(encodeTextStream(Stream.fromIterable(strings))));
        const viaCli = (await encodeChunks(Readable.from(buffers))).result;
        if (E.isLeft(whole)) {
          expect(EffectEither.isLeft(viaCli) ? viaCli.left : "decoded").toEqual(whole.left);
          expect(viaEffect).toEqual({ issues: whole.left.issues });
          for (const r of [viaNodeBytes, viaNodeStrings]) expect(E.isLeft(r) ? r.left : "decoded").toEqual(whole.left);
          expect(EffectEither.isLeft(viaEffectEncode) ? viaEffectEncode.left : "decoded").toEqual(whole.left);
        } else {
          const { header, items, lines } = whole.right;
          expect(viaEffect).toEqual({
            decoded: [
              { _tag: "Header", line: expect.any(Number), header },
              ...items.map((item, k) => ({ _tag: "Item", line: lines[k], item })),
            ],
          });
          for (const r of [viaNodeBytes, viaNodeStrings]) if (E.isLeft(r)) expect(r.left._tag).not.toBe("DecodeError");
          if (EffectEither.isLeft(viaEffectEncode)) expect(viaEffectEncode.left._tag).not.toBe("DecodeError");
          if (EffectEither.isLeft(viaCli)) expect(viaCli.left._tag).not.toBe("DecodeError");
        }
      }),
      { numRuns: 200 },
    );
  });

  it("the CLI's file reader: one small buffer filled again for every chunk (readChunks) reads a file as the whole text in one buffer reads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "objfold-chunks-"));
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyText, arbModule().map(stringifyModule)), fc.integer({ min: 1, max: 64 }), async (text, size) => {
          const file = join(dir, "m.jsonl");
          writeFileSync(file, text);
          const fd = openSync(file, "r");
          let reused;
          try {
            reused = await encodeChunks(readChunks(fd, size));
          } finally {
            closeSync(fd);
          }
          const fresh = await encodeChunks(Readable.from([Buffer.from(text)])); // the whole text in one buffer of its own
          const bytes = (r: typeof fresh) => (EffectEither.isRight(r.result) ? Buffer.from(writeObject(r.result.right)) : r.result.left);
          expect(bytes(reused)).toEqual(bytes(fresh));
        }),
        { numRuns: 200 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("decodeTextSource gives the header and then the items", async () => {
    await fc.assert(
      fc.asyncProperty(arbModule({ maxFunctions: 3 }), arbCuts, async (m, cuts) => {
        const strings = textPieces(stringifyModule(m), cuts);
        const got = await Effect.runPromise(
          Effect.scoped(Effect.flatMap(decodeTextSource(Stream.fromIterable(strings)), ({ header, items }) => Effect.map(Stream.runCollect(items), (c) => ({ header, items: Chunk.toArray(c) })))),
        );
        expect(got).toEqual(m);
      }),
      { numRuns: 40 },
    );
  });
});

describe("every problem is reported with its line", () => {
  it("damaged lines, and only they, are reported, by every text face, however the text is cut", async () => {
    await fc.assert(
      fc.asyncProperty(arbDamagedText(), arbCuts, async (d, cuts) => {
        const whole = parseModule(d.text);
        if (E.isRight(whole)) throw new Error("damaged text decoded");
        expect([...new Set(whole.left.issues.map((i) => i.line))].sort((a, b) => a! - b!)).toEqual(d.badLines);
        const strings = textPieces(d.text, cuts);
        const buffers = bytePieces(new TextEncoder().encode(d.text), cuts).map((b) => Buffer.from(b));
        expect(await effectDecoded(strings)).toEqual({ issues: whole.left.issues });
        expect(await effectDecoded(buffers)).toEqual({ issues: whole.left.issues });
        const node = await encodeText(Readable.from(buffers));
        expect(E.isLeft(node) ? node.left : "decoded").toEqual(whole.left);
        const cli = await encodeChunks(Readable.from(buffers));
        expect(EffectEither.isLeft(cli.result) ? cli.result.left : "decoded").toEqual(whole.left);
      }),
      { numRuns: 150 },
    );
  });
});

describe("printing and decoding are inverse", () => {
  it("parseModule(stringifyModule(m)) is m, item i on line i + 2; the codec round-trips", () => {
    fc.assert(
      fc.property(arbModule(), (m) => {
        const r = parseModule(stringifyModule(m));
        expect(E.isRight(r) ? { header: r.right.header, items: r.right.items } : r.left).toEqual(m);
        if (E.isRight(r)) expect(r.right.lines).toEqual(m.items.map((_, i) => i + 2));
        expect(ModuleCodec.is(m)).toBe(true);
        expect(ModuleCodec.decode(ModuleCodec.encode(m))).toEqual(E.right(m));
        expect(decodeModule(JSON.parse(JSON.stringify(ModuleCodec.encode(m))))).toEqual(E.right(m));
      }),
      { numRuns: 100 },
    );
  });
});
