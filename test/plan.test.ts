/**
 * The plan keeps a relocation's kind as a code into `RELOCATION_KINDS`, a list
 * written out in `layout/plan.ts` (the CLI must not load the schema to get
 * it). It must name every kind the schema accepts, each once.
 */
import { describe, expect, it } from "vitest";
import { RELOCATION_KINDS } from "../src/layout/plan.js";
import { CallRelocationKind, HostCallRelocation } from "../src/schema/records.js";

describe("the plan's relocation kind codes", () => {
  it("cover exactly the schema's relocation kinds", () => {
    const schemaKinds = [...CallRelocationKind.literals, ...HostCallRelocation.fields.kind.literals];
    expect([...RELOCATION_KINDS].sort()).toEqual([...new Set(schemaKinds)].sort());
    expect(new Set(RELOCATION_KINDS).size).toBe(RELOCATION_KINDS.length);
  });
});
