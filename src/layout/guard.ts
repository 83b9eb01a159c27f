/**
 * The fold's guard against values built by hand. Items decoded by the schema
 * always pass; a library caller can also hand `step`/`encode` an `Item` it
 * built itself, whose `number`s the type system does not bound. The fold
 * relies on the schema's refinements (integers, ranges, powers of two), so it
 * checks them here, cheaply, and refuses a violation as a `DecodeError` with
 * the field's path instead of hanging, throwing or writing wrong bytes.
 *
 * `laws/guard.test.ts` checks this guard accepts exactly what the schema's
 * `Item` accepts, on valid items and on items with fields broken.
 */
import type { DecodeIssue } from "../errors.js";
import { CALL_RELOCATION_KINDS, isFunctionName } from "../schema/kinds.js";
import type { Item } from "../schema/records.js";

type Path = ReadonlyArray<string | number>;
type Problem = { readonly path: Path; readonly message: string } | undefined;

const int = (v: unknown, lo: number, hi: number): boolean => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
const U8 = 0xff, U16 = 0xffff, U32 = 0xffffffff, I32 = 0x7fffffff;
const SAFE = Number.MAX_SAFE_INTEGER;

const bad = (path: Path, message: string): Problem => ({ path, message });
const need = (ok: boolean, path: Path, message: string): Problem => (ok ? undefined : bad(path, message));

const isName = (v: unknown): boolean => typeof v === "string" && isFunctionName(v);
const isAlignment = (v: unknown): boolean => int(v, 1, 0x40000000) && ((v as number) & ((v as number) - 1)) === 0;

const CALL_KINDS: ReadonlySet<string> = new Set(CALL_RELOCATION_KINDS);

/** Fields of each SystemV op and their ranges. */
const CFA_FIELDS: ReadonlyMap<string, ReadonlyArray<readonly [string, number, number] | readonly [string, "boolean"]>> = new Map([
  ["cfa", [["register", 0, U16], ["offset", -I32 - 1, I32]]],
  ["cfaRegister", [["register", 0, U16]]],
  ["cfaOffset", [["offset", -I32 - 1, I32]]],
  ["restore", [["register", 0, U16]]],
  ["undefined", [["register", 0, U16]]],
  ["sameValue", [["register", 0, U16]]],
  ["offset", [["register", 0, U16], ["offset", -I32 - 1, I32]]],
  ["valOffset", [["register", 0, U16], ["offset", -I32 - 1, I32]]],
  ["register", [["register", 0, U16], ["fromRegister", 0, U16]]],
  ["rememberState", []],
  ["restoreState", []],
  ["argsSize", [["size", 0, U32]]],
  ["aarch64SetPointerAuth", [["returnAddresses", "boolean"]]],
]);

const WIN_X64_FIELDS: ReadonlyMap<string, ReadonlyArray<string>> = new Map([
  ["pushRegister", ["at", "register"]],
  ["saveReg", ["at", "register", "stackOffset"]],
  ["saveXmm", ["at", "register", "stackOffset"]],
  ["stackAlloc", ["at", "size"]],
  ["setFpRegister", ["at"]],
]);

const WIN_ARM64_FIELDS: ReadonlyMap<string, ReadonlyArray<string>> = new Map([
  ["saveReg", ["register", "stackOffset", "isPair"]],
  ["saveFReg", ["register", "stackOffset", "isPair"]],
  ["saveFpLrPair", ["stackOffset"]],
  ["allocS", ["size"]],
  ["allocM", ["size"]],
  ["allocL", ["size"]],
  ["pacSignLr", []],
  ["setFp", []],
  ["addFp", ["offset"]],
]);

/** The fields of Windows code `k` under `path`. */
const fields = (o: Record<string, unknown>, spec: ReadonlyArray<string>, path: Path, k: number): Problem => {
  for (const f of spec) {
    const v = o[f];
    if (f === "isPair" ? typeof v !== "boolean" : !int(v, 0, SAFE))
      return bad([...path, "codes", k, f], f === "isPair" ? "must be a boolean" : "must be a non-negative integer");
  }
  return undefined;
};

/** A Windows record's `codes`: an array of objects, each a known op with its fields. */
const codesProblem = (codes: unknown, spec: ReadonlyMap<string, ReadonlyArray<string>>, arch: string, path: Path): Problem => {
  if (!Array.isArray(codes)) return bad([...path, "codes"], "must be an array");
  for (let k = 0; k < codes.length; k++) {
    const c = codes[k] as Record<string, unknown> | null;
    if (typeof c !== "object" || c === null) return bad([...path, "codes", k], "must be an object");
    const fieldsOf = spec.get(c.op as string);
    if (fieldsOf === undefined) return bad([...path, "codes", k, "op"], `is not a Windows ${arch} code`);
    const p = fields(c, fieldsOf, path, k);
    if (p !== undefined) return p;
  }
  return undefined;
};

