/**
 * Every ```ts block of the guides is a program that this test runs. The
 * blocks import the package by its own name ("objfold", "objfold/effect",
 * "objfold/arbitrary"), so they are type-checked against the built
 * declarations in dist/ (the package's `exports`) and run against the built
 * JavaScript, as a user would. A ```output block right after a program is
 * its expected standard output; programs also check themselves with
 * `node:assert`, and a program that exits non-zero fails its test.
 *
 * dist/ is rebuilt first when a source file is newer than it.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const GUIDES = ["docs/guide-fp-ts.md", "docs/guide-effect.md", "docs/guide-node.md"];

interface Example {
  readonly guide: string;
  /** Output file stem: `<guide>-<n>`. */
  readonly name: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
  readonly code: string;
  readonly output: string | undefined;
}

/** The programs of a guide, with the ```output block that follows each, if any. */
const examplesOf = (guide: string): Example[] => {
  const text = readFileSync(join(root, guide), "utf8");
  const fence = /^```([\w-]*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm;
  const blocks: Array<{ lang: string; body: string; start: number; end: number }> = [];
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) blocks.push({ lang: m[1]!, body: m[2]!, start: m.index, end: m.index + m[0].length });
  const out: Example[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== "ts") return;
    const next = blocks[i + 1];
    const output = next !== undefined && next.lang === "output" && text.slice(b.end, next.start).trim() === "" ? next.body : undefined;
    const line = text.slice(0, b.start).split("\n").length;
    out.push({ guide, name: `${basename(guide, ".md")}-${out.length + 1}`, line, code: b.body, output });
  });
  return out;
};

const examples = GUIDES.flatMap(examplesOf);
const work = join(root, ".work", `doc-examples-${process.pid}`);

const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith(".ts") ? statSync(join(dir, e.name)).mtimeMs : 0), 0);

const run = (cmd: string, args: string[], cwd: string) => spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 240_000 });

let compiled: { ok: boolean; log: string } = { ok: false, log: "not compiled" };
const results = new Map<string, { status: number | null; stdout: string; stderr: string }>();

/** Run a compiled example (the examples run side by side: most of their time is loading modules). */
const runExample = (name: string): Promise<void> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [join(work, "out", `${name}.js`)], { cwd: work, timeout: 120_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("close", (status) => {
      results.set(name, { status, stdout, stderr });
      resolve();
    });
  });

beforeAll(async () => {
  const entries = ["index", "effect", "arbitrary"].map((e) => join(root, "dist", `${e}.js`));
  const built = entries.every(existsSync) ? Math.min(...entries.map((e) => statSync(e).mtimeMs)) : 0;
  if (newest(join(root, "src")) > built) {
    const b = run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], root);
    if (b.status !== 0) {
      compiled = { ok: false, log: `npm run build failed:\n${b.stdout}${b.stderr}` };
      return;
    }
  }
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const e of examples) writeFileSync(join(work, `${e.name}.ts`), e.code);
  // Inside the package directory, so "objfold" resolves to the package itself (self-reference through `exports`).
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({
      extends: "../../tsconfig.json",
      compilerOptions: { rootDir: ".", outDir: "out", noEmit: false, declaration: false, sourceMap: false, noUnusedLocals: false },
      include: ["*.ts"],
    }),
  );
  const c = run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], work);
  compiled = { ok: c.status === 0, log: `${c.stdout}${c.stderr}` };
  if (compiled.ok) await Promise.all(examples.map((e) => runExample(e.name)));
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("the guides' examples run", () => {
  it("there are examples in every guide", () => {
    for (const g of GUIDES) expect(examples.filter((e) => e.guide === g).length, g).toBeGreaterThan(2);
  });

  it("they type-check against the built package", () => {
    expect(compiled.log.trim()).toBe("");
    expect(compiled.ok).toBe(true);
  });

  for (const e of examples) {
    it(`${e.guide}:${e.line} (${e.name})`, () => {
      expect(compiled.ok, compiled.log).toBe(true);
      const r = results.get(e.name);
      if (r === undefined) throw new Error(`${e.name} did not run`);
      expect(r.stderr, `stderr of ${e.name}`).toBe("");
      expect(r.status, `exit status of ${e.name}\n${r.stdout}`).toBe(0);
      if (e.output !== undefined) expect(r.stdout).toBe(e.output);
    });
  }
});
