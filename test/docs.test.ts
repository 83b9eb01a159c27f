import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), "utf8");

describe("docs", () => {
  it("docs/errors.md explains every error tag of src/errors.ts", () => {
    const tags = [...read("src/errors.ts").matchAll(/_tag: "([A-Za-z]+)"/g)].map((m) => m[1]!);
    expect(tags.length).toBeGreaterThan(10);
    const doc = read("docs/errors.md");
    const missing = [...new Set(tags)].filter((t) => !doc.includes(`\`${t}\``));
    expect(missing).toEqual([]);
  });

  it("the README opens with the two commands that work on a fresh machine", () => {
    const lines = read("README.md").split("\n").filter((l) => l.trim() !== "");
    const block = lines.slice(0, 6).join("\n");
    expect(block).toContain("npm ci && npm start");
    expect(block).toContain("npm test");
  });

  it("the version printed by the CLI is the package's", () => {
    const pkg = JSON.parse(read("package.json")) as { version: string };
    expect(read("src/version.ts")).toContain(`"${pkg.version}"`);
  });
});
