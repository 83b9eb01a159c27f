#!/usr/bin/env node
/**
 * objfold's command line: the only code that touches files and the process.
 * Exit codes: 0 success, 1 the input was refused, 2 a usage error.
 */
import { createReadStream, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import * as Either from "effect/Either";
import { describe } from "../errors.js";
import { encodeChunks } from "./encodeStream.js";
import { errorLines } from "../api/lines.js";
import { VERSION } from "../version.js";
import { progress } from "./progress.js";

const USAGE = `objfold ${VERSION}: fold compiled-function records into an ELF object

usage:
  objfold encode [FILE|-] [-o OUT]     read a module (default: standard input), write the ELF object
  objfold inspect OBJECT [--json | --svg OUT.svg]
                                       describe an object objfold wrote: sections, symbols, calls, unwind rows
  objfold perfmap OBJECT --base ADDR   perf-PID.map lines for the object mapped at ADDR (0x… hex or decimal)
  objfold import OBJECT.o [-o OUT]     turn a gcc relocatable object (-ffunction-sections) into a module
  objfold --help | --version

exit codes: 0 done, 1 the input was refused (one line per problem on stderr), 2 usage error
`;

export class UsageError {
  constructor(readonly message: string) {}
}

const fail = (lines: string[], code: number): number => {
  for (const l of lines) process.stderr.write(`objfold: ${l}\n`);
  return code;
};

/** Write `bytes` to `out` atomically: a temporary file beside it, renamed on success. */
const writeAtomically = (out: string, bytes: Uint8Array): void => {
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
};

const encodeCommand = async (args: string[]): Promise<number> => {
  let input: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-o" || a === "--output") {
      out = args[++i];
      if (out === undefined) throw new UsageError("-o needs a file name");
    } else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else if (input === undefined) input = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (out === undefined && process.stdout.isTTY) throw new UsageError("refusing to write a binary object to a terminal: use -o OUT or redirect standard output");
  // 1 MiB reads: a sixteenth of the chunks (and loop turns) of the 64 KiB default.
  const stream = input === undefined || input === "-" ? process.stdin : createReadStream(input, { highWaterMark: 1 << 20 });
  const opened = new Promise<void>((resolve, reject) => {
    if (stream === process.stdin) resolve();
    else stream.once("open", () => resolve()).once("error", reject);
  });
  try {
    await opened;
  } catch (e) {
    return fail([`cannot read ${input}: ${(e as Error).message}`], 1);
  }
  const bar = progress(process.stderr);
  // Lines reach the progress bar as text only on a terminal, where it draws.
  const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
  const onLine = process.stderr.isTTY ? (b: Uint8Array, start: number, end: number) => bar.line(utf8.decode(b.subarray(start, end))) : undefined;
  const r = await encodeChunks(stream as AsyncIterable<Uint8Array>, onLine);
  bar.done();
  if (Either.isLeft(r.result)) return fail(errorLines(r.result.left, r.lineOfItem, describe), 1);
  const bytes = r.result.right;
  if (out !== undefined) writeAtomically(out, bytes);
  else {
    const fd = 1;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  }
  return 0;
};

/** `objfold import OBJECT.o [-o OUT.jsonl]`: a gcc relocatable object → a module (the importer). */
const importCommand = async (args: string[]): Promise<number> => {
  let input: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-o" || a === "--output") {
      out = args[++i];
      if (out === undefined) throw new UsageError("-o needs a file name");
    } else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
    else if (input === undefined) input = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (input === undefined) throw new UsageError("import needs an object file");
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(input));
  } catch (e) {
    return fail([`cannot read ${input}: ${(e as Error).message}`], 1);
  }
  const { importObject, renderJsonLines } = await import("../importer/index.js");
  const r = importObject(bytes);
  if (Either.isLeft(r)) return fail([`${input}: ${describe(r.left)}`], 1);
  const text = renderJsonLines(r.right);
  if (out !== undefined) writeAtomically(out, new TextEncoder().encode(text));
  else process.stdout.write(text);
  return 0;
};

const inspectCommand = async (args: string[]): Promise<number> => {
  const { inspectMain } = await import("./inspect.js");
  return inspectMain(args, fail, (m) => new UsageError(m));
};

const perfmapCommand = async (args: string[]): Promise<number> => {
  const { perfmapMain } = await import("./inspect.js");
  return perfmapMain(args, fail, (m) => new UsageError(m));
};

export const main = async (argv: string[]): Promise<number> => {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "encode":
        return await encodeCommand(rest);
      case "inspect":
        return await inspectCommand(rest);
      case "perfmap":
        return await perfmapCommand(rest);
      case "import":
        return await importCommand(rest);
      case "--help":
      case "-h":
      case "help":
        process.stdout.write(USAGE);
        return 0;
      case "--version":
      case "-V":
        process.stdout.write(`objfold ${VERSION}\n`);
        return 0;
      case undefined:
        process.stderr.write(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command ${cmd}`);
    }
  } catch (e) {
    if (e instanceof UsageError) return fail([e.message, "try 'objfold --help'"], 2);
    return fail([`internal error: ${(e as Error).stack ?? String(e)}`], 3);
  }
};

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
