/**
 * From a module (or a finished fold) to ELF bytes: plan the text, derive the
 * unwind tables, plan the object, write it once.
 */
import * as Either from "./result.js";
import type { ObjfoldError } from "./errors.js";
import { type ExtraSection, type ObjectPlan, planObject, wholeSection, writeObject } from "./elf/object.js";
import { begin, finish, type LayoutState, step, stepMany } from "./layout/fold.js";
import type { TextPlan } from "./layout/plan.js";
import type { Header, Item, Module } from "./schema/records.js";
import { cieOf } from "./unwind/systemv/cie.js";
import { planWindowsUnwind, type WinUnwindFunction } from "./unwind/windowsTables.js";
import { ehFrameRuns, planEhFrameOfFunctions, writeEhFrame } from "./unwind/systemv/ehFrame.js";
import type { ByteWriter } from "./bytes/writer.js";

/** The sections that follow `.text`: `.eh_frame`, `.xdata` and `.pdata`, or none. */
export const planUnwind = (text: TextPlan): Either.Either<ReadonlyArray<ExtraSection>, ObjfoldError> => {
  const { target } = text;
  if (target.unwindAbi === "systemv") {
    // The fold refused unwind records of another ABI, so every one here is SystemV.
    const cie = cieOf(target.arch);
    if (cie === undefined || !text.fns.unwind.some((u) => u !== undefined)) return Either.right([]);
    return Either.map(planEhFrameOfFunctions(cie, text.fns), (p) => [
      {
        name: ".eh_frame",
        align: 1,
        size: p.size,
        runs: (bytes) => ehFrameRuns(p, bytes).map((r) => ({ offset: r.offset, size: r.size, write: (w: ByteWriter) => writeEhFrame(w, p, text.textSize, r.from, r.to, r.entriesAt) })),
      } satisfies ExtraSection,
    ]);
  }
  if (target.unwindAbi === "none") return Either.right([]);
  // Windows: `.xdata` right after the page-padded text, `.pdata` right after it (reference §10).
  const fns: WinUnwindFunction[] = [];
  const f = text.fns;
  for (let k = 0; k < f.count; k++) {
    const u = f.unwind[k];
    if (u !== undefined && u.kind !== "systemv") fns.push({ item: f.item[k]!, name: f.nameOf(k), offset: f.offset[k]!, length: f.length[k]!, unwind: u });
  }
  if (fns.length === 0) return Either.right([]);
  const arch = target.arch === "aarch64" ? "aarch64" : "x86_64";
  return Either.map(planWindowsUnwind(arch, fns, text.textSize), (t) => [
    { name: ".xdata", align: 4, size: t.xdataSize, runs: wholeSection(t.xdataSize, (w) => t.writeXdata(w)) } satisfies ExtraSection,
    { name: ".pdata", align: 4, size: t.pdataSize, runs: wholeSection(t.pdataSize, (w) => t.writePdata(w)) } satisfies ExtraSection,
  ]);
};

/** Plan the whole object from a finished fold's text plan. */
export const planFromText = (text: TextPlan): Either.Either<ObjectPlan, ObjfoldError> => Either.map(planUnwind(text), (extras) => planObject(text, extras));

/** Close a fold and plan its object (render it with `writeObject`, or `objectParts` to write it in parts). */
export const finishPlan = (state: LayoutState): Either.Either<ObjectPlan, ObjfoldError> => Either.flatMap(finish(state), planFromText);

/** Close a fold and render it. */
export const finishBytes = (state: LayoutState): Either.Either<Uint8Array, ObjfoldError> => Either.map(finishPlan(state), writeObject);

/** Fold a whole item list. */
export const foldItems = (header: Header, items: Iterable<Item>): LayoutState => {
  if (Array.isArray(items)) return stepMany(begin(header), items as ReadonlyArray<Item>);
  let s = begin(header);
  for (const item of items) {
    s = step(s, item);
    if (s.failure !== undefined) break;
  }
  return s;
};

/** Encode a decoded module into an ELF object. */
export const encodeModule = (m: Module): Either.Either<Uint8Array, ObjfoldError> => finishBytes(foldItems(m.header, m.items));
