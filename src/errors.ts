/**
 * Every way objfold can refuse an input: a closed union of plain, readonly,
 * tagged values. Tags are public API; `docs/errors.md` explains each one.
 *
 * Errors found while encoding carry `item`: the 0-based index of the item
 * (function or padding) in the module. Front ends that know line numbers
 * (the JSON Lines reader) turn it into a line with `itemLine`.
 */

/** One problem found while decoding the JSON Lines text or a JSON value. */
export interface DecodeIssue {
  /** 1-based input line (the header is line 1), when the input had lines. */
  readonly line?: number;
  /** Field path inside the line's JSON value, e.g. `["relocations", 0, "kind"]`. */
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

export type ObjfoldError =
  /** The input did not match the record format; every problem found, in input order. */
  | { readonly _tag: "DecodeError"; readonly issues: ReadonlyArray<DecodeIssue> }
  | { readonly _tag: "UnsupportedTarget"; readonly target: string; readonly supported: ReadonlyArray<string> }
  | { readonly _tag: "DuplicateName"; readonly item: number; readonly name: string; readonly firstItem: number }
  | { readonly _tag: "AlignmentTooLarge"; readonly item: number; readonly function: string; readonly alignment: number; readonly textAlign: number }
  | {
      readonly _tag: "RelocationKindNotForTarget";
      readonly item: number;
      readonly function: string;
      readonly offset: number;
      readonly kind: string;
      readonly arch: string;
    }
  | {
      readonly _tag: "RelocationAddend";
      readonly item: number;
      readonly function: string;
      readonly offset: number;
      readonly kind: string;
      readonly addend: number;
      readonly expected: number;
    }
  | {
      readonly _tag: "SiteOutsideBody";
      readonly item: number;
      readonly function: string;
      readonly offset: number;
      readonly kind: string;
      readonly siteSize: number;
      readonly bodyLength: number;
    }
  | { readonly _tag: "UnknownCallTarget"; readonly item: number; readonly function: string; readonly offset: number; readonly target: string }
  | {
      readonly _tag: "CallOutOfRange";
      readonly item: number;
      readonly function: string;
      readonly offset: number;
      readonly kind: string;
      readonly target: string;
      /** target − site, in bytes. */
      readonly distance: number;
      readonly min: number;
      readonly max: number;
    }
  | {
      /** The site (or the target it reaches) is not on the boundary the branch encoding needs. */
      readonly _tag: "MisalignedCallSite";
      readonly item: number;
      readonly function: string;
      readonly offset: number;
      readonly kind: string;
      readonly align: number;
      readonly which: "site" | "target";
      /** Text offset of the misaligned site or target. */
      readonly textOffset: number;
    }
  | { readonly _tag: "UnwindKindNotForTarget"; readonly item: number; readonly function: string; readonly kind: string; readonly expected: string }
  | {
      readonly _tag: "UnwindOutOfOrder";
      readonly item: number;
      readonly function: string;
      /** Index of the instruction or code in its list. */
      readonly index: number;
      readonly at: number;
      readonly previous: number;
    }
  | { readonly _tag: "UnwindBeyondLength"; readonly item: number; readonly function: string; readonly index: number; readonly at: number; readonly length: number }
  | {
      readonly _tag: "UnwindNotFactored";
      readonly item: number;
      readonly function: string;
      readonly index: number;
      readonly field: "at" | "offset";
      readonly value: number;
      readonly factor: number;
    }
  | {
      /** A value that does not fit the field the unwind format gives it. */
      readonly _tag: "UnwindValueOutOfRange";
      readonly item: number;
      readonly function: string;
      /** Index of the code or instruction, or -1 for a header field. */
      readonly index: number;
      readonly code: string;
      readonly field: string;
      readonly value: number;
      readonly allowed: string;
    }
  | {
      readonly _tag: "TextTooLarge";
      /** The item that took the text past the limit, when one did (not the final islands or page padding). */
      readonly item?: number;
      readonly size: number;
      readonly max: number;
    }
  /** Object bytes (ELF or `.eh_frame`) that cannot be read: truncated, bad magic, an offset or count out of range. */
  | { readonly _tag: "MalformedObject"; readonly reason: string }
  /** A well-formed object the importer cannot turn into a module (machine, CIE, section layout, unwind). */
  | { readonly _tag: "UnsupportedObject"; readonly reason: string }
  /** A relocation the module format cannot express (data reference, external symbol, unknown type). */
  | {
      readonly _tag: "UnsupportedRelocation";
      /** Name of the section the relocation patches. */
      readonly section: string;
      readonly offset: number;
      /** The relocation type's ELF name (e.g. `R_X86_64_GOTPCREL`), or `type N` when unknown. */
      readonly type: string;
      readonly reason: string;
    };

export type ObjfoldErrorTag = ObjfoldError["_tag"];

const where = (e: { function: string; offset?: number }): string =>
  e.offset === undefined ? `function ${JSON.stringify(e.function)}` : `function ${JSON.stringify(e.function)}, site +${e.offset}`;

/** One human-readable sentence per error (the CLI prefixes the line). */
export const describe = (e: ObjfoldError): string => {
  switch (e._tag) {
    case "DecodeError":
      return e.issues.map((i) => `${i.path.length ? i.path.join(".") + ": " : ""}${i.message}`).join("; ");
    case "UnsupportedTarget":
      return `unsupported target ${JSON.stringify(e.target)}; supported: ${e.supported.join(", ")}`;
    case "DuplicateName":
      return `duplicate function name ${JSON.stringify(e.name)} (first defined by item ${e.firstItem})`;
    case "AlignmentTooLarge":
      return `${where(e)}: alignment ${e.alignment} exceeds the target's text alignment ${e.textAlign}`;
    case "RelocationKindNotForTarget":
      return `${where(e)}: relocation kind ${e.kind} does not belong to architecture ${e.arch}`;
    case "RelocationAddend":
      return `${where(e)}: ${e.kind} takes addend ${e.expected}, got ${e.addend}`;
    case "SiteOutsideBody":
      return `${where(e)}: the ${e.siteSize}-byte ${e.kind} site does not lie inside the ${e.bodyLength}-byte body`;
    case "UnknownCallTarget":
      return `${where(e)}: call target ${JSON.stringify(e.target)} is not a function of this module`;
    case "CallOutOfRange":
      return `${where(e)}: ${e.kind} call to ${JSON.stringify(e.target)} spans ${e.distance} bytes, outside [${e.min}, ${e.max}]`;
    case "MisalignedCallSite":
      return `${where(e)}: ${e.kind} ${e.which} at text offset ${e.textOffset} is not ${e.align}-byte aligned`;
    case "UnwindKindNotForTarget":
      return `${where(e)}: unwind info of kind ${e.kind} does not match the target's (${e.expected})`;
    case "UnwindOutOfOrder":
      return `${where(e)}: unwind entry ${e.index} at ${e.at} comes before the previous one at ${e.previous}`;
    case "UnwindBeyondLength":
      return `${where(e)}: unwind instruction ${e.index} at ${e.at} lies beyond the covered length ${e.length}`;
    case "UnwindNotFactored":
      return `${where(e)}: unwind instruction ${e.index}: ${e.field} ${e.value} is not a multiple of ${e.factor}`;
    case "UnwindValueOutOfRange":
      return `${where(e)}: unwind ${e.index < 0 ? "header" : `code ${e.index}`} (${e.code}) ${e.field} = ${e.value} does not fit: ${e.allowed}`;
    case "TextTooLarge":
      return `the text section would be ${e.size} bytes, more than ${e.max}`;
    case "MalformedObject":
      return `malformed object: ${e.reason}`;
    case "UnsupportedObject":
      return `unsupported object: ${e.reason}`;
    case "UnsupportedRelocation":
      return `${e.section}+0x${e.offset.toString(16)}: relocation ${e.type} cannot be imported: ${e.reason}`;
  }
};

/** The item index an error refers to, if any. */
export const errorItem = (e: ObjfoldError): number | undefined => ("item" in e ? e.item : undefined);
