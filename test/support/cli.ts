/** Run the built CLI (`dist/cli/main.js`; `npm test` builds it first). */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export const cliBuilt = (): boolean => existsSync(CLI);

export const objfold = (args: readonly string[], input?: string | Uint8Array) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, maxBuffer: 1 << 30, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
};
