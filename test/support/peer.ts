/**
 * The reference encoder (`peer-rust`, Rust `object` + `gimli`, the SystemV
 * path of Wasmtime's obj.rs) that the byte-identity checks compare against.
 *
 * It lives in the shared workspace next to the repository
 * (`../shared/peers/rust-object-gimli`), which a user cloning the repository
 * does not have. Where to find it, in order:
 *
 * 1. `OBJFOLD_PEER`: the path of a built `peer-rust` binary;
 * 2. a binary built earlier into the repository's ignored `.work/peer/`;
 * 3. a binary built in place (`../shared/peers/rust-object-gimli/target/`) or
 *    into `../peer-build/` (the shared workspace's prebuilt copy);
 * 4. otherwise, when `../shared` is there, build it once with its
 *    `build.sh` and `CARGO_TARGET_DIR=.work/peer` (about 15 s, offline).
 *
 * `requirePeer` makes the checks mandatory in CI and a visible skip elsewhere.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inCI } from "./tools.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = fileURLToPath(new URL("../../../shared/", import.meta.url));
const PEER_SRC = `${SHARED}peers/rust-object-gimli`;
const BUILD_DIR = `${ROOT}.work/peer`;

let cached: { path?: string; why?: string } | undefined;

const locate = (): { path?: string; why?: string } => {
  const env = process.env.OBJFOLD_PEER;
  if (env !== undefined && env !== "") {
    return existsSync(env) ? { path: env } : { why: `OBJFOLD_PEER=${env} does not exist` };
  }
  const candidates = [`${BUILD_DIR}/release/peer-rust`, `${PEER_SRC}/target/release/peer-rust`, fileURLToPath(new URL("../../../peer-build/release/peer-rust", import.meta.url))];
  const built = candidates.find((p) => existsSync(p));
  if (built !== undefined) return { path: built };
  if (!existsSync(`${PEER_SRC}/build.sh`)) return { why: `the reference encoder's sources (${PEER_SRC}) are not here (they live in the shared workspace, not in the repository); set OBJFOLD_PEER to a built peer-rust` };
  const r = spawnSync("bash", [`${PEER_SRC}/build.sh`], {
    encoding: "utf8",
    env: { ...process.env, CARGO_TARGET_DIR: BUILD_DIR },
    timeout: 280_000,
  });
  const out = `${BUILD_DIR}/release/peer-rust`;
  if (r.status === 0 && existsSync(out)) return { path: out };
  return { why: `building peer-rust failed (${r.status ?? r.signal}): ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" | ")}` };
};

/** The path of a runnable peer-rust, or why there is none. Builds it at most once per process. */
export const findPeer = (): { path?: string; why?: string } => (cached ??= locate());

/**
 * The peer's path when available. When it is not: throws in CI (the
 * comparison is part of the proof), otherwise prints why the check is
 * skipped and returns undefined.
 */
export const requirePeer = (what: string): string | undefined => {
  const p = findPeer();
  if (p.path !== undefined) return p.path;
  const msg = `${what}: reference encoder unavailable: ${p.why}`;
  if (inCI()) throw new Error(msg);
  console.warn(`SKIPPED ${msg}`);
  return undefined;
};
