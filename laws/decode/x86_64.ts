/** x86_64: `call rel32` (E8) or `jmp rel32` (E9); the site is the rel32 field, target = end of instruction + rel32. */
import { type Decoded, hex, i32, type Reader, u32le } from "./reader.js";

export const decodeCall = (r: Reader, site: number): Decoded => {
  const op = r(site - 1);
  if (op !== 0xe8 && op !== 0xe9) return { error: `no call/jmp rel32 before ${hex(site)} (opcode ${hex(op)})` };
  return { target: site + 4 + i32(u32le(r, site)) };
};
