/**
 * From a module (or a finished fold) to ELF bytes: plan the text, derive the
 * unwind tables, plan the object, write it once.
 */
import { Either } from "effect";
import type { ObjfoldError } from "./errors.js";
import { type ExtraSection, type ObjectPlan, planObject, writeObject } from "./elf/object.js";
import { begin, finish, type LayoutState, step } from "./layout/fold.js";
import type { TextPlan } from "./layout/plan.js";
import type { Header, Item, Module, SystemVUnwind } from "./schema/records.js";
import { cieOf } from "./unwind/systemv/cie.js";
import { type FdeSource, planEhFrame, writeEhFrame } from "./unwind/systemv/ehFrame.js";

/** The sections that follow `.text`: `.eh_frame`, or none. */
export const planUnwind = (text: TextPlan): Either.Either<ReadonlyArray<ExtraSection>, ObjfoldError> => {
  const { target } = text;
  if (target.unwindAbi === "systemv") {
    const fdes: FdeSource[] = [];
    for (const f of text.functions) {
      const u = f.fn.unwind;
      if (u !== undefined) fdes.push({ item: f.item, name: f.fn.name, textOffset: f.offset, unwind: u as SystemVUnwind });
    }
    const cie = cieOf(target.arch);
    if (fdes.length === 0 || cie === undefined) return Either.right([]);
    return Either.map(planEhFrame(cie, fdes), (p) => [
      { name: ".eh_frame", align: 1, size: p.size, write: (w) => writeEhFrame(w, p, text.textSize) } satisfies ExtraSection,
    ]);
  }
  if (target.unwindAbi === "none") return Either.right([]);
  const any = text.functions.find((f) => f.fn.unwind !== undefined);
  if (any === undefined) return Either.right([]);
  return Either.left({ _tag: "UnwindKindNotForTarget", item: any.item, function: any.fn.name, kind: any.fn.unwind!.kind, expected: "(Windows unwind tables are not implemented yet)" });
};

/** Plan the whole object from a finished fold's text plan. */
export const planFromText = (text: TextPlan): Either.Either<ObjectPlan, ObjfoldError> => Either.map(planUnwind(text), (extras) => planObject(text, extras));

/** Close a fold and render it. */
export const finishBytes = (state: LayoutState): Either.Either<Uint8Array, ObjfoldError> =>
  Either.map(Either.flatMap(finish(state), planFromText), writeObject);

/** Fold a whole item list. */
export const foldItems = (header: Header, items: Iterable<Item>): LayoutState => {
  let s = begin(header);
  for (const item of items) {
    s = step(s, item);
    if (s.failure !== undefined) break;
  }
  return s;
};

/** Encode a decoded module into an ELF object. */
export const encodeModule = (m: Module): Either.Either<Uint8Array, ObjfoldError> => finishBytes(foldItems(m.header, m.items));
