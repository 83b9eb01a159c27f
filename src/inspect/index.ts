/**
 * Reading objects back (docs/inspect.md): `inspectObject(bytes)` gives the
 * `objfold-inspect/v1` description, and the renderers turn it into text, an
 * SVG picture of `.text`, or perf JIT map lines.
 *
 * @example
 *   import { inspectObject, renderText } from "./inspect/index.js";
 *   Either.map(inspectObject(bytes), (d) => renderText(d, "a.o"));
 */
export { anonymousName, inspectObject, MAX_ROW_INSTRUCTIONS } from "./inspect.js";
export * from "./model.js";
export { parseAddress, perfMap, perfMapEntries, type PerfMapEntry } from "./perfmap.js";
export { renderSvg } from "./svg.js";
export { instructionText, printable, renderText } from "./text.js";
export { AARCH64_VENEER_SIZE, AARCH64_VENEER_WORDS, scanCalls, scanVeneers } from "./calls.js";
