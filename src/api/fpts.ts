/**
 * The one place where fp-ts and Effect meet: fp-ts writes `Either<E, A>`
 * (error first), Effect writes `Either<A, E>` (success first). Both are plain
 * tagged objects with `left`/`right` fields, but their type parameters are in
 * opposite orders and their prototypes differ, so every face converts here
 * and nowhere else (design.md, "Versions that work on Node 20").
 */
import { Either as EffectEither } from "effect";
import * as FE from "fp-ts/lib/Either.js";

/** An Effect `Either<A, E>` as an fp-ts `Either<E, A>`. */
export const fromEffectEither = <A, E>(e: EffectEither.Either<A, E>): FE.Either<E, A> =>
  EffectEither.isLeft(e) ? FE.left(e.left) : FE.right(e.right);

/** An fp-ts `Either<E, A>` as an Effect `Either<A, E>`. */
export const toEffectEither = <E, A>(e: FE.Either<E, A>): EffectEither.Either<A, E> =>
  FE.isLeft(e) ? EffectEither.left(e.left) : EffectEither.right(e.right);
