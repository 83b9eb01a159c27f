/**
 * The JSON Lines edge for plain Node: fold a stream of text lines into an
 * object, holding no more of the input text than the current line.
 */
import { Either } from "effect";
import { encodeFold, type StreamResult } from "../api/lines.js";

export type { StreamResult };

/** Fold an async iterable of lines (as `readline` yields them) into ELF bytes. */
export const encodeLines = async (lines: AsyncIterable<string>): Promise<StreamResult> => {
  const fold = encodeFold();
  for await (const l of lines) fold.push(l);
  return fold.end();
};

export { Either };
