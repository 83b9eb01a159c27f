// objfold's side of the in-memory benchmark, in a process of its own per
// module (so one size's heap never weighs on the next). Started by run.js
// with an IPC channel:
//   argv: MODULE.jsonl
//   → {load}                          decode the module (JSON Lines, the library's own decoder), untimed
//   → {build, emit?}                  one timed encodeModule on the decoded items
//   → {copy}                          one timed plain copy: a buffer of the output's size, every body `set` at its offset
//   ← {ok, ms, bytes, ...} or {error}
import { closeSync, openSync, readSync, writeFileSync } from "node:fs";
import * as decode from "../dist/schema/decode.js";
import { encodeModule } from "../dist/encode.js";

const { decodeHeaderLine } = decode;
// The byte decoder and its scanner (issue 6); an older tree (for "before" numbers) has only text lines.
const fast = await import("../dist/schema/fast.js").catch(() => undefined);
const decodeItemBytes =
  decode.decodeItemBytes ?? ((b, s, e, line) => decode.decodeItemLine(b.toString("utf8", s, e), line));

const file = process.argv[2];
let module;
let outBytes = 0;

/** Read the module a MiB at a time and decode it line by line, as the CLI does, but keep the items. */
const load = () => {
  const fd = openSync(file, "r");
  const scanner = fast === undefined ? undefined : new fast.ItemScanner();
  const items = [];
  let header;
  let lineNo = 0;
  let buf = Buffer.alloc(1 << 20);
  let filled = 0;
  const line = (b, s, e) => {
    lineNo++;
    if (e > s && b[e - 1] === 13) e--;
    if (e === s) return;
    if (header === undefined) {
      const h = decodeHeaderLine(b.toString("utf8", s, e), lineNo);
      if (h._tag !== "Right") throw new Error(`line ${lineNo}: bad header`);
      header = h.right;
      return;
    }
    const r = decodeItemBytes(b, s, e, lineNo, scanner);
    if (r._tag !== "Right") throw new Error(`line ${lineNo}: ${JSON.stringify(r.left)}`);
    items.push(r.right);
  };
  for (;;) {
    if (filled === buf.length) {
      const bigger = Buffer.alloc(buf.length * 2);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const n = readSync(fd, buf, filled, buf.length - filled, null);
    filled += n;
    let s = 0;
    let nl;
    while ((nl = buf.indexOf(10, s)) >= 0 && nl < filled) {
      line(buf, s, nl);
      s = nl + 1;
    }
    if (n === 0) {
      if (s < filled) line(buf, s, filled);
      break;
    }
    buf.copy(buf, 0, s, filled);
    filled -= s;
  }
  closeSync(fd);
  module = { header, items };
};

// No forced GC before a sample: after one, V8 may have flushed code and the
// next build runs partly cold (measured: 2–20 ms instead of 0.6 ms at N = 1000).
const build = (emit) => {
  const t = performance.now();
  const r = encodeModule(module);
  const ms = performance.now() - t;
  if (r._tag !== "Right") throw new Error(`encode failed: ${JSON.stringify(r.left)}`);
  outBytes = r.right.length;
  if (emit) writeFileSync(emit, r.right);
  return { ms, bytes: r.right.length };
};

/** The floor: one exact-size buffer and every body copied into it at its (aligned) text offset. */
const copy = () => {
  const items = module.items;
  const t = performance.now();
  const out = new Uint8Array(outBytes);
  let at = 0x1000;
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    if (it.type !== "function") continue;
    const a = it.alignment;
    at = Math.ceil(at / a) * a;
    out.set(it.body, at);
    at += it.body.length;
  }
  const ms = performance.now() - t;
  if (at > out.length) throw new Error("copy: output too small");
  return { ms, bytes: out.length };
};

process.on("message", (m) => {
  try {
    if (m.load) {
      const t = performance.now();
      load();
      process.send({ ok: true, ms: performance.now() - t, items: module.items.length });
    } else if (m.build) process.send({ ok: true, ...build(m.emit) });
    else if (m.copy) process.send({ ok: true, ...copy() });
    else if (m.exit) process.exit(0);
  } catch (e) {
    process.send({ ok: false, error: String(e && e.stack ? e.stack : e) });
  }
});
