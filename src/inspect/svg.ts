/**
 * A picture of `.text` (`objfold inspect OBJECT --svg OUT.svg`):
 *
 * - top, the overview: the whole section to scale, functions, veneers and
 *   padding as coloured runs;
 * - middle, the map: the same runs, functions and veneers to scale against
 *   each other, padding runs longer than the code around them shortened and
 *   drawn with a break mark (their real size in the tooltip), each function
 *   labelled when there is room; calls drawn as arcs above the map from the
 *   call instruction to the callee's start (solid), or to the veneer and from
 *   the veneer on to the callee (dashed); islands outlined;
 * - bottom, a legend and the counts.
 *
 * Every run has a `<title>` (name, offsets, size), which browsers show on hover.
 */
import type { Inspection } from "./model.js";

const W = 1200;
const M = 40;
const INNER = W - 2 * M;
const OVERVIEW_Y = 70;
const OVERVIEW_H = 18;
const MAP_Y = 300;
const MAP_H = 56;
const ARC_MAX = 180;
const H = 470;

const C = {
  fn: ["#3569b8", "#5b8fd6"],
  empty: "#1d3f73",
  veneer: "#e8891c",
  island: "#b35c00",
  padding: "#d9dce1",
  call: "#2a7a3b",
  viaVeneer: "#b35c00",
  text: "#1f2328",
  muted: "#6a737d",
} as const;

const hex = (n: number): string => `0x${n.toString(16)}`;
const esc = (s: string): string =>
  // eslint-disable-next-line no-control-regex
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "\uFFFD");
const f1 = (x: number): string => (Math.round(x * 10) / 10).toString();

interface Run {
  readonly kind: "fn" | "veneer" | "padding";
  readonly start: number;
  readonly size: number;
  readonly label: string;
  readonly title: string;
  readonly index: number;
}

/** Piecewise-linear text offset → x on the map, padding runs capped. */
interface Segment {
  readonly run: Run;
  readonly x0: number;
  readonly x1: number;
  readonly shortened: boolean;
}

const runsOf = (d: Inspection): Run[] => {
  const runs: Run[] = [];
  d.functions.forEach((f, i) =>
    runs.push({ kind: "fn", start: f.offset, size: f.size, label: f.name, title: `${f.name}: ${hex(f.offset)}..${hex(f.offset + f.size)} (${f.size} bytes, ${f.calls.length} calls)`, index: i }),
  );
  for (const i of d.islands)
    for (const v of i.veneers)
      runs.push({ kind: "veneer", start: v.offset, size: v.size, label: "v", title: `veneer ${hex(v.offset)} → ${v.function ?? "?"} @ ${hex(v.target)}`, index: 0 });
  for (const p of d.padding) runs.push({ kind: "padding", start: p.offset, size: p.size, label: "", title: `padding ${hex(p.offset)}..${hex(p.offset + p.size)} (${p.size} bytes)`, index: 0 });
  return runs.sort((a, b) => a.start - b.start || a.size - b.size);
};

const layout = (runs: ReadonlyArray<Run>): Segment[] => {
  const code = runs.filter((r) => r.kind !== "padding").reduce((n, r) => n + r.size, 0);
  const total = runs.reduce((n, r) => n + r.size, 0);
  // A padding run counts for at most a twentieth of the code (and at least 16 bytes' worth) when the code is small beside it.
  const cap = code === 0 ? Infinity : Math.max(code / 20, 16);
  const weight = (r: Run): number => (r.kind === "padding" ? Math.min(r.size, cap) : r.size);
  const sum = runs.reduce((n, r) => n + weight(r), 0) || 1;
  const scale = code === 0 || total === 0 ? INNER / Math.max(total, 1) : INNER / sum;
  let x = M;
  return runs.map((run) => {
    const w = (code === 0 ? run.size : weight(run)) * scale;
    const s = { run, x0: x, x1: x + w, shortened: run.kind === "padding" && run.size > cap };
    x += w;
    return s;
  });
};

/** The x of a text offset on the map. */
const mapX = (segs: ReadonlyArray<Segment>, at: number): number => {
  let lo = 0;
  let hi = segs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = segs[mid]!;
    if (at < s.run.start) hi = mid - 1;
    else if (at >= s.run.start + s.run.size && !(s.run.size === 0 && at === s.run.start)) lo = mid + 1;
    else return s.run.size === 0 ? s.x0 : s.x0 + ((s.x1 - s.x0) * (at - s.run.start)) / s.run.size;
  }
  return at <= 0 || segs.length === 0 ? M : (segs[segs.length - 1]?.x1 ?? M + INNER);
};

