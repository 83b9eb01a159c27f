/**
 * The relocation kinds and the function-name rule, as plain values: the
 * schema (`records.ts`) is built from them, and the code that must not load
 * Effect Schema (the fast decoder, the fold's guard, the plan: the CLI's
 * startup, docs/performance.md) reads the same lists.
 */

/** Call relocation kinds; their order is the plan's kind codes (`RELOCATION_KINDS`). */
export const CALL_RELOCATION_KINDS = ["X86CallPCRel4", "Arm64Call", "RiscvCallPlt", "S390xPLTRel32Dbl", "S390xPCRel32Dbl", "PulleyPcRel"] as const;
export const HOST_CALL_RELOCATION_KIND = "PulleyCallIndirectHost";
/** Every relocation kind: the calls, then the host call. */
export const RELOCATION_KINDS = [...CALL_RELOCATION_KINDS, HOST_CALL_RELOCATION_KIND] as const;

/**
 * A symbol name: non-empty, no NUL, and well-formed UTF-16 (a lone surrogate
 * would become U+FFFD in UTF-8, so two different names could give one symbol).
 */
export const isFunctionName = (s: string): boolean => s.length > 0 && !s.includes("\u0000") && s.isWellFormed();
