/**
 * `from[s, e)` to `to[at]`: a byte loop for a short run (a name: a
 * `subarray` view, and the `set` call, cost more than the copy), `set` for
 * a long one. The name pool and the string table copy names this way.
 */
export const copyBytes = (to: Uint8Array, at: number, from: Uint8Array, s: number, e: number): void => {
  if (e - s > 64) to.set(from.subarray(s, e), at);
  else for (let i = s; i < e; i++) to[at + i - s] = from[i]!;
};
