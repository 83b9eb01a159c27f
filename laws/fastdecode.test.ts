/**
 * Laws of the fast decoding path (`src/schema/fast.ts`, issue 6): on every
 * line, the fast path either declines or gives exactly the value the schema
 * decoder gives — so it never accepts what the schema refuses — and it does
 * take the hot shapes (what `JSON.stringify` and `peer-rust gen` write, in
 * any key order, with any JSON whitespace). Lines go through one scanner in
 * sequence, as in a real module, so its memory (body slabs, the last unwind
 * record, recent names) is under test too; every value is checked again at
 * the end, after later lines have gone through the same slabs.
 */
import { Either, FastCheck as fc, Schema as S } from "effect";
import { describe, expect, it } from "vitest";
import { arbHeaderJson, arbItemJson, arbModule } from "../src/arbitrary.js";
import { decodeHeaderLine, decodeItemBytes, decodeItemLine, decodeItemLineBySchema } from "../src/schema/decode.js";
import { ItemScanner } from "../src/schema/fast.js";
import { Item } from "../src/schema/records.js";

const encodeItem = S.encodeSync(Item);
const utf8 = new TextEncoder();

/** Deep equality of decoded values: the same own keys (absent ≠ undefined), bytes by content, numbers by `Object.is`. */
const same = (a: unknown, b: unknown): boolean => {
  if (a instanceof Uint8Array || b instanceof Uint8Array)
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return Object.is(a, b);
};

// ------------------------------------------------------------------ rendering JSON the ways producers do

type Order = "schema" | "sorted" | "reversed";

/** JSON text of `v` with keys in `order` and the whitespace `ws` (cycled) around every token. */
const render = (v: unknown, order: Order, ws: ReadonlyArray<string>): string => {
  let n = 0;
  const w = (): string => (ws.length === 0 ? "" : ws[n++ % ws.length]!);
  const go = (x: unknown): string => {
    if (Array.isArray(x)) return `[${w()}${x.map((e) => go(e)).join(`${w()},${w()}`)}${w()}]`;
    if (typeof x === "object" && x !== null) {
      let keys = Object.keys(x).filter((k) => (x as Record<string, unknown>)[k] !== undefined);
      if (order === "sorted") keys = keys.sort();
      if (order === "reversed") keys = keys.reverse();
      return `{${w()}${keys.map((k) => `${JSON.stringify(k)}${w()}:${w()}${go((x as Record<string, unknown>)[k])}`).join(`${w()},${w()}`)}${w()}}`;
    }
    return JSON.stringify(x);
  };
  return go(v);
};

const arbStyle = fc.record({
  order: fc.constantFrom<Order>("schema", "sorted", "reversed"),
  ws: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.array(fc.constantFrom("", " ", "\t", "  ", "\r", "\n"), { maxLength: 5 }) }),
});

/** Item JSON values of valid modules: optional fields written or left out (their defaults), as producers do. */
const arbValidItemJsons = (unicodeNames: boolean) =>
  fc.tuple(arbModule({ maxFunctions: 6, unicodeNames }), fc.boolean()).map(([m, sparse]) =>
    m.items.map((item) => {
      const j = encodeItem(item) as Record<string, unknown>;
      if (!sparse || j.type !== "function") return j;
      const relocations = (j.relocations as Array<Record<string, unknown>>).map((r) => (r.addend === 0 ? { ...r, addend: undefined } : r));
      return { ...j, relocations: relocations.length === 0 ? undefined : relocations };
    }),
  );

// ------------------------------------------------------------------ damaging lines

const TOKENS = [
  '"', "\\", "\\u0041", "\\/", ",", ":", "{", "}", "[", "]", " ", "0", "-0", "1e2", "1.5", "01", "-",
  "9007199254740993", "123456789012345", "1234567890123456", "4294967296", "-2147483649", "65536", "256", "-1",
  "true", "false", "null", '""', '"x"', "é", "\u0000", "=", "==", "A", "+", "/", "_",
  '"type":"padding"', '"size":1', '"unwind":{}', '"relocations":[]', '"kind":"windowsX64"', '"op":"cfa"', '"extra":1',
];

const arbDamage = fc.array(fc.record({ at: fc.nat(), del: fc.nat({ max: 3 }), ins: fc.constantFrom(...TOKENS) }), { minLength: 1, maxLength: 3 });

