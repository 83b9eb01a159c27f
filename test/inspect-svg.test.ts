/**
 * `objfold inspect OBJECT --svg OUT.svg` renders: headless Chromium (Debian's
 * `chromium`, installed by .ci/run) takes a screenshot of the SVG, and the
 * decoded PNG must not be blank — it must show the functions' colour, and
 * the veneers' colour where there are veneers. (A broken SVG renders as
 * Chromium's XML error page: text, but none of these colours.)
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { objfold } from "./support/cli.js";
import { fixtureText, reheader } from "./support/modules.js";
import { countColour, decodePng } from "./support/png.js";
import { requireTools, runRaw } from "./support/tools.js";

const dir = mkdtempSync(join(tmpdir(), "objfold-svg-"));

const FUNCTION_BLUE = [0x35, 0x69, 0xb8] as const;
const VENEER_ORANGE = [0xe8, 0x89, 0x1c] as const;
const WHITE = [0xff, 0xff, 0xff] as const;

const svgOf = (name: string, text: string): string => {
  const src = join(dir, `${name}.jsonl`);
  const obj = join(dir, `${name}.o`);
  const svg = join(dir, `${name}.svg`);
  writeFileSync(src, text);
  expect(objfold(["encode", src, "-o", obj]).status).toBe(0);
  const r = objfold(["inspect", obj, "--svg", svg]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout.length).toBe(0);
  return svg;
};

const screenshot = (svg: string): string => {
  const png = svg.replace(/\.svg$/, ".png");
  const profile = mkdtempSync(join(tmpdir(), "objfold-chromium-"));
  const r = runRaw(
    "chromium",
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      `--screenshot=${png}`,
      "--window-size=1200,800",
      `file://${svg}`,
    ],
    { timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`chromium failed (${r.status}): ${r.stderr}`);
  return png;
};

describe("objfold inspect --svg", () => {
  it("writes an SVG document and nothing to stdout", () => {
    const svg = readFileSync(svgOf("x86_64", fixtureText("x86_64")), "utf8");
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    for (const name of ["mix", "checksum", "drive"]) expect(svg).toContain(name);
  });

  for (const [name, text, veneers] of [
    ["x86_64", () => fixtureText("x86_64"), false],
    ["aarch64-veneers", () => reheader(fixtureText("aarch64"), { forceVeneers: true }), true],
  ] as const)
    it(`${name}: renders in headless Chromium, not blank`, () => {
      if (!requireTools("SVG rendering", "chromium")) return;
      const img = decodePng(readFileSync(screenshot(svgOf(name, text()))));
      expect([img.width, img.height]).toEqual([1200, 800]);
      const total = img.width * img.height;
      const background = countColour(img, WHITE, 0);
      expect(total - background).toBeGreaterThan(total / 50);
      expect(countColour(img, FUNCTION_BLUE)).toBeGreaterThan(2000);
      if (veneers) expect(countColour(img, VENEER_ORANGE)).toBeGreaterThan(200);
    });
});
