/**
 * What `objfold encode` loads before its first line: the static import graph
 * of `src/cli/main.ts`. Loading Effect Schema (or the `effect` barrel, which
 * loads every module of Effect) costs ~300–400 ms, more than the whole encode
 * of a 10 000-function module (docs/performance.md), and even `effect/Either`
 * is 17 modules and ~14 ms of a ~90 ms start, so the CLI's graph loads no
 * `effect` module at all (the core's `Either` values are `src/result.ts`'s)
 * and the schema decoders only when a line needs them
 * (`src/cli/encodeStream.ts`). This test names the import that brings one
 * back. Not a timing test: it reads the sources.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

/** Static value imports of a module (type-only imports and `import()` are not loaded at startup). */
const importsOf = (file: string): string[] => {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)([^;]*?)\s+from\s+"([^"]+)";/gms)) {
    const what = m[1]!;
    // `import { type A, type B } from` loads nothing at run time (verbatimModuleSyntax drops it).
    if (/^\{[^}]*\}$/s.test(what.trim()) && what.replace(/[{}\s]/g, "").split(",").filter(Boolean).every((s) => s.startsWith("type "))) continue;
    out.push(m[2]!);
  }
  for (const m of text.matchAll(/^import\s+"([^"]+)";/gm)) out.push(m[1]!);
  return out;
};

/** Every module the CLI's entry loads statically: local files and package specifiers, each with who imports it. */
const graph = (entry: string): Map<string, string> => {
  const seen = new Map<string, string>([[entry, "(entry)"]]);
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    for (const spec of importsOf(file)) {
      if (spec.startsWith(".")) {
        const target = join(dirname(file), spec).replace(/\.js$/, ".ts");
        if (!seen.has(target)) {
          seen.set(target, file);
          todo.push(target);
        }
      } else if (!seen.has(spec)) seen.set(spec, file);
    }
  }
  return seen;
};

describe("objfold encode's startup", () => {
  it("loads no effect module, and not the schema decoders before a line needs them", () => {
    const g = graph(join(SRC, "cli/main.ts"));
    const heavy = [...g.keys()].filter((h) => h === "effect" || h.startsWith("effect/") || h === join(SRC, "schema/records.ts") || h === join(SRC, "schema/decode.ts"));
    const found = heavy.map((h) => `${h.replace(SRC, "src")} (imported by ${g.get(h)!.replace(SRC, "src")})`);
    expect(found).toEqual([]);
    // The graph is what we think it is: the fast decoder and the encoder are in it.
    expect(g.has(join(SRC, "schema/fast.ts"))).toBe(true);
    expect(g.has(join(SRC, "encode.ts"))).toBe(true);
  });
});
