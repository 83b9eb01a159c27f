/** ELF constants (System V gABI), spec names kept. */
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
export const EV_CURRENT = 1;
export const ELFOSABI_NONE = 0;
export const ELFOSABI_WASMTIME = 200;
export const ET_REL = 1;

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
/** Wasmtime's "not executed" text flag (numerically SHF_WRITE), on Pulley text. */
export const SH_WASMTIME_NOT_EXECUTED = 0x1;

export const STB_LOCAL = 0;
export const STT_FUNC = 2;
export const STV_DEFAULT = 0;

export const EHDR_SIZE = 64;
export const SHDR_SIZE = 64;
export const SYM_SIZE = 24;
export const SHN_LORESERVE = 0xff00;