/** An arc above the map from x1 to x2, ending in an arrowhead (`marker`) at x2. */
const arc = (x1: number, x2: number, y: number, style: string, marker: string): string => {
  const h = Math.min(ARC_MAX, 14 + Math.abs(x2 - x1) * 0.45);
  return `<path d="M${f1(x1)} ${y} C${f1(x1)} ${f1(y - h)} ${f1(x2)} ${f1(y - h)} ${f1(x2)} ${y}" fill="none" ${style} marker-end="url(#${marker})"/>`;
};

const arrow = (id: string, colour: string): string =>
  `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="${colour}"/></marker>`;

/** The SVG document. `file` names the object in the title. */
export const renderSvg = (d: Inspection, file = "object"): string => {
  const size = d.text.size;
  const runs = runsOf(d);
  const segs = layout(runs.filter((r) => r.size > 0));
  const out: string[] = [];
  const calls = d.functions.reduce((n, f) => n + f.calls.length, 0);
  const veneers = d.islands.reduce((n, i) => n + i.veneers.length, 0);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<title>${esc(`${file}: .text of ${d.target.arch} object`)}</title>`);
  out.push(
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${C.padding}"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c3c7cd" stroke-width="2"/></pattern>${arrow("to-function", C.call)}${arrow("to-veneer", C.viaVeneer)}</defs>`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${M}" y="26" font-size="16" font-weight="bold" fill="${C.text}">${esc(file)} — ${d.target.arch}${d.target.pulley === null ? "" : `${d.target.pulley}`}, .text ${hex(size)} bytes</text>`,
  );
  out.push(
    `<text x="${M}" y="44" fill="${C.muted}">${d.functions.length} functions, ${calls} calls, ${d.islands.length} islands with ${veneers} veneers, ${d.padding.reduce((n, p) => n + p.size, 0)} bytes of padding</text>`,
  );

  // Overview: exactly to scale.
  const ox = (at: number): number => M + (size === 0 ? 0 : (at / size) * INNER);
  out.push(`<text x="${M}" y="${OVERVIEW_Y - 4}" fill="${C.muted}" font-size="10">to scale</text>`);
  out.push(`<rect x="${M}" y="${OVERVIEW_Y}" width="${INNER}" height="${OVERVIEW_H}" fill="url(#hatch)" stroke="#9aa0a6"/>`);
  for (const r of runs) {
    if (r.kind === "padding") continue;
    const w = Math.max(1, ox(r.start + r.size) - ox(r.start));
    const fill = r.kind === "veneer" ? C.veneer : r.size === 0 ? C.empty : C.fn[r.index % 2]!;
    out.push(`<rect x="${f1(ox(r.start))}" y="${OVERVIEW_Y}" width="${f1(w)}" height="${OVERVIEW_H}" fill="${fill}"><title>${esc(r.title)}</title></rect>`);
  }
  out.push(`<text x="${M}" y="${OVERVIEW_Y + OVERVIEW_H + 13}" fill="${C.muted}" font-size="10">0x0</text>`);
  out.push(`<text x="${W - M}" y="${OVERVIEW_Y + OVERVIEW_H + 13}" fill="${C.muted}" font-size="10" text-anchor="end">${hex(size)}</text>`);

  // Map.
  out.push(`<text x="${M}" y="${MAP_Y + MAP_H + 58}" fill="${C.muted}" font-size="10">map: code to scale, long padding shortened (≈)</text>`);
  for (const s of segs) {
    const w = Math.max(s.x1 - s.x0, s.run.kind === "padding" ? 0 : 1);
    const r = s.run;
    const fill = r.kind === "padding" ? "url(#hatch)" : r.kind === "veneer" ? C.veneer : C.fn[r.index % 2]!;
    out.push(`<rect x="${f1(s.x0)}" y="${MAP_Y}" width="${f1(w)}" height="${MAP_H}" fill="${fill}"${r.kind === "fn" ? ` stroke="#ffffff" stroke-width="0.5"` : ""}><title>${esc(r.title)}</title></rect>`);
    if (s.shortened) {
      const mx = (s.x0 + s.x1) / 2;
      out.push(`<path d="M${f1(mx - 4)} ${MAP_Y - 4} l6 ${MAP_H + 8} M${f1(mx + 1)} ${MAP_Y - 4} l6 ${MAP_H + 8}" stroke="#ffffff" stroke-width="3"/>`);
      out.push(`<path d="M${f1(mx - 4)} ${MAP_Y - 4} l6 ${MAP_H + 8} M${f1(mx + 1)} ${MAP_Y - 4} l6 ${MAP_H + 8}" stroke="#6a737d" stroke-width="1"/>`);
    }
    if (r.kind === "fn" && w > 24) {
      const max = Math.floor((w - 6) / 7);
      const label = r.label.length > max ? `${r.label.slice(0, Math.max(1, max - 1))}…` : r.label;
      out.push(`<text x="${f1(s.x0 + w / 2)}" y="${MAP_Y + MAP_H / 2 + 4}" fill="#ffffff" text-anchor="middle" pointer-events="none">${esc(label)}</text>`);
    }
  }
  // Empty functions: a tick.
  for (const r of runs)
    if (r.kind === "fn" && r.size === 0) {
      const x = mapX(segs, r.start);
      out.push(`<line x1="${f1(x)}" y1="${MAP_Y - 6}" x2="${f1(x)}" y2="${MAP_Y + MAP_H + 6}" stroke="${C.empty}" stroke-width="2"><title>${esc(r.title)}</title></line>`);
    }
  for (const i of d.islands) {
    const x0 = mapX(segs, i.offset);
    const x1 = mapX(segs, i.end - 1) + 0.5;
    out.push(`<rect x="${f1(x0 - 2)}" y="${MAP_Y - 6}" width="${f1(Math.max(4, x1 - x0 + 4))}" height="${MAP_H + 12}" fill="none" stroke="${C.island}" stroke-width="1.5" stroke-dasharray="4 2"><title>island ${hex(i.offset)}..${hex(i.end)}, ${i.veneers.length} veneers</title></rect>`);
  }
  // Arcs.
  for (const f of d.functions)
    for (const c of f.calls) {
      const from = mapX(segs, c.instruction);
      if (c.veneer === null) out.push(arc(from, mapX(segs, c.target), MAP_Y, `stroke="${C.call}" stroke-width="1.2" opacity="0.8"`, "to-function"));
      else {
        const v = mapX(segs, c.veneer);
        out.push(arc(from, v, MAP_Y, `stroke="${C.viaVeneer}" stroke-width="1.2" opacity="0.8"`, "to-veneer"));
        out.push(arc(v, mapX(segs, c.target), MAP_Y, `stroke="${C.viaVeneer}" stroke-width="1.2" stroke-dasharray="5 3" opacity="0.8"`, "to-veneer"));
      }
    }
  // Offsets under the map, at function starts with room.
  let lastX = -Infinity;
  for (const s of segs)
    if (s.run.kind === "fn" && s.x0 - lastX > 60) {
      out.push(`<text x="${f1(s.x0)}" y="${MAP_Y + MAP_H + 16}" fill="${C.muted}" font-size="10">${hex(s.run.start)}</text>`);
      lastX = s.x0;
    }

  // Legend.
  const ly = H - 30;
  const item = (x: number, swatch: string, label: string): string => `${swatch.replace(/XX/g, String(x))}<text x="${x + 22}" y="${ly + 11}" fill="${C.text}">${esc(label)}</text>`;
  out.push(item(M, `<rect x="XX" y="${ly}" width="16" height="14" fill="${C.fn[0]}"/>`, "function"));
  out.push(item(M + 110, `<rect x="XX" y="${ly}" width="16" height="14" fill="${C.veneer}"/>`, "veneer (island outlined)"));
  out.push(item(M + 310, `<rect x="XX" y="${ly}" width="16" height="14" fill="url(#hatch)" stroke="#9aa0a6"/>`, "padding"));
  out.push(item(M + 410, `<path d="MXX ${ly + 12} q8 -14 16 0" fill="none" stroke="${C.call}" stroke-width="1.5"/>`, "call"));
  out.push(item(M + 480, `<path d="MXX ${ly + 12} q8 -14 16 0" fill="none" stroke="${C.viaVeneer}" stroke-width="1.5" stroke-dasharray="4 2"/>`, "call through a veneer"));
  out.push(`</svg>`);
  return out.join("\n") + "\n";
};
