/**
 * One call decoder per architecture, for the laws: given the text and a
 * call's relocation site, where the call lands, following an aarch64 veneer
 * when the branch lands on one.
 */
import * as aarch64 from "./aarch64.js";
import type { Decoded, Reader } from "./reader.js";
import * as riscv64 from "./riscv64.js";
import * as s390x from "./s390x.js";
import * as x86_64 from "./x86_64.js";

export type { Decoded, Reader } from "./reader.js";
export { bytesReader } from "./reader.js";

export type DecodeArch = "x86_64" | "aarch64" | "riscv64" | "s390x";

/** Where the call lands: `first` is where its own instruction jumps, `final` where control ends up. */
export interface CallPath {
  readonly first: number;
  readonly final: number;
  /** True when `first` is a veneer that was followed. */
  readonly viaVeneer: boolean;
}

/**
 * Decode the call at `site`. `isFunctionStart` tells the aarch64 decoder
 * whether the branch landed on a function (done) or on something else, which
 * must then be a veneer.
 */
export const decodeCallPath = (arch: DecodeArch, r: Reader, site: number, isFunctionStart: (at: number) => boolean): CallPath | string => {
  const one = (d: Decoded): number | string => ("error" in d ? d.error : d.target);
  switch (arch) {
    case "x86_64":
    case "riscv64":
    case "s390x": {
      const t = one((arch === "x86_64" ? x86_64 : arch === "riscv64" ? riscv64 : s390x).decodeCall(r, site));
      return typeof t === "string" ? t : { first: t, final: t, viaVeneer: false };
    }
    case "aarch64": {
      const t = one(aarch64.decodeBranch(r, site));
      if (typeof t === "string") return t;
      if (isFunctionStart(t)) return { first: t, final: t, viaVeneer: false };
      const v = one(aarch64.decodeVeneer(r, t));
      return typeof v === "string" ? v : { first: t, final: v, viaVeneer: true };
    }
  }
};
