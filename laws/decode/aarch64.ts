/**
 * aarch64: `b`/`bl` imm26 (target = site + 4 × sext(imm26)), and the veneer a
 * far call goes through, read by executing its instructions on a tiny
 * register file: `ldrsw (literal)`, `adr`, `add (shifted register)`, `br`.
 * Nothing here knows the encoder's veneer words.
 */
import { type Decoded, hex, i32, type Reader, sext, u32le } from "./reader.js";

export const decodeBranch = (r: Reader, site: number): Decoded => {
  const w = u32le(r, site);
  if ((w & 0x7c000000) !== 0x14000000) return { error: `no b/bl at ${hex(site)} (${hex(w)})` };
  return { target: site + 4 * sext(w & 0x03ffffff, 26) };
};

/** Run the straight-line code at `at` until a `br`; returns where the `br` goes. At most 8 instructions. */
export const decodeVeneer = (r: Reader, at: number): Decoded => {
  const x = new Map<number, number>();
  const get = (n: number): number | undefined => x.get(n);
  for (let pc = at, k = 0; k < 8; pc += 4, k++) {
    // u32 words; masks are compared unsigned (`>>> 0`), JS bit operations are signed.
    const w = u32le(r, pc);
    if ((w & 0xff000000) >>> 0 === 0x98000000) {
      // LDRSW Xt, label: load a signed word at pc + 4 × imm19.
      const addr = pc + 4 * sext((w >>> 5) & 0x7ffff, 19);
      x.set(w & 31, i32(u32le(r, addr)));
    } else if ((w & 0x9f000000) >>> 0 === 0x10000000) {
      // ADR Xd, label: pc + sext(immhi:immlo).
      const imm = sext((((w >>> 5) & 0x7ffff) << 2) | ((w >>> 29) & 3), 21);
      x.set(w & 31, pc + imm);
    } else if ((w & 0xff200000) >>> 0 === 0x8b000000) {
      // ADD Xd, Xn, Xm, LSL #amount (64-bit, shifted register).
      const rn = get((w >>> 5) & 31);
      const rm = get((w >>> 16) & 31);
      if (rn === undefined || rm === undefined) return { error: `add at ${hex(pc)} reads an unset register` };
      if (((w >>> 22) & 3) !== 0) return { error: `add at ${hex(pc)}: only LSL is understood` };
      x.set(w & 31, rn + rm * 2 ** ((w >>> 10) & 63));
    } else if ((w & 0xfffffc1f) >>> 0 === 0xd61f0000) {
      // BR Xn
      const t = get((w >>> 5) & 31);
      return t === undefined ? { error: `br at ${hex(pc)} jumps through an unset register` } : { target: t };
    } else return { error: `unexpected instruction ${hex(w)} at ${hex(pc)} in a veneer` };
  }
  return { error: `no br within 8 instructions of ${hex(at)}` };
};
