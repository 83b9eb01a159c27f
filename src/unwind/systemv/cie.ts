/**
 * The CIE of every SystemV target, as Cranelift's `create_systemv_cie` builds
 * it (reference §2, §12): version 1, DWARF32, address size 8, augmentation
 * "zR" with pcrel FDE pointers.
 */
import type { CfaInstruction } from "../../schema/records.js";
import type { Arch } from "../../target.js";

export interface Cie {
  readonly codeAlign: number;
  readonly dataAlign: number;
  readonly returnAddressRegister: number;
  readonly initialInstructions: ReadonlyArray<CfaInstruction>;
}

const CIES: Partial<Record<Arch, Cie>> = {
  x86_64: {
    codeAlign: 1,
    dataAlign: -8,
    returnAddressRegister: 16,
    initialInstructions: [
      { at: 0, op: "cfa", register: 7, offset: 8 },
      { at: 0, op: "offset", register: 16, offset: -8 },
    ],
  },
  aarch64: { codeAlign: 4, dataAlign: -8, returnAddressRegister: 30, initialInstructions: [{ at: 0, op: "cfa", register: 31, offset: 0 }] },
  riscv64: { codeAlign: 2, dataAlign: -8, returnAddressRegister: 1, initialInstructions: [{ at: 0, op: "cfa", register: 2, offset: 0 }] },
  s390x: { codeAlign: 1, dataAlign: -8, returnAddressRegister: 14, initialInstructions: [{ at: 0, op: "cfa", register: 15, offset: 160 }] },
};

/** The CIE of an architecture, or undefined where there is none (Pulley). */
export const cieOf = (arch: Arch): Cie | undefined => CIES[arch];
