/**
 * `objfold inspect OBJECT [--json | --svg OUT.svg]` and
 * `objfold perfmap OBJECT --base ADDR`: read an object objfold wrote and
 * describe it (text, the `objfold-inspect/v1` JSON, an SVG picture of
 * `.text`, or the lines of a perf JIT map). Exit codes as everywhere: 0 done,
 * 1 the object was refused (one line on stderr), 2 usage error (thrown as the
 * usage value main.ts turns into its message).
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as Either from "effect/Either";
import { describe } from "../errors.js";
import { inspectObject } from "../inspect/inspect.js";
import type { Inspection } from "../inspect/model.js";
import { parseAddress, perfMap } from "../inspect/perfmap.js";
import { renderSvg } from "../inspect/svg.js";
import { printable, renderText } from "../inspect/text.js";

type Fail = (lines: string[], code: number) => number;
type Usage = (m: string) => unknown;

/** A closed reader (`objfold inspect x.o | head`) ends the output quietly instead of with a stack trace. */
const quietPipe = (): void => {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
};

const read = (file: string, fail: Fail): Inspection | number => {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    return fail([printable(`cannot read ${file}: ${(e as Error).message}`)], 1);
  }
  const r = inspectObject(bytes);
  return Either.isLeft(r) ? fail([printable(`${file}: ${describe(r.left)}`)], 1) : r.right;
};

export const inspectMain = (args: string[], fail: Fail, usage: Usage): number => {
  let file: string | undefined;
  let json = false;
  let svg: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--json") json = true;
    else if (a === "--svg") {
      svg = args[++i];
      if (svg === undefined) throw usage("--svg needs a file name");
    } else if (a.startsWith("-") && a !== "-") throw usage(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw usage(`unexpected argument ${a}`);
  }
  if (file === undefined) throw usage("inspect needs an object file: objfold inspect OBJECT [--json | --svg OUT.svg]");
  if (json && svg !== undefined) throw usage("choose one of --json and --svg");
  quietPipe();
  const d = read(file, fail);
  if (typeof d === "number") return d;
  if (svg !== undefined) {
    try {
      writeFileSync(svg, renderSvg(d, file.split("/").pop() ?? file));
    } catch (e) {
      return fail([printable(`cannot write ${svg}: ${(e as Error).message}`)], 1);
    }
    return 0;
  }
  process.stdout.write(json ? `${JSON.stringify(d, null, 2)}\n` : `${renderText(d, file)}\n`);
  return 0;
};

export const perfmapMain = (args: string[], fail: Fail, usage: Usage): number => {
  let file: string | undefined;
  let base: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--base") {
      base = args[++i];
      if (base === undefined) throw usage("--base needs an address");
    } else if (a.startsWith("-") && a !== "-") throw usage(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw usage(`unexpected argument ${a}`);
  }
  if (file === undefined || base === undefined) throw usage("perfmap needs an object file and a base address: objfold perfmap OBJECT --base ADDR");
  const at = parseAddress(base);
  if (at === undefined) throw usage(`--base ${base}: expected an address, 0x-prefixed hexadecimal or decimal, below 2^64`);
  quietPipe();
  const d = read(file, fail);
  if (typeof d === "number") return d;
  const lines = perfMap(d, at);
  if (Either.isLeft(lines)) return fail([`${file}: ${lines.left}`], 1);
  process.stdout.write(lines.right.map((l) => `${l}\n`).join(""));
  return 0;
};
