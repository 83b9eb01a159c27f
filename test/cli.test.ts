import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { CLI, objfold } from "./support/cli.js";
import { requirePeer } from "./support/peer.js";

const SAMPLE = new URL("../examples/sample-x86_64.jsonl", import.meta.url);
const sample = readFileSync(SAMPLE, "utf8");
const dir = mkdtempSync(join(tmpdir(), "objfold-cli-"));
const header = (extra = "") => `{"format":"objfold/v1","target":"x86_64-unknown-linux-gnu"${extra}}`;

describe("objfold encode", () => {
  it("writes an ELF object to -o and nothing to stdout", () => {
    const out = join(dir, "a.o");
    const r = objfold(["encode", SAMPLE.pathname, "-o", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBe(0);
    const bytes = readFileSync(out);
    expect([...bytes.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
  });

  it("reads standard input and writes the same bytes to a non-terminal stdout", () => {
    const fromFile = readFileSync(join(dir, "a.o"));
    const r = objfold(["encode"], sample);
    expect(r.status).toBe(0);
    expect(Buffer.compare(r.stdout, fromFile)).toBe(0);
    const dash = objfold(["encode", "-"], sample.replaceAll("\n", "\r\n"));
    expect(Buffer.compare(dash.stdout, fromFile)).toBe(0);
  });

  it("reports every decoding problem with its line, exits 1 and leaves no file", () => {
    const out = join(dir, "bad.o");
    const text = [
      header(),
      `{"type":"function","name":"f","body":"kA==","alignment":3}`,
      ``,
      `{"type":"function","name":"g","body":"not base64!","alignment":16}`,
      `{"type":"padding","size":-1}`,
      `{nonsense`,
    ].join("\n");
    const r = objfold(["encode", "-o", out], text);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines.some((l) => l.includes("line 2:") && l.includes("alignment"))).toBe(true);
    expect(lines.some((l) => l.includes("line 4:") && l.includes("base64"))).toBe(true);
    expect(lines.some((l) => l.includes("line 5:") && l.includes("size"))).toBe(true);
    expect(lines.some((l) => l.includes("line 6:") && l.includes("JSON"))).toBe(true);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes("bad.o"))).toEqual([]);
  });

  it("names the line of an encoding error, and keeps an existing output file untouched", () => {
    const out = join(dir, "keep.o");
    writeFileSync(out, "previous");
    const text = [
      header(),
      `{"type":"function","name":"f","body":"6AAAAADD","alignment":16,"relocations":[{"offset":1,"kind":"X86CallPCRel4","target":"g","addend":-4}]}`,
      `{"type":"padding","size":16}`,
      `{"type":"function","name":"f","body":"ww==","alignment":16}`,
    ].join("\n");
    const r = objfold(["encode", "-o", out], text);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^objfold: line 4: duplicate function name "f"/);
    expect(readFileSync(out, "utf8")).toBe("previous");
  });

  it("refuses an unknown target, listing the supported ones", () => {
    const r = objfold(["encode"], `{"format":"objfold/v1","target":"mips-unknown-linux-gnu"}\n`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("mips-unknown-linux-gnu");
    expect(r.stderr).toContain("x86_64-unknown-linux-gnu");
    expect(r.stderr).toContain("pulley64be");
  });

  it("refuses a wrong format name and unknown header fields", () => {
    const r = objfold(["encode"], `{"format":"objfold/v2","target":"x86_64-unknown-linux-gnu","forceVeneer":true}\n`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("objfold/v2");
    expect(r.stderr).toContain("forceVeneer");
  });

  it("exits 2 on usage errors and 1 on a missing file", () => {
    expect(objfold(["encode", "--bogus"]).status).toBe(2);
    expect(objfold(["frobnicate"]).status).toBe(2);
    expect(objfold(["encode", "a", "b"]).status).toBe(2);
    expect(objfold(["encode", "-o"]).status).toBe(2);
    const missing = objfold(["encode", join(dir, "nope.jsonl"), "-o", join(dir, "x.o")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("nope.jsonl");
  });

  it("prints help and version", () => {
    const h = objfold(["--help"]);
    expect(h.status).toBe(0);
    expect(h.stdout.toString()).toContain("objfold encode [FILE|-] [-o OUT]");
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(objfold(["--version"]).stdout.toString().trim()).toBe(`objfold ${pkg.version}`);
  });

  it("reports an empty module", () => {
    const r = objfold(["encode"], "\n\n");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("header");
  });
});

describe("objfold encode progress", () => {
  it("draws progress on a terminal and nothing otherwise", async () => {
    const { requireTools, runRaw } = await import("./support/tools.js");
    const { CLI } = await import("./support/cli.js");
    // Any length: the last state is drawn at the end too.
    const lines = [header()];
    for (let i = 0; i < 3000; i++) lines.push(`{"type":"function","name":"f${i}","body":"kJCQkA==","alignment":4}`);
    const input = join(dir, "long.jsonl");
    writeFileSync(input, lines.join("\n"));
    const quiet = objfold(["encode", input, "-o", join(dir, "long.o")]);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe("");
    if (!requireTools("progress on a terminal", "script")) return;
    // util-linux `script` gives the command a pseudo-terminal and records what it printed.
    const log = join(dir, "tty.log");
    const r = runRaw("script", ["-qec", `${process.execPath} ${CLI} encode ${input} -o ${join(dir, "long2.o")}`, log]);
    expect(r.status).toBe(0);
    const shown = readFileSync(log, "utf8");
    expect(shown).toMatch(/objfold: \d+ functions, [\d.]+ MiB read, \d+ lines\/s/);
    expect(Buffer.compare(readFileSync(join(dir, "long.o")), readFileSync(join(dir, "long2.o")))).toBe(0);
  });
});

describe("objfold import", () => {
  const fixtures = new URL("./fixtures/shared/", import.meta.url).pathname;
  for (const arch of ["x86_64", "aarch64", "riscv64", "s390x"]) {
    it(`${arch}: gcc's sample.o imports to the records the fixture holds, and encodes to the same bytes`, () => {
      const out = join(dir, `imported-${arch}.jsonl`);
      const r = objfold(["import", join(fixtures, arch, "sample.o"), "-o", out]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const got = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as unknown);
      const want = readFileSync(join(fixtures, arch, "sample.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as unknown);
      expect(got).toEqual(want);
      const a = objfold(["encode", out]);
      const b = objfold(["encode", join(fixtures, arch, "sample.jsonl")]);
      expect(a.status).toBe(0);
      expect(Buffer.compare(a.stdout, b.stdout)).toBe(0);
    });
  }

  it("refuses what it cannot import with one line and exit 1", () => {
    const obj = join(dir, "a.o"); // an object objfold wrote: no .text.<name> sections
    const r = objfold(["import", obj]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    const junk = join(dir, "junk.o");
    writeFileSync(junk, "not an object");
    const j = objfold(["import", junk]);
    expect(j.status).toBe(1);
    expect(j.stderr).toMatch(/malformed object/);
    expect(objfold(["import"]).status).toBe(2);
  });
});

describe("objfold encode: files and odd inputs", () => {
  it("reports unreadable inputs and unwritable outputs in one line with exit 1, leaving nothing behind", () => {
    const cases: [string[], RegExp][] = [
      [["encode", dir, "-o", join(dir, "x.o")], /^objfold: cannot read .*EISDIR/],
      [["encode", SAMPLE.pathname, "-o", join(dir, "no", "such", "x.o")], /^objfold: cannot write .*no such file/],
      [["encode", SAMPLE.pathname, "-o", dir], /^objfold: cannot write .*is a directory/],
    ];
    for (const [args, msg] of cases) {
      const r = objfold(args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toContain("    at ");
    }
    expect(existsSync(join(dir, "x.o"))).toBe(false);
    expect(readdirSync(dir).some((f) => f.endsWith(".tmp"))).toBe(false);
  });

  it("-o - writes to standard output", () => {
    const a = objfold(["encode", SAMPLE.pathname, "-o", "-"]);
    const b = objfold(["encode", SAMPLE.pathname]);
    expect(a.status).toBe(0);
    expect(Buffer.compare(a.stdout, b.stdout)).toBe(0);
  });

  it("names the header's own line, after blank lines, for an unsupported target — including names of Object.prototype", () => {
    for (const t of ["constructor", "__proto__", "toString", "hasOwnProperty-a-b"]) {
      const r = objfold(["encode"], `\n\n\n{"format":"objfold/v1","target":${JSON.stringify(t)}}\n{"type":"padding","size":1}\n`);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^objfold: line 4: unsupported target`));
      expect(r.stderr).not.toContain("internal error");
    }
  });

  it("refuses names with unpaired surrogates, which would become one symbol", () => {
    const lines = [header(), JSON.stringify({ type: "function", name: "a\ud800", body: "ww==", alignment: 1 }), JSON.stringify({ type: "function", name: "a\udfff", body: "ww==", alignment: 1 })];
    const r = objfold(["encode"], lines.join("\n"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/line 2: name: .*surrogate/);
    expect(r.stderr).toMatch(/line 3: name: .*surrogate/);
  });
});

describe("objfold encode: a file's size sizes the fold, and changes no byte", () => {
  /**
   * `n` functions each calling the next (the last the first): an x86_64
   * `call; ret` or an aarch64 `bl; ret`. `long`: the first `long` names are
   * 200 bytes longer, so the guess the CLI makes after 2048 items is too
   * small; `pad`: that many padding lines first, so it is far too large.
   */
  const chain = (arch: "x86_64" | "aarch64", n: number, opts: { long?: number; pad?: number } = {}): string => {
    const name = (i: number) => `fn_${i}${i < (opts.long ?? 0) ? "_".repeat(200) : ""}`;
    const x86 = arch === "x86_64";
    const body = Buffer.from(x86 ? [0xe8, 0, 0, 0, 0, 0xc3] : [0, 0, 0, 0x94, 0xc0, 0x03, 0x5f, 0xd6]).toString("base64");
    const lines = [`{"format":"objfold/v1","target":"${x86 ? "x86_64" : "aarch64"}-unknown-linux-gnu"}`];
    for (let i = 0; i < (opts.pad ?? 0); i++) lines.push(`{"type":"padding","size":${1 + (i % 7)}}`);
    for (let i = 0; i < n; i++) {
      const reloc = x86 ? { offset: 1, kind: "X86CallPCRel4", target: name((i + 1) % n), addend: -4 } : { offset: 0, kind: "Arm64Call", target: name((i + 1) % n), addend: 0 };
      lines.push(JSON.stringify({ type: "function", name: name(i), body, alignment: 16, relocations: [reloc] }));
    }
    return lines.join("\n") + "\n";
  };

  it("thousands of functions: from a file (sized) as from standard input (not), with the guess right, too small and far too large; the reference's bytes", () => {
    const peer = requirePeer("CLI sizing byte identity");
    for (const arch of ["x86_64", "aarch64"] as const) {
      for (const [label, text] of [
        ["plain", chain(arch, 5000)],
        ["long names first", chain(arch, 5000, { long: 2100 })],
        ["padding first", chain(arch, 3000, { pad: 2100 })],
      ] as const) {
        const file = join(dir, `sized-${arch}-${label.replaceAll(" ", "-")}.jsonl`);
        writeFileSync(file, text);
        const out = join(dir, `sized-${arch}.o`);
        const r = objfold(["encode", file, "-o", out]);
        expect(r.stderr, `${arch} ${label}`).toBe("");
        const fromFile = readFileSync(out);
        const fromStdin = objfold(["encode"], text);
        expect(fromStdin.status, fromStdin.stderr).toBe(0);
        expect(Buffer.compare(fromFile, fromStdin.stdout), `${arch} ${label}: file and stdin`).toBe(0);
        if (peer !== undefined) {
          const theirs = join(dir, `sized-${arch}.peer.o`);
          const p = spawnSync(peer, ["encode", file, "-o", theirs]);
          expect(p.status, p.stderr?.toString()).toBe(0);
          expect(Buffer.compare(fromFile, readFileSync(theirs)), `${arch} ${label}: the reference's bytes`).toBe(0);
        }
      }
    }
  });
});

describe("objfold encode: standard output read slowly", () => {
  const slowRead = async (args: string[], delayMs: number): Promise<{ code: number | null; stdout: Buffer; stderr: string }> => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const err: Buffer[] = [];
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const closed = new Promise<number | null>((r) => child.on("close", r));
    // Nothing read for a while: the pipe fills and the writer must wait.
    await new Promise((r) => setTimeout(r, delayMs));
    const out: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    const code = await closed;
    return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") };
  };

  it("writes a large object whole to a pipe whose reader falls behind (it once failed with EAGAIN)", async () => {
    const file = join(dir, "slow.jsonl");
    const lines = [header()];
    for (let i = 0; i < 20000; i++) lines.push(JSON.stringify({ type: "function", name: `slow_${i}`, body: "6AAAAADD", alignment: 16, relocations: [{ offset: 1, kind: "X86CallPCRel4", target: `slow_${(i + 1) % 20000}`, addend: -4 }] }));
    writeFileSync(file, lines.join("\n") + "\n");
    const out = join(dir, "slow.o");
    expect(objfold(["encode", file, "-o", out]).status).toBe(0);
    const expected = readFileSync(out);
    expect(expected.length).toBeGreaterThan(1 << 19); // far more than a pipe holds
    const r = await slowRead([CLI, "encode", file], 1500);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Buffer.compare(r.stdout, expected)).toBe(0);
  });

  it("writeAll waits out a non-blocking pipe that is full", async () => {
    const writeAllJs = new URL("../dist/cli/writeAll.js", import.meta.url).href;
    // Touching process.stdout makes Node put the pipe in non-blocking mode.
    const script = `import { writeAll } from ${JSON.stringify(writeAllJs)}; void process.stdout.isTTY; writeAll(1, Buffer.alloc(1 << 21, 7));`;
    const r = await slowRead(["--input-type=module", "-e", script], 1000);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(1 << 21);
    expect(r.stdout.every((b) => b === 7)).toBe(true);
  });
});
