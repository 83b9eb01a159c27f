/**
 * Calls and veneers read back from patched `.text` bytes, one decoder per
 * architecture (reference §5.4 and §12 for the encodings):
 *
 * | arch | instruction | site | destination |
 * | --- | --- | --- | --- |
 * | x86_64 | `call rel32` (E8) / `jmp rel32` (E9) | +1 | end of instruction + rel32 (LE) |
 * | aarch64 | `bl` / `b` imm26 | +0 | instruction + 4 × sext(imm26) |
 * | riscv64 | `auipc rd, hi20` + `jalr rd2, lo12(rd)` | +0 | auipc + (hi20 << 12) + sext(lo12) |
 * | s390x | `brasl r, ri2` (C0 r5) / `brcl m, ri2` (C0 m4) | +2 | instruction + 2 × ri2 (BE i32) |
 * | pulley | `call` (opcode 0x01, then i32 LE) | +1 | instruction + i32 (LE, on big-endian Pulley too) |
 *
 * THE SCAN HEURISTIC. An object carries no relocations and no instruction
 * boundaries, so calls are found by scanning each function's bytes, at every
 * offset the architecture allows an instruction to start (any byte on x86_64
 * and Pulley, 2-byte steps on riscv64 and s390x, 4-byte steps on aarch64,
 * counted from the start of `.text`), for the instruction patterns above whose
 * destination is the start of a known function, or (aarch64) a veneer. The
 * whole instruction must lie inside the function. After a match the scan
 * continues after the instruction. This finds every call objfold patched; it
 * can also report bytes that only look like such a call (data, or a
 * misaligned x86 decode) when they happen to point exactly at a function
 * start. Bodies made of real instructions rarely do; the inspect law keeps
 * generated bodies free of such patterns so the scan is exact there.
 *
 * Veneers (aarch64 only) are found in the gaps between functions: at each
 * 4-aligned offset, the four instruction words Cranelift's `Branch26` veneer
 * consists of (`ldrsw x16, #16; adr x17, #12; add x16, x16, x17; br x16`,
 * reference §5.4), followed by the slot whose signed value, added to the
 * slot's offset, gives the target.
 */
import type { Arch } from "../target.js";
import type { CallView, IslandView, VeneerView } from "./model.js";

/** The aarch64 veneer's instruction words (reference §5.4, §12), transcribed from the reference, not from the encoder. */
export const AARCH64_VENEER_WORDS: readonly [number, number, number, number] = [0x98000090, 0x10000071, 0x8b110210, 0xd61f0200];
export const AARCH64_VENEER_SIZE = 20;
const SLOT = 16;

