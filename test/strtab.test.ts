/**
 * The string table (`src/elf/strtab.ts`) against a line-by-line transcription
 * of object 0.30's `StringTable::write` (multikey quicksort on the bytes
 * counted from the end, then suffix sharing with the string written just
 * before), on any strings; against peer-rust on modules whose names share
 * suffixes in every way; and the fold's name table against a `Map`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FastCheck as fc } from "effect";
import { describe, expect, it } from "vitest";
import { writeObject } from "../src/elf/object.js";
import { buildStringTable, buildStringTableOfIds, buildStringTableOfNames } from "../src/elf/strtab.js";
import { encodeModule, finishPlan } from "../src/encode.js";
import { begin, step } from "../src/layout/fold.js";
import { NameTable } from "../src/layout/names.js";
import type { Item } from "../src/schema/records.js";
import { requirePeer } from "./support/peer.js";
import { runRaw } from "./support/tools.js";

/** object 0.30 `src/write/string.rs`, transcribed: `add` (IndexSet), `write(base = 1)`, `sort`, `byte`. */
const objectStringTable = (strings: ReadonlyArray<string>): { bytes: number[]; offsets: number[] } => {
  const set: Uint8Array[] = [];
  const index = new Map<string, number>();
  const ids = strings.map((s) => {
    let id = index.get(s);
    if (id === undefined) {
      id = set.length;
      index.set(s, id);
      set.push(new TextEncoder().encode(s));
    }
    return id;
  });
  const byte = (id: number, pos: number): number => {
    const s = set[id]!;
    return s.length >= pos ? s[s.length - pos]! : 0;
  };
  const sort = (v: number[], lo: number, hi: number, pos: number): void => {
    for (;;) {
      if (hi - lo <= 1) return;
      const pivot = byte(v[lo]!, pos);
      let lower = lo;
      let upper = hi;
      let i = lo + 1;
      while (i < upper) {
        const b = byte(v[i]!, pos);
        if (b > pivot) {
          [v[lower], v[i]] = [v[i]!, v[lower]!];
          lower++;
          i++;
        } else if (b < pivot) {
          upper--;
          [v[upper], v[i]] = [v[i]!, v[upper]!];
        } else i++;
      }
      sort(v, lo, lower, pos);
      sort(v, upper, hi, pos);
      if (pivot === 0) return;
      lo = lower;
      hi = upper;
      pos++;
    }
  };
  const order = set.map((_, k) => k);
  sort(order, 0, order.length, 1);
  const bytes = [0];
  const at = new Array<number>(set.length).fill(0);
  let offset = 1;
  let previous: Uint8Array = new Uint8Array(0);
  for (const id of order) {
    const s = set[id]!;
    const endsWith = s.length <= previous.length && s.every((b, k) => b === previous[previous.length - s.length + k]);
    if (endsWith) at[id] = offset - s.length - 1;
    else {
      at[id] = offset;
      bytes.push(...s, 0);
      offset += s.length + 1;
      previous = s;
    }
  }
  return { bytes, offsets: ids.map((id) => at[id]!) };
};

/** `got` is object's table of `strings`: the same bytes and the same offset for each string. Returns object's table. */
const expectObjectTable = (got: { readonly bytes: Uint8Array; readonly offsets: Uint32Array }, strings: ReadonlyArray<string>): { bytes: number[]; offsets: number[] } => {
  const want = objectStringTable(strings);
  expect([...got.bytes]).toEqual(want.bytes);
  expect([...got.offsets]).toEqual(want.offsets);
  return want;
};

const pieces = ["a", "b", "ab", "ba", "_", "0", "1", "9", "_wasm_function_", "é", "€", "😀", "x".repeat(5), "\u00ff", "\u0100"];
/** Strings built from pieces that share suffixes and prefixes in every way, repeats and suffixes of each other included. */
const arbStrings = fc
  .array(fc.array(fc.constantFrom(...pieces), { maxLength: 6 }).map((p) => p.join("")), { maxLength: 60 })
  .chain((ss) => fc.array(fc.nat(), { maxLength: 20 }).map((cuts) => [...ss, ...cuts.map((c) => (ss.length === 0 ? "" : ss[c % ss.length]!.slice(c % 5)))]));

