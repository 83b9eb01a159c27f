#!/usr/bin/env node
// Maintenance tool: import a gcc relocatable object into an objfold/v1 module.
//   node scripts/import-object.mjs IN.o OUT.jsonl
// Runs the compiled library (npm run build first); the file system is touched
// here, never in src/.
import { readFileSync, writeFileSync } from "node:fs";
import { describe } from "../dist/errors.js";
import { importObject, renderJsonLines } from "../dist/importer/index.js";

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write("usage: node scripts/import-object.mjs IN.o OUT.jsonl\n");
  process.exit(2);
}
const result = importObject(new Uint8Array(readFileSync(input)));
if (result._tag === "Left") {
  process.stderr.write(`${input}: ${describe(result.left)}\n`);
  process.exit(1);
}
writeFileSync(output, renderJsonLines(result.right));
