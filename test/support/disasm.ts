/**
 * What outside tools say about an object's calls and unwind tables:
 * `objdump -d` (binutils-multiarch) for the calls and veneers, and
 * `llvm-dwarfdump --eh-frame` / `readelf --debug-dump=frames-interp` for the
 * FDEs, with `.eh_frame` moved to its run-time address (right after the
 * page-padded `.text`) so the tools print real pcs.
 */
import { join } from "node:path";
import { run, runRaw } from "./tools.js";

export type Arch = "x86_64" | "aarch64" | "riscv64" | "s390x";

/** `objdump -d` of `.text`: text offset → "mnemonic operands" (no raw bytes). */
export const disassemble = (path: string, range?: { start: number; stop: number }): Map<number, string> => {
  const args = ["-d", "--no-show-raw-insn", "-j", ".text"];
  if (range !== undefined) args.push(`--start-address=0x${range.start.toString(16)}`, `--stop-address=0x${range.stop.toString(16)}`);
  const out = run("objdump", [...args, path]);
  const map = new Map<number, string>();
  for (const line of out.split("\n")) {
    const m = /^\s*([0-9a-f]+):\t(.*)$/.exec(line);
    if (m !== null) map.set(parseInt(m[1]!, 16), m[2]!.replace(/\s+/g, " ").trim());
  }
  return map;
};

/** Where a call instruction starts, relative to its relocation site. */
export const INSN_BEFORE_SITE: Record<Arch, number> = { x86_64: 1, aarch64: 0, riscv64: 0, s390x: 2 };

/**
 * The target objdump shows for the call whose relocation site is at `site`:
 * its address and the symbol annotation (`name` or `name+0x..`), or a reason
 * it is not a call.
 */
export const callTargetOf = (arch: Arch, insns: Map<number, string>, site: number): { addr: number; annotation: string } | string => {
  const at = site - INSN_BEFORE_SITE[arch];
  const insn = insns.get(at);
  if (insn === undefined) return `no instruction at 0x${at.toString(16)}`;
  let m: RegExpExecArray | null;
  switch (arch) {
    case "x86_64":
      m = /^(?:call|jmp)q? ([0-9a-f]+) <(.+)>$/.exec(insn);
      break;
    case "aarch64":
      m = /^(?:bl|b) ([0-9a-f]+) <(.+)>$/.exec(insn);
      break;
    case "riscv64": {
      if (!/^auipc ra,0x[0-9a-f]+$/.test(insn) && !/^auipc [a-z0-9]+,0x[0-9a-f]+$/.test(insn)) return `not auipc: ${insn}`;
      const next = insns.get(at + 4) ?? "";
      m = /^jalr .*# ([0-9a-f]+) <(.+)>$/.exec(next);
      if (m === null) return `not jalr with a target: ${next}`;
      break;
    }
    case "s390x":
      m = /^(?:brasl %r\d+,|jg |brcl \d+,)([0-9a-f]+) <(.+)>$/.exec(insn);
      break;
  }
  if (m === null) return `not a call with a target: ${insn}`;
  return { addr: parseInt(m[1]!, 16), annotation: m[2]! };
};

/**
 * Read an aarch64 veneer at `v` as objdump shows it: `ldrsw x16, <v+16>`,
 * `adr x17, <v+16>`, `add x16, x16, x17`, `br x16`, then the slot word.
 * Returns where it jumps (slot address + the signed slot value), or a reason.
 */
export const veneerTargetOf = (insns: Map<number, string>, v: number): number | string => {
  const slot = v + 16;
  const hex = slot.toString(16);
  const want: Array<[number, RegExp]> = [
    [v, new RegExp(`^ldrsw x16, ${hex}( <.*>)?$`)],
    [v + 4, new RegExp(`^adr x17, ${hex}( <.*>)?$`)],
    [v + 8, /^add x16, x16, x17$/],
    [v + 12, /^br x16$/],
  ];
  for (const [a, re] of want) {
    const insn = insns.get(a);
    if (insn === undefined || !re.test(insn)) return `at 0x${a.toString(16)}: ${insn ?? "nothing"}, expected ${re}`;
  }
  const w = /^\.(?:inst|word) 0x([0-9a-f]{8})/.exec(insns.get(slot) ?? "");
  if (w === null) return `slot at 0x${hex}: ${insns.get(slot) ?? "nothing"}`;
  return slot + (parseInt(w[1]!, 16) | 0);
};

export interface FdeView {
  readonly start: number;
  readonly end: number;
}

/**
 * FDE pc ranges as llvm-dwarfdump and readelf decode them, `.eh_frame` placed
 * at `textSize` (its address at run time). Throws on any warning or error.
 */
export const fdes = (dir: string, path: string, textSize: number): { llvm: FdeView[]; readelf: FdeView[]; llvmText: string; readelfText: string } => {
  const vma = join(dir, `${path.split("/").pop()!}.vma.o`);
  run("objcopy", [`--change-section-address`, `.eh_frame=0x${textSize.toString(16)}`, path, vma]);
  const l = runRaw("llvm-dwarfdump", ["--eh-frame", vma]);
  if (l.status !== 0 || /error|warning/i.test(l.stderr) || /error|warning/i.test(l.stdout)) throw new Error(`llvm-dwarfdump: ${l.stderr}${l.stdout}`);
  const r = runRaw("readelf", ["--debug-dump=frames-interp", "-W", vma]);
  if (r.status !== 0 || r.stderr.trim() !== "" || /warning|error/i.test(r.stdout)) throw new Error(`readelf: ${r.stderr}${r.stdout}`);
  const ranges = (text: string, re: RegExp): FdeView[] => [...text.matchAll(re)].map((m) => ({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16) }));
  return {
    llvm: ranges(l.stdout, /FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.\.([0-9a-f]+)/g),
    readelf: ranges(r.stdout, /FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/g),
    llvmText: l.stdout,
    readelfText: r.stdout,
  };
};
