/**
 * The fold's guard (src/layout/guard.ts) accepts exactly what the schema's
 * `Item` accepts: every generated item passes both, and an item with one
 * field broken (a number out of range, a fraction, NaN, a wrong type) fails
 * both or passes both. And the public fold refuses it with a DecodeError,
 * never a throw or a hang.
 */
import { Schema as S } from "effect";
import * as Either from "effect/Either";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbModule } from "../src/arbitrary.js";
import { encodeModule } from "../src/encode.js";
import { guardItem } from "../src/layout/guard.js";
import { Item, type Module } from "../src/schema/records.js";

const schemaAccepts = S.is(Item);

/** Paths to every leaf of a value (bodies are leaves). */
const leaves = (v: unknown, path: (string | number)[] = []): (string | number)[][] => {
  if (v instanceof Uint8Array || typeof v !== "object" || v === null) return [path];
  const out: (string | number)[][] = [];
  for (const [k, x] of Object.entries(v)) out.push(...leaves(x, [...path, Array.isArray(v) ? Number(k) : k]));
  return out;
};

const setAt = (v: unknown, path: (string | number)[], x: unknown): unknown => {
  if (path.length === 0) return x;
  const [k, ...rest] = path;
  const copy = (Array.isArray(v) ? [...(v as unknown[])] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[k!] = setAt((v as Record<string | number, unknown>)[k!], rest, x);
  return copy;
};

const BAD = [NaN, Infinity, -1, 1.5, -0.5, 2 ** 40, -(2 ** 40), 2 ** 53, 0x10000, 0x100000000, -0x80000001, 3, 0, "1", null, true, undefined, [], new Uint8Array(1)];

const arbItems = arbModule({ maxFunctions: 3 }).map((m) => m.items).filter((items) => items.length > 0);

describe("laws: the fold's guard", () => {
  it("passes every valid item", () => {
    fc.assert(
      fc.property(arbItems, (items) => {
        for (const i of items) expect(guardItem(i)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it("agrees with the schema on items with one field broken", () => {
    fc.assert(
      fc.property(arbItems, fc.nat(), fc.nat(), fc.constantFrom(...BAD), (items, which, leaf, bad) => {
        const item = items[which % items.length]!;
        const paths = leaves(item);
        const path = paths[leaf % paths.length]!;
        const broken = setAt(item, path, bad) as Item;
        expect(guardItem(broken) === undefined, `${path.join(".")} = ${String(bad)}`).toBe(schemaAccepts(broken));
      }),
      { numRuns: 2000 },
    );
  });

  it("the fold refuses a broken item with a DecodeError naming its path", () => {
    const m = (item: unknown): Module => ({ header: { format: "objfold/v1", target: "x86_64-unknown-linux-gnu", forceVeneers: false, symbols: true }, items: [item as Item] });
    const cases: [unknown, string][] = [
      [null, "items.0"],
      [7, "items.0"],
      [{ type: "function", name: 42, body: new Uint8Array(1), alignment: 1, relocations: [] }, "items.0.name"],
      [{ type: "padding", size: -5 }, "items.0.size"],
      [{ type: "padding", size: NaN }, "items.0.size"],
      [{ type: "function", name: "f", body: new Uint8Array(1), alignment: 3, relocations: [] }, "items.0.alignment"],
      [{ type: "function", name: "f", body: new Uint8Array(8), alignment: 1, relocations: [{ offset: -1, kind: "X86CallPCRel4", target: "f", addend: -4 }] }, "items.0.relocations.0.offset"],
      [
        { type: "function", name: "f", body: new Uint8Array(8), alignment: 1, relocations: [], unwind: { kind: "systemv", length: 8, instructions: [{ at: 0, op: "cfaRegister", register: -1 }] } },
        "items.0.unwind.instructions.0.register",
      ],
    ];
    for (const [item, path] of cases) {
      const r = encodeModule(m(item));
      expect(Either.isLeft(r) && r.left._tag === "DecodeError" && r.left.issues[0]!.path.join(".")).toBe(path);
    }
  });
});
