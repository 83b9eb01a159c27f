#!/usr/bin/env node
// `npm run bench`: objfold side by side with the reference encoder (peer-rust,
// Rust `object` + `gimli`, ../shared/peers/rust-object-gimli), on the same
// synthetic modules (`peer-rust gen`), in one run, alternating sample by
// sample so that a busy machine weighs on both alike.
//
// Per target and size it prints medians and objfold/reference ratios for
//   - the in-memory build: `encodeModule` on decoded items (bench/child.js)
//     vs peer-rust `bench`'s `median_build_ms` (warmup 2, repeat 1 per sample);
//   - end to end: the CLI from the JSON Lines file to the object file, both,
//     as wall time of the process;
//   - peak RSS of each CLI process (`/usr/bin/time -f %M`, else VmHWM polled
//     from /proc), and objfold's against the object's size;
//   - the in-memory build's throughput against a plain copy of the bodies
//     into one buffer of the output's size (the floor no encoder beats);
// and checks that every output is byte-identical to the reference's (✓/✗).
// Goals (docs/performance.md) are checked at the end; a ✗ in identity makes
// the exit code 1, a missed goal does not.
//
//   node bench/run.js [--quick] [--sizes 1000x64,10000x4096] [--targets x86_64,aarch64]
//                     [--repeat 5] [--only mem|e2e] [--peer PATH] [--work DIR] [--json FILE]
import { execFileSync, fork, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

// ---------------------------------------------------------------- options

const DEFAULT_SIZES = "1000x64,10000x64,100000x64,1000000x64,10000x4096";
const QUICK_SIZES = "1000x64,10000x64,100000x64,2000x4096";
const opts = { sizes: DEFAULT_SIZES, targets: "x86_64,aarch64", repeat: 5, only: "", peer: "", work: join(root, "bench", "out"), json: "" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    const v = argv[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v;
  };
  if (a === "--quick") {
    opts.sizes = QUICK_SIZES;
    opts.targets = "x86_64";
    opts.repeat = 3;
  } else if (a === "--sizes") opts.sizes = val();
  else if (a === "--targets") opts.targets = val();
  else if (a === "--repeat") opts.repeat = Math.max(1, Number(val()) | 0);
  else if (a === "--only") opts.only = val();
  else if (a === "--peer") opts.peer = val();
  else if (a === "--work") opts.work = resolve(val());
  else if (a === "--json") opts.json = resolve(val());
  else if (a === "-h" || a === "--help") usage();
  else usage(`unknown argument ${a}`);
}

function usage(problem) {
  if (problem) console.error(`bench: ${problem}`);
  console.error(`usage: node bench/run.js [--quick] [--sizes NxB,...] [--targets x86_64,aarch64,riscv64,s390x]
                        [--repeat R] [--only mem|e2e] [--peer PATH] [--work DIR] [--json FILE]
  default sizes ${DEFAULT_SIZES}; --quick = ${QUICK_SIZES}, x86_64, repeat 3`);
  process.exit(2);
}

const sizes = opts.sizes.split(",").map((s) => {
  const m = /^(\d[\d_]*)(?:x(\d+))?$/.exec(s.trim());
  if (!m) usage(`bad size ${s} (want NxB, e.g. 100000x64)`);
  return { n: Number(m[1].replaceAll("_", "")), b: Number(m[2] ?? 64) };
});
const targets = opts.targets.split(",").map((t) => t.trim());
const doMem = opts.only !== "e2e";
const doE2e = opts.only !== "mem";

const peer = [opts.peer, process.env.OBJFOLD_PEER, "/work/peer-build/release/peer-rust", join(root, "..", "shared", "peers", "rust-object-gimli", "target", "release", "peer-rust")].find(
  (p) => p && existsSync(p),
);
if (!peer) {
  console.error("bench: the reference encoder is not built. Build it with\n  CARGO_TARGET_DIR=$PWD/.work/peer ../shared/peers/rust-object-gimli/build.sh\nand pass --peer .work/peer/release/peer-rust (or set OBJFOLD_PEER).");
  process.exit(2);
}
const cli = join(root, "dist", "cli", "main.js");
const timeBin = ["/usr/bin/time", "/bin/time"].find((p) => existsSync(p));
mkdirSync(opts.work, { recursive: true });

// ---------------------------------------------------------------- helpers

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const n = v.length;
  return n === 0 ? NaN : n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};
const MiB = 1024 * 1024;
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtX = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : "–");
const same = (a, b) => {
  const x = readFileSync(a);
  const y = readFileSync(b);
  return x.length === y.length && x.equals(y);
};