const unwindProblem = (u: unknown, path: Path): Problem => {
  if (typeof u !== "object" || u === null) return bad(path, "must be an object");
  const o = u as Record<string, unknown>;
  switch (o.kind) {
    case "systemv": {
      if (!int(o.length, 0, U32)) return bad([...path, "length"], "must be a u32");
      if (!Array.isArray(o.instructions)) return bad([...path, "instructions"], "must be an array");
      // Paths are built only for a problem: this loop runs for every instruction of every function.
      const ins = o.instructions;
      for (let k = 0; k < ins.length; k++) {
        const i = ins[k] as Record<string, unknown> | null;
        if (typeof i !== "object" || i === null) return bad([...path, "instructions", k], "must be an object");
        if (!int(i.at, 0, U32)) return bad([...path, "instructions", k, "at"], "must be a u32");
        const spec = CFA_FIELDS.get(i.op as string);
        if (spec === undefined) return bad([...path, "instructions", k, "op"], "is not a SystemV instruction");
        for (let f = 0; f < spec.length; f++) {
          const field = spec[f]!;
          const v = i[field[0]];
          const ok = field[1] === "boolean" ? typeof v === "boolean" : int(v, field[1], field[2] as number);
          if (!ok) return bad([...path, "instructions", k, field[0]], "is out of range");
        }
      }
      return undefined;
    }
    case "windowsX64": {
      for (const f of ["flags", "prologueSize", "frameRegisterOffset"])
        if (!int(o[f], 0, SAFE)) return bad([...path, f], "must be a non-negative integer");
      if (o.frameRegister !== null && !int(o.frameRegister, 0, SAFE)) return bad([...path, "frameRegister"], "must be null or a non-negative integer");
      return codesProblem(o.codes, WIN_X64_FIELDS, "x64", path);
    }
    case "windowsArm64":
      return codesProblem(o.codes, WIN_ARM64_FIELDS, "ARM64", path);
    default:
      return bad([...path, "kind"], "is not an unwind kind");
  }
};

const itemProblem = (item: Item, checkedUnwind: unknown): Problem => {
  if (typeof item !== "object" || item === null) return bad([], "must be an object");
  const o = item as unknown as Record<string, unknown>;
  if (o.type === "padding") return need(int(o.size, 0, SAFE), ["size"], "must be a non-negative integer");
  if (o.type !== "function") return bad(["type"], "must be \"function\" or \"padding\"");
  if (!isName(o.name)) return bad(["name"], "must be a non-empty string without NUL or unpaired surrogates");
  if (!(o.body instanceof Uint8Array)) return bad(["body"], "must be a Uint8Array");
  if (!isAlignment(o.alignment)) return bad(["alignment"], "must be a power of two from 1 to 2^30");
  if (!Array.isArray(o.relocations)) return bad(["relocations"], "must be an array");
  const relocs = o.relocations;
  for (let k = 0; k < relocs.length; k++) {
    const r = relocs[k] as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null) return bad(["relocations", k], "must be an object");
    if (!int(r.offset, 0, U32)) return bad(["relocations", k, "offset"], "must be a u32");
    if (!int(r.addend, -SAFE, SAFE)) return bad(["relocations", k, "addend"], "must be an integer");
    if (r.kind === "PulleyCallIndirectHost") {
      if (!int(r.hostCall, 0, U8)) return bad(["relocations", k, "hostCall"], "must be a u8");
    } else if (!CALL_KINDS.has(r.kind as string)) return bad(["relocations", k, "kind"], "is not a relocation kind");
    else if (!isName(r.target)) return bad(["relocations", k, "target"], "must be a function name");
  }
  // A frozen unwind record already checked (the decoder hands out one frozen value for equal records) needs no second look.
  if (o.unwind === undefined || (o.unwind === checkedUnwind && Object.isFrozen(o.unwind))) return undefined;
  return unwindProblem(o.unwind, ["unwind"]);
};

/**
 * The problem with an item the schema would refuse, as a decode issue;
 * undefined for a valid item. `checkedUnwind` is an unwind record the caller
 * already checked (the previous item's): if it is frozen and this item
 * carries the same one, it is not walked again.
 */
export const guardItem = (item: Item, alreadyChecked?: unknown): DecodeIssue | undefined => {
  const p = itemProblem(item, alreadyChecked);
  return p === undefined ? undefined : { path: p.path, message: p.message };
};
