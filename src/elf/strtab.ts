/**
 * ELF string tables laid out as the `object` crate's `StringTable` does
 * (reference §9): strings sorted by their reversed bytes in descending order
 * (end of string lowest), and a string that is a suffix of the one written
 * just before it shares its bytes. Byte-identical output depends on it.
 */

export interface StringTable {
  /** The section contents: a NUL, then the strings. */
  readonly size: number;
  /** Offset of each input string (same order as the input). */
  readonly offsets: Float64Array;
  /** UTF-8 bytes of each distinct written string, in section order, with where it goes. */
  readonly writes: ReadonlyArray<{ readonly at: number; readonly bytes: Uint8Array }>;
}

const utf8 = new TextEncoder();

/** Compare two byte strings from their ends: > 0 when `a` sorts first (descending, ended lowest). */
const compareReversed = (a: Uint8Array, b: Uint8Array): number => {
  let i = a.length - 1;
  let j = b.length - 1;
  for (; i >= 0 && j >= 0; i--, j--) {
    const d = a[i]! - b[j]!;
    if (d !== 0) return d;
  }
  return i - j; // the one with bytes left is greater
};

const endsWith = (a: Uint8Array, b: Uint8Array): boolean => {
  if (b.length > a.length) return false;
  const off = a.length - b.length;
  for (let k = 0; k < b.length; k++) if (a[off + k] !== b[k]) return false;
  return true;
};

/** Build a string table for `strings` (duplicates allowed: they share one entry). */
export const buildStringTable = (strings: ReadonlyArray<string>): StringTable => {
  const ids = new Map<string, number>();
  const distinct: Uint8Array[] = [];
  const idOf = new Int32Array(strings.length);
  for (let k = 0; k < strings.length; k++) {
    const s = strings[k]!;
    let id = ids.get(s);
    if (id === undefined) {
      id = distinct.length;
      ids.set(s, id);
      distinct.push(utf8.encode(s));
    }
    idOf[k] = id;
  }
  const order = Array.from(distinct.keys());
  order.sort((x, y) => compareReversed(distinct[y]!, distinct[x]!));
  const at = new Float64Array(distinct.length);
  const writes: { at: number; bytes: Uint8Array }[] = [];
  let offset = 1;
  let previous: Uint8Array = new Uint8Array(0);
  for (const id of order) {
    const s = distinct[id]!;
    if (endsWith(previous, s)) at[id] = offset - s.length - 1;
    else {
      at[id] = offset;
      writes.push({ at: offset, bytes: s });
      offset += s.length + 1;
      previous = s;
    }
  }
  const offsets = new Float64Array(strings.length);
  for (let k = 0; k < strings.length; k++) offsets[k] = at[idOf[k]!]!;
  return { size: offset, offsets, writes };
};