const damage = (line: string, edits: ReadonlyArray<{ at: number; del: number; ins: string }>): string => {
  let s = line;
  for (const e of edits) {
    const at = e.at % (s.length + 1);
    s = s.slice(0, at) + e.ins + s.slice(at + e.del);
  }
  return s;
};

/** `[start, end)` of the JSON object that starts at `from` (no strings with braces in unwind records). */
const objectAt = (s: string, from: number): [number, number] | undefined => {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    if (s[i] === "{") depth++;
    else if (s[i] === "}" && --depth === 0) return [from, i + 1];
  }
  return undefined;
};

/**
 * The line, then lines whose unwind record differs from it in one digit near
 * the record's end (the scanner reuses the last record when the bytes match:
 * a near miss must not count), then the line again.
 */
const unwindNeighbours = (line: string): string[] => {
  const out = [line];
  const key = line.indexOf('"unwind"');
  const open = key < 0 ? -1 : line.indexOf("{", key);
  const span = open < 0 ? undefined : objectAt(line, open);
  if (span !== undefined) {
    const digits: number[] = [];
    for (let i = span[0]; i < span[1]; i++) if (line[i]! >= "0" && line[i]! <= "9") digits.push(i);
    for (const i of digits.slice(-3)) out.push(line.slice(0, i) + String((Number(line[i]) + 1) % 10) + line.slice(i + 1));
    out.push(line);
  }
  return out;
};

/** Base64-ish strings: right and wrong lengths, padding, alphabets, trailing bits. */
const arbBase64ish = fc.oneof(
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString("base64")),
  fc.string({ unit: fc.constantFrom(..."ABCQRSgw+/=-_ 09aAzZ"), maxLength: 12 }),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 9 }), fc.nat({ max: 63 })).map(([b, k]) => {
    const s = Buffer.from(b).toString("base64");
    const at = s.indexOf("=") > 0 ? s.indexOf("=") - 1 : s.length - 1; // the last data character: its unused bits
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    return s.slice(0, at) + alphabet[k]! + s.slice(at + 1);
  }),
);

// ------------------------------------------------------------------ the law

interface Tally {
  fast: number;
  lines: number;
}

/**
 * Feed `lines` through one scanner; each line the fast path takes must
 * decode by the schema to an equal value. Then check every taken value again
 * (later lines share the slabs). Returns how many lines the fast path took.
 */
const checkLines = (lines: ReadonlyArray<string>): Tally => {
  const scanner = new ItemScanner();
  const taken: Array<{ line: string; value: Item }> = [];
  for (const line of lines) {
    const bytes = utf8.encode(line);
    // Not at offset 0 of its buffer, and with bytes after it: the scanner must keep to [start, end).
    const padded = new Uint8Array(bytes.length + 6);
    padded.set(bytes, 3);
    padded.set([0x7d, 0x5d, 0x22], bytes.length + 3);
    const fast = scanner.item(padded, 3, 3 + bytes.length);
    if (fast === undefined) continue;
    const schema = decodeItemLineBySchema(line, 1);
    if (Either.isLeft(schema)) throw new Error(`fast path accepted a line the schema refuses: ${line}\n${JSON.stringify(schema.left)}`);
    if (!same(fast, schema.right)) throw new Error(`fast path and schema disagree on ${line}`);
    taken.push({ line, value: fast });
  }
  for (const { line, value } of taken) {
    const schema = decodeItemLineBySchema(line, 1);
    if (Either.isLeft(schema) || !same(value, schema.right)) throw new Error(`a value changed after later lines: ${line}`);
  }
  return { fast: taken.length, lines: lines.length };
};

