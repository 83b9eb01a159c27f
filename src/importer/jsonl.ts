/**
 * A module as JSON Lines (`records.md`): the header on line 1, then one item
 * per line, in text order.
 *
 * @example
 *   renderJsonLines({ header: { format: "objfold/v1", target: "x86_64-unknown-linux-gnu" }, items: [] })
 *   // '{"format":"objfold/v1","target":"x86_64-unknown-linux-gnu"}\n'
 */
import type { ModuleJson } from "../schema/records.js";

/** One JSON text per line, without line ends. */
export const moduleToJsonLines = (m: ModuleJson): ReadonlyArray<string> => [JSON.stringify(m.header), ...m.items.map((i) => JSON.stringify(i))];

/** The whole module as text, each line ending in `\n`. */
export const renderJsonLines = (m: ModuleJson): string => moduleToJsonLines(m).map((l) => l + "\n").join("");