/** Run a process to completion: wall ms and peak RSS in KiB. */
const runTimed = (cmd, args) =>
  new Promise((resolvePromise, reject) => {
    const wrapped = timeBin ? [timeBin, ["-f", "__objfold_bench %M %U %S", cmd, ...args]] : [cmd, args];
    const t = performance.now();
    const child = spawn(wrapped[0], wrapped[1], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    let hwm = 0;
    child.stderr.on("data", (d) => (err += d));
    // Without `time`, poll the kernel's high-water mark (misses growth in the last few ms).
    const poll = timeBin
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
            if (m) hwm = Math.max(hwm, Number(m[1]));
          } catch {}
        }, 5);
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - t;
      if (poll) clearInterval(poll);
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`));
      const m = /__objfold_bench (\d+) ([\d.]+) ([\d.]+)/.exec(err);
      resolvePromise({ ms, rssKiB: m ? Number(m[1]) : hwm, cpuMs: m ? 1000 * (Number(m[2]) + Number(m[3])) : NaN });
    });
  });

/** A request to the objfold in-memory child, and its answer. */
const ask = (child, msg) =>
  new Promise((resolvePromise, reject) => {
    child.once("message", (m) => (m.ok ? resolvePromise(m) : reject(new Error(m.error))));
    child.send(msg);
  });

const peerBench = (target, n, b, emit) => {
  const out = execFileSync(peer, ["bench", "--functions", String(n), "--body-size", String(b), "--target", target, "--warmup", "2", "--repeat", "1", ...(emit ? ["--emit", emit] : [])], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    maxBuffer: 1 << 20,
  });
  const m = /median_build_ms=([\d.]+).*output_bytes=(\d+)/.exec(out);
  if (!m) throw new Error(`peer bench: unexpected output ${out}`);
  return { ms: Number(m[1]), bytes: Number(m[2]) };
};

// ---------------------------------------------------------------- the run

const machine = {
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? "?",
  memGiB: +(totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  peer,
  rss: timeBin ? "/usr/bin/time %M" : "/proc VmHWM polling",
};
console.log(`objfold bench — ${machine.nproc} × ${machine.cpu}, ${machine.memGiB} GiB, node ${machine.node}`);
console.log(`reference: ${peer}; ${opts.repeat} alternating samples per cell; peak RSS by ${machine.rss}`);
console.log("");

const rows = [];
let identical = true;
const header =
  "target   functions  body │ in-memory build ms       │ end to end ms (wall)           │ peak RSS MiB (CLI)     │ object │ plain copy    │ same";
const sub =
  "                         │  objfold    peer   ratio │  objfold    peer   ratio   cpu │  objfold  peer ×object │    MiB │  ms   share   │";
console.log(header);
console.log(sub);

for (const target of targets) {
  for (const { n, b } of sizes) {
    const tag = `${target}-${n}x${b}`;
    const jsonl = join(opts.work, `${tag}.jsonl`);
    if (!existsSync(jsonl)) execFileSync(peer, ["gen", "--functions", String(n), "--body-size", String(b), "--target", target, "-o", jsonl], { stdio: "ignore" });
    const refObj = join(opts.work, `${tag}.peer.o`);
    const ourObj = join(opts.work, `${tag}.objfold.o`);
    const memObj = join(opts.work, `${tag}.mem.o`);
    const benchObj = join(opts.work, `${tag}.peerbench.o`);
    const row = { target, functions: n, body: b, mem: {}, e2e: {}, rss: {}, copy: {} };
    const ok = [];

    if (doE2e) {
      const ours = [];
      const theirs = [];
      const ourRss = [];
      const theirRss = [];
      const ourCpu = [];
      const theirCpu = [];
      for (let r = 0; r < opts.repeat; r++) {
        const a = await runTimed(process.execPath, [cli, "encode", jsonl, "-o", ourObj]);
        const p = await runTimed(peer, ["encode", jsonl, "-o", refObj]);
        ours.push(a.ms);
        theirs.push(p.ms);
        ourRss.push(a.rssKiB);
        theirRss.push(p.rssKiB);
        ourCpu.push(a.cpuMs);
        theirCpu.push(p.cpuMs);
      }
      ok.push(same(ourObj, refObj));
      row.e2e = { objfold: median(ours), peer: median(theirs), objfoldCpu: median(ourCpu), peerCpu: median(theirCpu) };
      row.rss = { objfold: Math.max(...ourRss) / 1024, peer: Math.max(...theirRss) / 1024 };
    } else execFileSync(peer, ["encode", jsonl, "-o", refObj], { stdio: "ignore" });

    if (doMem) {
      const child = fork(join(here, "child.js"), [jsonl], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      try {
        await ask(child, { load: true });
        // Warm the JIT as the reference's warmup warms its caches: at least 2 builds, and for small
        // modules up to 30 (or 1 s), since V8 optimizes a function only after it has run a while.
        let warm = 0;
        for (let w = 0; w < 30 && (w < 2 || warm < 1000); w++) warm += (await ask(child, { build: true, emit: w === 0 ? memObj : undefined })).ms;
        const ours = [];
        const theirs = [];
        const copies = [];
        let bytes = 0;
        for (let r = 0; r < opts.repeat; r++) {
          const a = await ask(child, { build: true });
          const p = peerBench(target, n, b, r === 0 ? benchObj : undefined);
          const c = await ask(child, { copy: true });
          ours.push(a.ms);
          theirs.push(p.ms);
          copies.push(c.ms);
          bytes = a.bytes;
        }
        ok.push(same(memObj, refObj), same(benchObj, refObj));
        row.mem = { objfold: median(ours), peer: median(theirs) };
        row.copy = { ms: median(copies), bytes };
      } finally {
        child.send({ exit: true });
      }
    }
    row.bytes = statSync(refObj).size;
    row.identical = ok.every(Boolean);
    identical &&= row.identical;
    rows.push(row);
    for (const f of [ourObj, memObj, benchObj]) rmSync(f, { force: true });

    const objMiB = row.bytes / MiB;
    const cells = [
      target.padEnd(8),
      String(n).padStart(9),
      String(b).padStart(5),
      "│",
      (doMem ? fmtMs(row.mem.objfold) : "–").padStart(8),
      (doMem ? fmtMs(row.mem.peer) : "–").padStart(7),
      (doMem ? fmtX(row.mem.objfold / row.mem.peer) : "–").padStart(7),
      "│",
      (doE2e ? fmtMs(row.e2e.objfold) : "–").padStart(8),
      (doE2e ? fmtMs(row.e2e.peer) : "–").padStart(7),
      (doE2e ? fmtX(row.e2e.objfold / row.e2e.peer) : "–").padStart(7),
      (doE2e ? fmtX(row.e2e.objfoldCpu / row.e2e.peerCpu) : "–").padStart(6),
      "│",
      (doE2e ? row.rss.objfold.toFixed(0) : "–").padStart(8),
      (doE2e ? row.rss.peer.toFixed(0) : "–").padStart(5),
      (doE2e ? fmtX(row.rss.objfold / objMiB) : "–").padStart(7),
      "│",
      objMiB.toFixed(1).padStart(6),
      "│",
      (doMem ? fmtMs(row.copy.ms) : "–").padStart(5),
      (doMem ? `${((100 * row.copy.ms) / row.mem.objfold).toFixed(0)}%` : "–").padStart(6),
      "  │",
      row.identical ? "✓" : "✗",
    ];
    console.log(cells.join(" "));
  }
}

// ---------------------------------------------------------------- goals

console.log("");
console.log("ratio = objfold / reference (lower is better); cpu = the same ratio for user+sys CPU time; share = copy time / build time,");
console.log("i.e. the in-memory build's throughput as a share of the plain copy's (the copy is the floor: 100% = as fast as copying)");
const find = (t, n, b) => rows.find((r) => r.target === t && r.functions === n && r.body === b);
const goals = [];
for (const t of targets) {
  const r5 = find(t, 100000, 64);
  const r6 = find(t, 1000000, 64);
  const r4k = find(t, 10000, 4096) ?? rows.find((r) => r.target === t && r.body === 4096);
  if (r5 && doMem) goals.push([`${t}: in-memory build at N=100000 ≤ 1.0× the reference`, r5.mem.objfold / r5.mem.peer, (x) => x <= 1, fmtX]);
  if (r5 && doE2e) goals.push([`${t}: end to end at N=100000 ≤ 1.0× the reference`, r5.e2e.objfold / r5.e2e.peer, (x) => x <= 1, fmtX]);
  if (r5 && r6 && doE2e) goals.push([`${t}: end to end N=1000000 ≤ 11× N=100000`, r6.e2e.objfold / r5.e2e.objfold, (x) => x <= 11, fmtX]);
  if (r5 && r6 && doMem) {
    // What the machine allows: the same growth for the reference's build and for the plain copy (the floor).
    const also = `(on this machine the reference grows ${fmtX(r6.mem.peer / r5.mem.peer)}, the plain copy ${fmtX(r6.copy.ms / r5.copy.ms)})`;
    goals.push([`${t}: in-memory build N=1000000 ≤ 11× N=100000`, r6.mem.objfold / r5.mem.objfold, (x) => x <= 11, (x) => `${fmtX(x)} ${also}`]);
  }
  if (r6 && doE2e) goals.push([`${t}: peak RSS at N=1000000 ≤ 2.5× the object`, r6.rss.objfold / (r6.bytes / MiB), (x) => x <= 2.5, fmtX]);
  if (r4k && doMem) goals.push([`${t}: build throughput at B=4096 ≥ ½ the plain copy's`, r4k.copy.ms / r4k.mem.objfold, (x) => x >= 0.5, (x) => `${(100 * x).toFixed(0)}%`]);
}
for (const [what, x, pass, fmt] of goals) console.log(`${pass(x) ? "met   " : "MISSED"}  ${what}: ${fmt(x)}`);
console.log(identical ? "bytes: every output identical to the reference's ✓" : "bytes: an output DIFFERS from the reference's ✗");
if (opts.json) writeFileSync(opts.json, JSON.stringify({ machine, rows }, null, 2));
process.exitCode = identical ? 0 : 1;
