/**
 * A text image the decoders read from: one byte per text offset. Either the
 * `.text` bytes of a real object, or a sparse image of a plan (only the bytes
 * around functions and veneers exist; padding and alignment fill read as 0),
 * so reach laws can look at 128 MiB layouts without writing 128 MiB.
 */
export type Reader = (at: number) => number;

export const u32le = (r: Reader, at: number): number => (r(at) | (r(at + 1) << 8) | (r(at + 2) << 16) | (r(at + 3) << 24)) >>> 0;
export const u32be = (r: Reader, at: number): number => ((r(at) << 24) | (r(at + 1) << 16) | (r(at + 2) << 8) | r(at + 3)) >>> 0;
export const i32 = (u: number): number => u | 0;

/** Sign-extend the low `bits` bits of `v`. */
export const sext = (v: number, bits: number): number => {
  const m = 2 ** (bits - 1);
  const x = v % (2 * m);
  return x >= m ? x - 2 * m : x;
};

/** A decoded control transfer: where it goes, or why the bytes are not the expected instruction. */
export type Decoded = { readonly target: number } | { readonly error: string };

export const hex = (n: number): string => `0x${n.toString(16)}`;

/** Reader over the `.text` bytes of an object (`base` = the section's file offset). */
export const bytesReader = (bytes: Uint8Array, base: number, size: number): Reader => (at) => {
  if (at < 0 || at >= size) throw new Error(`read outside .text at ${hex(at)}`);
  return bytes[base + at]!;
};
