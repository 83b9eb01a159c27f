/**
 * Laws of the faces (issue 5): one module, one object, whichever face
 * encodes it and however its items or its text arrive in chunks; one
 * defect, one error tag (and item), in every face; forks of a fold state
 * are fresh folds. Targets, `forceVeneers` and chunk boundaries are drawn.
 */
import { Effect, FastCheck as fc } from "effect";
import * as E from "fp-ts/lib/Either.js";
import { pipe } from "fp-ts/lib/function.js";
import { describe, expect, it } from "vitest";
import {
  arbCfaInstruction,
  arbFarModule,
  arbInvalidModule,
  arbModule,
  arbSystemVUnwind,
  cfaOpsOf,
  type Defect,
  DEFECT_TAG,
  TARGETS,
} from "../src/arbitrary.js";
import { encodeEffect } from "../src/effect.js";
import { begin, type CfaInstruction, encode, finish, type Module, type ObjfoldError, stepAll } from "../src/index.js";
import { disagreeing, faces, sameBytes } from "./support/faces.js";

const arbCuts = fc.record({ items: fc.array(fc.nat(), { maxLength: 6 }), text: fc.array(fc.nat(), { maxLength: 12 }) });

type Fp = E.Either<ObjfoldError, Uint8Array>;
const same = (a: Fp, b: Fp): boolean =>
  E.isRight(a) && E.isRight(b)
    ? sameBytes(a.right, b.right)
    : E.isLeft(a) && E.isLeft(b) && a.left._tag === b.left._tag && JSON.stringify(a.left) === JSON.stringify(b.left);

describe("every face gives the same object", () => {
  it("valid modules, any target, any chunking of the items and of the text", async () => {
    await fc.assert(
      fc.asyncProperty(arbModule(), arbCuts, async (m, cuts) => {
        const o = await faces(m, cuts);
        const first = o["fp-ts encode"]!;
        expect(first.ok ? "ok" : JSON.stringify(first.error)).toBe("ok");
        expect(disagreeing(o)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it("aarch64 calls across ~128 MiB, around the reach of bl (veneers or not)", async () => {
    await fc.assert(
      fc.asyncProperty(arbFarModule(), arbCuts, async (m, cuts) => {
        const o = await faces(m, cuts);
        const first = o["fp-ts encode"]!;
        expect(first.ok ? "ok" : JSON.stringify(first.error)).toBe("ok");
        expect(disagreeing(o)).toEqual([]);
      }),
      { numRuns: 3 },
    );
  });
});

describe("invalid modules give exactly their paired error", () => {
  it("in every face: the tag, and the item where the error names one", async () => {
    await fc.assert(
      fc.asyncProperty(arbInvalidModule(), arbCuts, async (inv, cuts) => {
        const r = encode(inv.module);
        expect(E.isLeft(r) ? r.left._tag : "encoded").toBe(inv.tag);
        if (E.isLeft(r) && inv.item !== undefined) expect("item" in r.left ? r.left.item : undefined).toBe(inv.item);
        expect(disagreeing(await faces(inv.module, cuts))).toEqual([]);
      }),
      { numRuns: 120 },
    );
  });

  it("every defect applies to some target and is drawn", () => {
    const seen = new Set<Defect>();
    for (const inv of fc.sample(arbInvalidModule(), { numRuns: 400, seed: 5 })) seen.add(inv.defect);
    expect([...seen].sort()).toEqual(Object.keys(DEFECT_TAG).sort());
  });

  it("Effect.catchTag and catchTags select the plain error values by their tag", () => {
    fc.assert(
      fc.property(arbInvalidModule(), (inv) => {
        const tag = (e: { readonly _tag: string }) => Effect.succeed(e._tag);
        const caught = Effect.runSync(
          encodeEffect(inv.module).pipe(
            Effect.map(() => "encoded"),
            Effect.catchTags({
              UnsupportedTarget: tag,
              DuplicateName: tag,
              AlignmentTooLarge: tag,
              RelocationKindNotForTarget: tag,
              RelocationAddend: tag,
              SiteOutsideBody: tag,
              UnknownCallTarget: tag,
              MisalignedCallSite: tag,
              CallOutOfRange: tag,
              UnwindKindNotForTarget: tag,
              UnwindOutOfOrder: tag,
              UnwindBeyondLength: tag,
              UnwindNotFactored: tag,
              TextTooLarge: tag,
            }),
          ),
        );
        expect(caught).toBe(inv.tag);
      }),
      { numRuns: 60 },
    );
    const [far] = fc.sample(arbInvalidModule({ defects: ["callOutOfRange"] }), { numRuns: 1, seed: 1 });
    const distance = Effect.runSync(
      encodeEffect(far!.module).pipe(
        Effect.map(() => 0),
        Effect.catchTag("CallOutOfRange", (e) => Effect.succeed(Math.abs(e.distance))),
      ),
    );
    expect(distance).toBeGreaterThan(0x7ffff7ff);
  });
});

describe("the fold is persistent", () => {
  const arbFork = arbModule().chain((m) => fc.tuple(fc.constant(m), arbModule({ target: m.header.target }), fc.nat()));

  it("stepping an older state (a fork) gives the same bytes as a fresh fold of the same items", () => {
    fc.assert(
      fc.property(arbFork, ([m, other, n]: [Module, Module, number]) => {
        const k = n % (m.items.length + 1);
        const prefix = m.items.slice(0, k);
        const sk = pipe(begin(m.header), stepAll(prefix));
        // Move the chain on along another branch first, so that `sk` is no longer its tip.
        const branch = pipe(sk, stepAll(other.items));
        const fork = finish(pipe(sk, stepAll(m.items.slice(k))));
        expect(same(fork, encode(m))).toBe(true);
        expect(same(finish(branch), finish(pipe(begin(m.header), stepAll([...prefix, ...other.items]))))).toBe(true);
        // Finishing (sealing) states of a chain changes nothing for the others either.
        expect(same(finish(sk), finish(pipe(begin(m.header), stepAll(prefix))))).toBe(true);
        expect(same(finish(pipe(sk, stepAll(m.items.slice(k)))), fork)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe("the arbitraries cover the format", () => {
  it("SystemV programs use every instruction of the schema, and each encodes on every SystemV target", () => {
    for (const t of TARGETS.filter((x) => x.unwind === "systemv")) {
      const ops = cfaOpsOf(t.arch);
      const seen = new Set(fc.sample(arbSystemVUnwind(t.arch, 64), { numRuns: 200, seed: 3 }).flatMap((u) => u.instructions.map((i) => i.op)));
      expect([...seen].sort()).toEqual([...ops].sort());
      const instructions = ops.map((op, i) => ({ ...fc.sample(arbCfaInstruction(op), { numRuns: 1, seed: i })[0]!, at: 0 }));
      const m: Module = {
        header: { format: "objfold/v1", target: t.triple, forceVeneers: false, symbols: true },
        items: [{ type: "function", name: "f", body: new Uint8Array(16), alignment: 16, relocations: [], unwind: { kind: "systemv", length: 16, instructions: instructions as CfaInstruction[] } }],
      };
      expect(E.isRight(encode(m))).toBe(true);
    }
  });
});
