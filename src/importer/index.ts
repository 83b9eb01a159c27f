/** The gcc-object importer: `importObject` and its JSON Lines rendering. */
export { importObject } from "./import.js";
export { moduleToJsonLines, renderJsonLines } from "./jsonl.js";
export { importArchOf, type ImportArch } from "./arch.js";
