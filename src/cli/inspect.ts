/** `objfold inspect`: placeholder wiring until the reader lands. */
export const inspectMain = (_args: string[], fail: (lines: string[], code: number) => number, _usage: (m: string) => unknown): number =>
  fail(["inspect is not implemented yet"], 1);
