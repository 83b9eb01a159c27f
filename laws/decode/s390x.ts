/**
 * s390x: `brasl r1, ri2` (C0 r1 5) or `brcl m1, ri2` (C0 m1 4, `jg`); the site
 * is the 32-bit halfword count 2 bytes into the instruction (big-endian),
 * target = instruction start + 2 × ri2.
 */
import { type Decoded, hex, i32, type Reader, u32be } from "./reader.js";

export const decodeCall = (r: Reader, site: number): Decoded => {
  const insn = site - 2;
  const op = r(insn);
  const sub = r(insn + 1) & 0x0f;
  if (op !== 0xc0 || (sub !== 5 && sub !== 4)) return { error: `no brasl/brcl at ${hex(insn)} (${hex(op)} ${hex(r(insn + 1))})` };
  return { target: insn + 2 * i32(u32be(r, site)) };
};