describe("string table: object's layout", () => {
  it("equals object 0.30's StringTable::write on any strings", () => {
    fc.assert(
      fc.property(arbStrings, (strings) => {
        const got = buildStringTable(strings);
        expect(got.size).toBe(expectObjectTable(got, strings).bytes.length);
      }),
      { numRuns: 1000 },
    );
  });

  it("equals it on Cranelift-style names, many and of mixed lengths", () => {
    const names = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `_wasm_function_${i}` : i % 3 === 1 ? `_trampoline_${i % 700}` : `${i}`));
    expectObjectTable(buildStringTable(names), names);
  });

  it("equals it on large tables (tens of thousands of names, and of short random strings: long runs of equal keys)", () => {
    const names = Array.from({ length: 40000 }, (_, i) => (i % 4 === 0 ? `_wasm_function_${i}` : i % 4 === 1 ? `_trampoline_${i % 7000}` : i % 4 === 2 ? `${i}` : `f${(i * 7919) % 40000}é`));
    const random = fc.sample(fc.string({ unit: "binary", maxLength: 6 }).filter((s) => s.isWellFormed() && !s.includes("\u0000")), { numRuns: 20000, seed: 42 });
    for (const strings of [names, random]) {
      const want = objectStringTable(strings);
      const got = buildStringTable(strings);
      expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes))).toBe(true);
      expect([...got.offsets]).toEqual(want.offsets);
    }
  });

  it("equals it when few last-4-byte keys are possible (the sort on all 8 bytes at once) and when a few long runs share them (run by run)", () => {
    // 10⁶ `_wasm_function_N` have ≤ 11⁴ last-4-byte keys: the whole 8-byte key is sorted at once. Shrunk: 6000 names, 60 last-4-byte keys.
    const few = Array.from({ length: 6000 }, (_, i) => `_wasm_function_${(i * 7) % 6000}_${"ab"[i % 2]}${"xyz"[i % 3]}`);
    const tails = Array.from({ length: 6000 }, (_, i) => `f${i}_end`); // one last-4-byte key for all
    // Many possible keys (run by run), with runs of 60–200 equal last 4 bytes among them.
    const mixed = [...Array.from({ length: 20000 }, (_, i) => `g${(i * 48271) % 1000003}`), ...Array.from({ length: 400 }, (_, i) => `${i % 2 === 0 ? "x" : "xy"}${i}_run${i % 3}`)];
    for (const strings of [few, tails, [...few, ...tails], mixed]) expectObjectTable(buildStringTable(strings), strings);
  });

  it("equals it on strings with long shared ends (later sort rounds, sharing decided at the 4- and 8-byte key edges)", () => {
    // Ends of 1 to 21 bytes cut from a few long tails, after short prefixes: runs of equal last-8 bytes, strings that end others at every length.
    const tails = ["_wasm_function_1234567", "abcdefghijklmnopqrstu", "0123456701234567", "éabcdefgh€"];
    const arbLong = fc.array(
      fc.record({ prefix: fc.constantFrom("", "a", "b", "_", "9", "é", "xy"), tail: fc.constantFrom(...tails), cut: fc.nat(22) }).map(({ prefix, tail, cut }) => prefix + tail.slice(Math.min(cut, tail.length))),
      { maxLength: 120 },
    );
    fc.assert(
      fc.property(arbLong, (strings) => {
        expectObjectTable(buildStringTable(strings), strings);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses a string holding a NUL (a defect: the schema refuses such names)", () => {
    expect(() => buildStringTable(["a\u0000b"])).toThrow(/NUL/);
  });
});

describe("string table: byte-identical to peer-rust on names that share suffixes", () => {
  it("x86_64 and s390x modules of such names", () => {
    const peer = requirePeer("string table byte identity");
    if (peer === undefined) return;
    const dir = mkdtempSync(join(tmpdir(), "objfold-strtab-"));
    const names = [...new Set(["a", "ba", "cba", "dcba", "b", "ab", "é", "xé", "€é", "😀", "a😀", "_wasm_function_1", "_wasm_function_11", "function_11", "1", "11", "n_1", "x".repeat(300), "yx".repeat(150)])];
    for (const target of ["x86_64-unknown-linux-gnu", "s390x-unknown-linux-gnu"]) {
      const header = { format: "objfold/v1" as const, target };
      const items: Item[] = names.map((name) => ({ type: "function", name, body: new Uint8Array([0xc3, 0x07]), alignment: 1, relocations: [] }));
      const text = [JSON.stringify(header), ...items.map((i) => JSON.stringify({ ...i, body: "wwc=" }))].join("\n") + "\n";
      const jsonl = join(dir, `${target}.jsonl`);
      const theirs = join(dir, `${target}.peer.o`);
      writeFileSync(jsonl, text);
      const r = runRaw(peer, ["encode", jsonl, "-o", theirs]);
      expect(r.status, r.stderr).toBe(0);
      const ours = encodeModule({ header: { ...header, forceVeneers: false, symbols: true }, items });
      expect(ours._tag).toBe("Right");
      if (ours._tag === "Right") expect(Buffer.from(ours.right).equals(readFileSync(theirs))).toBe(true);
    }
  });
});

describe("string table: from the fold's name pool", () => {
  const utf8 = new TextEncoder();
  /** A name pool as the fold keeps one: every name's bytes one after another, `start` with one entry more. */
  const poolOf = (names: ReadonlyArray<string>) => {
    const bytes = names.map((n) => utf8.encode(n));
    const start = new Uint32Array(names.length + 1);
    bytes.forEach((b, k) => (start[k + 1] = start[k]! + b.length));
    const pool = new Uint8Array(start[names.length]! + 7); // room past the last name, as a grown pool has
    bytes.forEach((b, k) => pool.set(b, start[k]!));
    return { pool, start };
  };
  const distinct = arbStrings.map((ss) => [...new Set(ss)]);

  it("every name, in id order, or some of them in any order: object's table of those strings", () => {
    fc.assert(
      fc.property(distinct.chain((names) => fc.tuple(fc.constant(names), fc.shuffledSubarray(names.map((_, k) => k)))), ([names, pick]) => {
        const p = poolOf(names);
        expectObjectTable(buildStringTableOfNames(p), names);
        expectObjectTable(buildStringTableOfIds(p, Uint32Array.from(pick)), pick.map((k) => names[k]!));
      }),
      { numRuns: 500 },
    );
  });

  it("a step that failed after its name was interned leaves no symbol behind: the object is a fresh fold's", () => {
    const header = { format: "objfold/v1" as const, target: "x86_64-unknown-linux-gnu", forceVeneers: false, symbols: true };
    const fn = (name: string, alignment = 16): Item => ({ type: "function", name, body: new Uint8Array([0xc3]), alignment, relocations: [] });
    const s1 = step(begin(header), fn("first"));
    // Alignment past the text's: refused after its name was interned.
    const failed = step(s1, fn("refused_name", 1 << 20));
    expect(failed.failure?._tag).toBe("AlignmentTooLarge");
    const plan = finishPlan(step(s1, fn("second")));
    const fresh = finishPlan(step(step(begin(header), fn("first")), fn("second")));
    expect(plan._tag === "Right" && fresh._tag === "Right").toBe(true);
    if (plan._tag !== "Right" || fresh._tag !== "Right") return;
    // Whether the fold kept the refused name (the table is then made of the functions' names only) or not, the bytes are the same.
    expect(plan.right.strtabIndex === undefined).toBe(plan.right.text.fns.names.size !== plan.right.text.fns.count);
    expect(Buffer.from(writeObject(plan.right)).equals(Buffer.from(writeObject(fresh.right)))).toBe(true);
  });
});

describe("the fold's name table", () => {
  it("gives the same ids as a Map over thousands of names: new ones waiting for their slots, repeats, growth, and a table reserved up front", () => {
    const utf8 = new TextEncoder();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.boolean(), fc.integer({ min: 1, max: 9 }), (n, reserve, every) => {
        const t = new NameTable();
        if (reserve) t.reserve(n);
        const m = new Map<string, number>();
        const got: number[] = [];
        const want: number[] = [];
        for (let k = 0; k < n; k++) {
          // Cranelift's order (a function, then the call to the next) and, every few names, one seen long ago or a new one.
          for (const name of [`_wasm_function_${k}`, `_wasm_function_${k + 1}`, k % every === 0 ? `_wasm_function_${(k * 7919) % (k + 1)}` : `libcall_${k % 37}`]) {
            if (!m.has(name)) m.set(name, m.size);
            const b = utf8.encode(`"${name}"`);
            got.push(k % 2 === 0 ? t.intern(name) : t.internBytes(b, 1, b.length - 1));
            want.push(m.get(name)!);
          }
        }
        expect(got).toEqual(want);
        expect(t.size).toBe(m.size);
        for (const [name, id] of m) expect(t.intern(name)).toBe(id);
      }),
      { numRuns: 30 },
    );
  });

  it("gives each name the index of its first sight, as a Map would, whether it comes as a string or as UTF-8 bytes", () => {
    const keys = fc.constantFrom("", "a", "b", "ab", "_wasm_function_1", "_wasm_function_2", "é", "😀", "\u0000", "x".repeat(5000));
    const utf8 = new TextEncoder();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.oneof(keys, fc.string({ maxLength: 4 }), fc.string({ unit: "binary", maxLength: 4 }).filter((s) => s.isWellFormed()))), { maxLength: 300 }),
        (ops) => {
          const t = new NameTable();
          const m = new Map<string, number>();
          for (const [asBytes, k] of ops) {
            if (!m.has(k)) m.set(k, m.size);
            // As bytes: inside a larger buffer, at an offset, as the scanner hands them over.
            const b = utf8.encode(`{"${k}"}`);
            expect(asBytes ? t.internBytes(b, 2, b.length - 2) : t.intern(k)).toBe(m.get(k));
            expect(t.size).toBe(m.size);
          }
          const { pool, start } = t.bytes();
          expect(start.length).toBe(m.size + 1);
          for (const [k, id] of m) {
            expect(t.intern(k)).toBe(id);
            expect(t.string(id)).toBe(k);
            expect(Buffer.from(pool.subarray(start[id], start[id + 1])).toString("utf8")).toBe(k);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