describe("the fast item decoder is the schema's decoder where it decides", () => {
  it("takes every item of a valid module with ASCII names, in any key order and whitespace, giving the schema's value", () => {
    fc.assert(
      fc.property(arbValidItemJsons(false), arbStyle, (items, style) => {
        const lines = items.map((j) => render(j, style.order, style.ws));
        const t = checkLines(lines);
        expect(t.fast).toBe(lines.length);
      }),
      { numRuns: 400 },
    );
  });

  it("on valid modules with any names: declines or agrees (non-ASCII names go to the schema)", () => {
    fc.assert(
      fc.property(arbValidItemJsons(true), arbStyle, (items, style) => {
        checkLines(items.flatMap((j) => unwindNeighbours(render(j, style.order, style.ws))));
      }),
      { numRuns: 300 },
    );
  });

  it("on damaged lines: declines or agrees, never accepts what the schema refuses", () => {
    fc.assert(
      fc.property(arbValidItemJsons(false), arbStyle, fc.array(arbDamage, { minLength: 1, maxLength: 6 }), (items, style, damages) => {
        const lines = items.map((j) => render(j, style.order, style.ws));
        const mixed: string[] = [];
        lines.forEach((l, k) => {
          mixed.push(damage(l, damages[k % damages.length]!));
          mixed.push(l); // a good line after a damaged one: slabs and memory must be as if the bad one never came
        });
        checkLines(mixed);
      }),
      { numRuns: 500 },
    );
  });

  it("on bodies of every base64 shape (padding, alphabet, trailing bits): declines or agrees", () => {
    fc.assert(
      fc.property(arbValidItemJsons(false), fc.array(arbBase64ish, { minLength: 1, maxLength: 8 }), (items, bodies) => {
        const lines: string[] = [];
        items.forEach((j, k) => {
          if (j.type === "function") lines.push(JSON.stringify({ ...j, body: bodies[k % bodies.length] }));
          lines.push(JSON.stringify(j));
        });
        checkLines(lines);
      }),
      { numRuns: 400 },
    );
  });

  it("on raw item shapes with any field values (mostly invalid): declines or agrees", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(arbItemJson, fc.jsonValue()), { maxLength: 8 }), arbStyle, (values, style) => {
        checkLines(values.map((v) => render(v, style.order, style.ws)));
      }),
      { numRuns: 300 },
    );
  });

  it("decodeItemLine and decodeItemBytes give exactly what the schema decoder gives, errors included", () => {
    fc.assert(
      fc.property(arbValidItemJsons(true), arbStyle, arbDamage, (items, style, edits) => {
        for (const j of items) {
          const good = render(j, style.order, style.ws);
          for (const line of [good, damage(good, edits)]) {
            const viaText = decodeItemLine(line, 7);
            const bytes = utf8.encode(line);
            const viaBytes = decodeItemBytes(bytes, 0, bytes.length, 7);
            // The bytes mean the text they decode to (a lone surrogate of the string became U+FFFD).
            const pairs = [
              [viaText, decodeItemLineBySchema(line, 7)],
              [viaBytes, decodeItemLineBySchema(new TextDecoder().decode(bytes), 7)],
            ] as const;
            for (const [got, want] of pairs) {
              expect(Either.isRight(got)).toBe(Either.isRight(want));
              if (Either.isRight(got) && Either.isRight(want)) expect(same(got.right, want.right)).toBe(true);
              if (Either.isLeft(got) && Either.isLeft(want)) expect(got.left).toEqual(want.left);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("the fast header decoder is the schema's decoder where it decides", () => {
  const arbValidHeaderJson = fc
    .record({
      target: fc.constantFrom("x86_64-unknown-linux-gnu", "aarch64-apple-darwin", "pulley64", "", "nonsense"),
      forceVeneers: fc.option(fc.boolean(), { nil: undefined }),
      symbols: fc.option(fc.boolean(), { nil: undefined }),
      wasmtime: fc.constantFrom(undefined, "module", "component"),
    })
    .map((h) => ({ format: "objfold/v1", ...h }));

  it("takes valid headers, and on any header line declines or agrees", () => {
    fc.assert(
      fc.property(
        fc.oneof(arbValidHeaderJson, arbHeaderJson, fc.jsonValue()),
        arbStyle,
        fc.option(arbDamage, { nil: undefined }),
        (value, style, edits) => {
          const good = render(value, style.order, style.ws);
          const line = edits === undefined ? good : damage(good, edits);
          const bytes = utf8.encode(line);
          const fast = new ItemScanner().header(bytes, 0, bytes.length);
          const schema = decodeHeaderLine(line, 1);
          if (fast !== undefined) {
            expect(Either.isRight(schema)).toBe(true);
            if (Either.isRight(schema)) expect(same(fast, schema.right)).toBe(true);
          } else if (edits === undefined && Either.isRight(schema) && /^[\x20-\x7e\t\r\n]*$/.test(line) && !line.includes("\\")) {
            throw new Error(`fast path declined a plain valid header: ${line}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
