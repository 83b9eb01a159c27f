#!/usr/bin/env node
/**
 * objfold's command line: the only code that touches files and the process.
 * Exit codes: 0 success, 1 the input was refused, 2 a usage error.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { isatty } from "node:tty";
import { dirname, basename, join } from "node:path";
import * as Either from "../result.js";
import { Defect } from "../bytes/writer.js";
import { objectParts } from "../elf/object.js";
import { describe } from "../errors.js";
import { encodeChunks, readChunks } from "./encodeStream.js";
import { errorLines } from "../api/lines.js";
import { VERSION } from "../version.js";
import { progress } from "./progress.js";
import { writeAll } from "./writeAll.js";

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

/** `[FILE|-] [-o OUT]`, the arguments of `encode` and `import`. */
const inputAndOutput = (args: string[]): { input: string | undefined; out: string | undefined } => {
  let input: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-o" || a === "--output") {
      out = args[++i];
      if (out === undefined || out === "") throw new UsageError("-o needs a file name");
    } else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else if (input === undefined) input = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  return { input, out: out === "-" ? undefined : out };
};

/** Why `out` cannot be written, before any work is done; undefined when it can. */
const unwritable = (out: string): string | undefined => {
  try {
    if (existsSync(out) && statSync(out).isDirectory()) return `cannot write ${out}: it is a directory`;
    const dir = dirname(out);
    if (!statSync(dir).isDirectory()) return `cannot write ${out}: ${dir} is not a directory`;
  } catch (e) {
    return `cannot write ${out}: ${(e as Error).message}`;
  }
  return undefined;
};

/**
 * Write the parts, in order, to `out` (a temporary file beside it, renamed
 * on success, so `out` is whole or untouched) or to standard output; a
 * problem as one line. The parts are made as they are written (`objectParts`),
 * so the whole object is never in memory at once. A defect met while making
 * them is rethrown: it is objfold's, not the file system's.
 */
const writeOutput = (out: string | undefined, parts: Iterable<Uint8Array>): string | undefined => {
  if (out === undefined) {
    try {
      for (const p of parts) writeAll(1, p);
      return undefined;
    } catch (e) {
      if (e instanceof Defect) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      return code === "EPIPE" ? "" : `cannot write standard output: ${(e as Error).message}`;
    }
  }
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "w");
    for (const p of parts) writeAll(fd, p);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, out);
    return undefined;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    if (e instanceof Defect) throw e;
    return `cannot write ${out}: ${(e as Error).message}`;
  }
};

/** Report a write problem ("" is a closed pipe: nothing to say, still a failure). */
const written = (problem: string | undefined): number => (problem === undefined ? 0 : problem === "" ? 1 : fail([problem], 1));

const encodeCommand = async (args: string[]): Promise<number> => {
  const { input, out } = inputAndOutput(args);
  // `isatty`, not `process.stdout.isTTY`: making the stream would make a pipe non-blocking (see `writeAll`).
  if (out === undefined && isatty(1)) throw new UsageError("refusing to write a binary object to a terminal: use -o OUT or redirect standard output");
  const bad = out === undefined ? undefined : unwritable(out);
  if (bad !== undefined) return fail([bad], 1);
  const name = input === undefined || input === "-" ? "standard input" : input;
  const stdin = input === undefined || input === "-";
  const bar = progress(process.stderr);
  // Lines reach the progress bar as text only on a terminal, where it draws.
  const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
  const onLine = process.stderr.isTTY ? (b: Uint8Array, start: number, end: number) => bar.line(utf8.decode(b.subarray(start, end))) : undefined;
  let r: Awaited<ReturnType<typeof encodeChunks>>;
  let fd: number | undefined;
  try {
    // A file is read in 1 MiB chunks into one buffer (`readChunks`); standard input as its stream gives it.
    if (stdin) r = await encodeChunks(process.stdin as AsyncIterable<Uint8Array>, onLine);
    else {
      fd = openSync(input, "r");
      const st = fstatSync(fd);
      r = await encodeChunks(readChunks(fd), onLine, st.isFile() ? { inputBytes: st.size } : undefined);
    }
  } catch (e) {
    // The source's own errors (no such file, a directory, an I/O error) come out of opening it or of the iteration.
    return fail([`cannot read ${name}: ${(e as Error).message}`], 1);
  } finally {
    if (fd !== undefined) closeSync(fd);
    bar.done();
  }
  if (Either.isLeft(r.result)) return fail(errorLines(r.result.left, r.lineOfItem, describe, r.headerLine), 1);
  return written(writeOutput(out, objectParts(r.result.right, 1 << 20, true))); // each part written before the next is made
};

/** `objfold import OBJECT.o [-o OUT.jsonl]`: a gcc relocatable object → a module (the importer). */
const importCommand = async (args: string[]): Promise<number> => {
  const { input, out } = inputAndOutput(args);
  if (input === undefined || input === "-") throw new UsageError("import needs an object file");
  const bad = out === undefined ? undefined : unwritable(out);
  if (bad !== undefined) return fail([bad], 1);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(input));
  } catch (e) {
    return fail([`cannot read ${input}: ${(e as Error).message}`], 1);
  }
  const { importObject, renderJsonLines } = await import("../importer/index.js");
  const r = importObject(bytes);
  if (Either.isLeft(r)) return fail([`${input}: ${describe(r.left)}`], 1);
  return written(writeOutput(out, [new TextEncoder().encode(renderJsonLines(r.right))]));
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
    // A defect in objfold, never an input problem: one line, the stack only on request.
    const detail = process.env.OBJFOLD_DEBUG ? ((e as Error).stack ?? String(e)) : String((e as Error).message ?? e);
    return fail([`internal error (a defect in objfold; set OBJFOLD_DEBUG=1 for the stack and please report it): ${detail}`], 3);
  }
};

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
