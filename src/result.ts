/**
 * The `Either` values of the encoder's core (the fold, the unwind planners,
 * the object plan): plain `{ _tag, left }` / `{ _tag, right }` records, typed
 * as Effect's `Either` through a type-only import, so that the CLI's module
 * graph does not load `effect` at all (`effect/Either` is 17 modules, ~14 ms
 * of a ~90 ms start; docs/performance.md).
 *
 * Effect's own functions (`isLeft`, `map`, `match`, …) read an `Either` by
 * its `_tag`, so these values go through them unchanged; what Effect adds
 * (`Equal`, `pipe` methods, `isEither`) they lack, and no public face hands
 * them out as they are: `index.ts` turns them into fp-ts `Either`s and
 * `effect.ts` into Effect failures and successes. Only the few functions the
 * core uses are here, each data-first.
 */
import type { Either } from "effect/Either";

export type { Either };

export const left = <E, A = never>(left: E): Either<A, E> => ({ _tag: "Left", left }) as unknown as Either<A, E>;

export const right = <A, E = never>(right: A): Either<A, E> => ({ _tag: "Right", right }) as unknown as Either<A, E>;

export const isLeft = <A, E>(e: Either<A, E>): e is Extract<Either<A, E>, { readonly _tag: "Left" }> => e._tag === "Left";

export const isRight = <A, E>(e: Either<A, E>): e is Extract<Either<A, E>, { readonly _tag: "Right" }> => e._tag === "Right";

export const map = <A, E, B>(e: Either<A, E>, f: (a: A) => B): Either<B, E> => (e._tag === "Right" ? right(f(e.right)) : (e as unknown as Either<B, E>));

export const flatMap = <A, E, B, E2>(e: Either<A, E>, f: (a: A) => Either<B, E2>): Either<B, E | E2> =>
  e._tag === "Right" ? f(e.right) : (e as unknown as Either<B, E | E2>);
