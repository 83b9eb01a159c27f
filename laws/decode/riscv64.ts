/** riscv64: `auipc rd, hi20` then `jalr rd2, lo12(rd)`; target = site + (hi20 << 12) + sext(lo12). */
import { type Decoded, hex, i32, type Reader, u32le } from "./reader.js";

const AUIPC = 0x17;
const JALR = 0x67;

export const decodeCall = (r: Reader, site: number): Decoded => {
  const a = u32le(r, site);
  const j = u32le(r, site + 4);
  if ((a & 0x7f) !== AUIPC) return { error: `no auipc at ${hex(site)} (${hex(a)})` };
  if ((j & 0x7f) !== JALR || ((j >>> 12) & 7) !== 0) return { error: `no jalr at ${hex(site + 4)} (${hex(j)})` };
  const rd = (a >>> 7) & 31;
  if (((j >>> 15) & 31) !== rd) return { error: `jalr at ${hex(site + 4)} does not use auipc's x${rd}` };
  return { target: site + i32(a & 0xfffff000) + (i32(j) >> 20) };
};
