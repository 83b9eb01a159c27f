/**
 * Outside tools for the checks. In CI (CI=true) a missing tool fails the run;
 * on a developer's machine the check is skipped with a visible message.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";

const found = new Map<string, boolean>();

export const hasTool = (name: string): boolean => {
  let ok = found.get(name);
  if (ok === undefined) {
    ok = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).status === 0;
    found.set(name, ok);
  }
  return ok;
};

export const inCI = (): boolean => process.env.CI === "true" || process.env.CI === "1";

/**
 * True when every tool is present. When one is missing: throws in CI (so the
 * run goes red), otherwise prints why the check is skipped and returns false.
 */
export const requireTools = (what: string, ...names: string[]): boolean => {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return true;
  const msg = `${what}: missing tool(s) ${missing.join(", ")}`;
  if (inCI()) throw new Error(`${msg} (CI requires every outside tool; .ci/run installs them)`);
  console.warn(`SKIPPED ${msg}`);
  return false;
};

/** Run a tool, returning stdout; throws with its stderr if it fails. */
export const run = (cmd: string, args: readonly string[], opts: { input?: string | Uint8Array; cwd?: string; timeout?: number } = {}): string =>
  execFileSync(cmd, args as string[], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    input: opts.input,
    cwd: opts.cwd,
    timeout: opts.timeout ?? 120_000,
    stdio: ["pipe", "pipe", "pipe"],
  });

/** Run a tool and return everything (status, stdout, stderr) without throwing. */
export const runRaw = (cmd: string, args: readonly string[], opts: { input?: string | Uint8Array; cwd?: string; timeout?: number } = {}): SpawnSyncReturns<string> =>
  spawnSync(cmd, args as string[], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    input: opts.input,
    cwd: opts.cwd,
    timeout: opts.timeout ?? 120_000,
  });
