import type { Arch } from "../target.js";
import { aarch64 } from "./aarch64.js";
import { pulley } from "./pulley.js";
import { riscv64 } from "./riscv64.js";
import { s390x } from "./s390x.js";
import type { Isa } from "./types.js";
import { x86_64 } from "./x86_64.js";

export type { CallKind, Isa, LabelUse, Veneer } from "./types.js";

export const isaOf = (arch: Arch): Isa => {
  switch (arch) {
    case "x86_64":
      return x86_64;
    case "aarch64":
      return aarch64;
    case "riscv64":
      return riscv64;
    case "s390x":
      return s390x;
    case "pulley":
      return pulley;
  }
};
