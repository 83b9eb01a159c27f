/** Modules for the target and veneer checks: read, re-header, encode with their plan. */
import { readFileSync } from "node:fs";
import { Either } from "effect";
import { encodeModule, foldItems } from "../../src/encode.js";
import { describe as describeError, type ObjfoldError } from "../../src/errors.js";
import { finish } from "../../src/layout/fold.js";
import type { TextPlan } from "../../src/layout/plan.js";
import type { Header, Item } from "../../src/schema/records.js";
import { parseModule } from "../../src/schema/decode.js";

export type FixtureArch = "x86_64" | "aarch64" | "riscv64" | "s390x";

/** The shared fixture copied into the repository (`test/fixtures/shared/<arch>/sample.jsonl`). */
export const fixturePath = (arch: FixtureArch): string => new URL(`../fixtures/shared/${arch}/sample.jsonl`, import.meta.url).pathname;
export const fixtureText = (arch: FixtureArch): string => readFileSync(fixturePath(arch), "utf8");

/** Replace header fields of a JSON Lines module (the items are kept as they are). */
export const reheader = (text: string, fields: Record<string, unknown>): string => {
  const nl = text.indexOf("\n");
  const header = JSON.parse(text.slice(0, nl)) as Record<string, unknown>;
  return JSON.stringify({ ...header, ...fields }) + text.slice(nl);
};

const orThrow = <A>(e: Either.Either<A, ObjfoldError>): A => {
  if (Either.isLeft(e)) throw new Error(describeError(e.left));
  return e.right;
};

export interface Encoded {
  readonly bytes: Uint8Array;
  readonly plan: TextPlan;
}

export const encodeParts = (header: Header, items: ReadonlyArray<Item>): Encoded => ({
  bytes: orThrow(encodeModule({ header, items })),
  plan: orThrow(finish(foldItems(header, items))),
});

/** Decode and encode a JSON Lines module; throws on any error. */
export const encodeText = (text: string): Encoded => {
  const m = orThrow(parseModule(text));
  return encodeParts(m.header, m.items);
};
