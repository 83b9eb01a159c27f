/** Strict RFC 4648 base64 (padded), without depending on Node's Buffer. */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const val = (s: string, i: number): number => {
  const c = s.charCodeAt(i);
  return c < 128 ? DECODE[c]! : -1;
};

/** The bytes of a padded base64 string, or `undefined` if it is not one. */
export const base64ToBytes = (s: string): Uint8Array | undefined => {
  const n = s.length;
  if (n % 4 !== 0) return undefined;
  if (n === 0) return new Uint8Array(0);
  const pad = s.charCodeAt(n - 1) === 61 ? (s.charCodeAt(n - 2) === 61 ? 2 : 1) : 0;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  const full = pad === 0 ? n : n - 4;
  for (let i = 0; i < full; i += 4) {
    const a = val(s, i), b = val(s, i + 1), c = val(s, i + 2), d = val(s, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  if (pad > 0) {
    const a = val(s, full), b = val(s, full + 1);
    if ((a | b) < 0) return undefined;
    if (pad === 2) {
      if ((b & 0x0f) !== 0) return undefined; // non-canonical trailing bits
      out[o++] = (a << 2) | (b >>> 4);
    } else {
      const c = val(s, full + 2);
      if (c < 0 || (c & 0x03) !== 0) return undefined;
      out[o++] = (a << 2) | (b >>> 4);
      out[o++] = ((b & 0x0f) << 4) | (c >>> 2);
    }
  }
  return out;
};

export const bytesToBase64 = (b: Uint8Array): string => {
  let s = "";
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + ALPHABET[v & 63]!;
  }
  if (i < b.length) {
    const v = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8);
    s += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]!;
    s += i + 1 < b.length ? ALPHABET[(v >>> 6) & 63]! + "=" : "==";
  }
  return s;
};