const u32le = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const i32le = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
const i32be = (b: Uint8Array, at: number): number => (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The veneer at text offset `at`, if the bytes there are one whose target lies inside the text. */
export const veneerAt = (text: Uint8Array, at: number): { readonly slot: number; readonly target: number } | undefined => {
  if (at < 0 || at % 4 !== 0 || at + AARCH64_VENEER_SIZE > text.length) return undefined;
  for (let k = 0; k < 4; k++) if (u32le(text, at + 4 * k) !== AARCH64_VENEER_WORDS[k]) return undefined;
  const slot = at + SLOT;
  const target = slot + i32le(text, slot);
  return target >= 0 && target < text.length ? { slot, target } : undefined;
};

/**
 * Veneers in `[from, to)` of the text, back to back runs grouped into
 * islands. `nameAt` names the function starting at a text offset.
 */
export const scanVeneers = (text: Uint8Array, gaps: ReadonlyArray<readonly [number, number]>, nameAt: (at: number) => string | null): IslandView[] => {
  const veneers: VeneerView[] = [];
  const first = AARCH64_VENEER_WORDS[0];
  for (const [from, to] of gaps) {
    for (let at = alignUp(from, 4); at + AARCH64_VENEER_SIZE <= to; at += 4) {
      // The first byte of the first word decides almost always (0x90); check it before reading words.
      if (text[at] !== (first & 0xff)) continue;
      const v = veneerAt(text, at);
      if (v === undefined) continue;
      veneers.push({ offset: at, size: AARCH64_VENEER_SIZE, slot: v.slot, target: v.target, function: nameAt(v.target) });
      at += AARCH64_VENEER_SIZE - 4;
    }
  }
  const islands: IslandView[] = [];
  let run: VeneerView[] = [];
  const close = (): void => {
    if (run.length > 0) islands.push({ offset: run[0]!.offset, end: run[run.length - 1]!.offset + AARCH64_VENEER_SIZE, veneers: run });
    run = [];
  };
  for (const v of veneers) {
    const last = run[run.length - 1];
    if (last !== undefined && last.offset + last.size !== v.offset) close();
    run.push(v);
  }
  close();
  return islands;
};

/** What the call scan needs to know about the text around a function. */
export interface CallScanContext {
  readonly arch: Arch;
  /** The whole `.text` section. */
  readonly text: Uint8Array;
  /** Name of the function starting at a text offset; undefined where no function starts. */
  readonly functionAt: (at: number) => string | undefined;
  /** The veneer starting at a text offset (aarch64), undefined elsewhere. */
  readonly veneerAt: (at: number) => VeneerView | undefined;
}

/**
 * The calls in `[from, to)` (a function's bytes), by ascending instruction
 * offset. See the module comment for the heuristic.
 */
export const scanCalls = (ctx: CallScanContext, from: number, to: number): CallView[] => {
  const t = ctx.text;
  const end = Math.min(to, t.length);
  const out: CallView[] = [];
  const direct = (instruction: number, site: number, mnemonic: string, dest: number): boolean => {
    const name = ctx.functionAt(dest);
    if (name === undefined) return false;
    out.push({ instruction, site, mnemonic, target: dest, function: name, veneer: null });
    return true;
  };
  switch (ctx.arch) {
    case "x86_64":
      for (let i = Math.max(0, from); i + 5 <= end; ) {
        const op = t[i];
        if ((op === 0xe8 || op === 0xe9) && direct(i, i + 1, op === 0xe8 ? "call" : "jmp", i + 5 + i32le(t, i + 1))) i += 5;
        else i++;
      }
      return out;
    case "aarch64":
      for (let i = alignUp(Math.max(0, from), 4); i + 4 <= end; i += 4) {
        const w = u32le(t, i);
        // B: 000101 imm26, BL: 100101 imm26.
        if ((w & 0x7c000000) !== 0x14000000) continue;
        const imm = w & 0x03ffffff;
        const dest = i + 4 * (imm >= 0x02000000 ? imm - 0x04000000 : imm);
        const mnemonic = w >>> 31 === 1 ? "bl" : "b";
        if (direct(i, i, mnemonic, dest)) continue;
        const v = ctx.veneerAt(dest);
        if (v !== undefined) out.push({ instruction: i, site: i, mnemonic, target: v.target, function: v.function, veneer: v.offset });
      }
      return out;
    case "riscv64":
      for (let i = alignUp(Math.max(0, from), 2); i + 8 <= end; ) {
        const a = u32le(t, i);
        if ((a & 0x7f) === 0x17) {
          const j = u32le(t, i + 4);
          const rd = (a >>> 7) & 31;
          // jalr: opcode 1100111, funct3 000, rs1 = the auipc's rd.
          if ((j & 0x7f) === 0x67 && ((j >>> 12) & 7) === 0 && ((j >>> 15) & 31) === rd) {
            const link = (j >>> 7) & 31;
            const mnemonic = link === 1 ? "call" : link === 0 ? "tail" : "auipc+jalr";
            if (direct(i, i, mnemonic, i + (a & 0xfffff000) + (j >> 20))) {
              i += 8;
              continue;
            }
          }
        }
        i += 2;
      }
      return out;
    case "s390x":
      for (let i = alignUp(Math.max(0, from), 2); i + 6 <= end; ) {
        const sub = t[i + 1]! & 0x0f;
        if (t[i] === 0xc0 && (sub === 5 || sub === 4) && direct(i, i + 2, sub === 5 ? "brasl" : "brcl", i + 2 * i32be(t, i + 2))) i += 6;
        else i += 2;
      }
      return out;
    case "pulley":
      for (let i = Math.max(0, from); i + 5 <= end; ) {
        if (t[i] === 0x01 && direct(i, i + 1, "call", i + i32le(t, i + 1))) i += 5;
        else i++;
      }
      return out;
  }
};
