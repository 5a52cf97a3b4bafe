import { Property } from '@mikro-orm/postgresql';
import { Field, Int, ObjectType } from 'type-graphql';
import type { Viewer } from '../../platform/auth/roles';
import { CreatedAtColumns, UpdatedAtColumn } from '../../platform/db/shared-columns';
import { Conflict, ConflictReason, FieldProblem, Forbidden, InvalidInput } from '../../platform/errors';

/**
 * The rating rule, one for conversations and tickets: the customer of the thing rates it once, with a whole
 * score from MIN_SCORE to MAX_SCORE and an optional comment. What must have happened first (the
 * conversation ended, the ticket resolved) stays with each.
 */
export const MIN_SCORE = 1;
export const MAX_SCORE = 5;
export const MAX_RATING_COMMENT = 1000;

/** What a rated row holds. */
export interface Rated {
  customerId: string;
  rating: number | null;
  ratingComment: string | null;
  ratedAt: Date | null;
}

export interface Rating {
  score: number;
  /** Trimmed; null when empty. */
  comment: string | null;
}

/** The score and comment as given, checked (BAD_USER_INPUT), before anything is read. */
export function checkRating(score: number, comment?: string | null): Rating {
  const text = comment?.trim() || null;
  const problems: FieldProblem[] = [];
  if (!Number.isInteger(score) || score < MIN_SCORE || score > MAX_SCORE) {
    problems.push({ field: 'score', message: `must be a whole number from ${MIN_SCORE} to ${MAX_SCORE}` });
  }
  if (text && text.length > MAX_RATING_COMMENT)
    problems.push({ field: 'comment', message: `must be at most ${MAX_RATING_COMMENT} characters` });
  if (problems.length) throw new InvalidInput(problems);
  return { score, comment: text };
}

/** Only its customer rates a conversation or a ticket (`what` names it in the message). */
export function requireRater(viewer: Viewer, target: Pick<Rated, 'customerId'>, what: string): void {
  if (target.customerId !== viewer.id) throw new Forbidden(`Only the ${what}’s customer rates it`);
}

/** Stores the rating, once: a second one is a CONFLICT with reason ALREADY_RATED. */
export function applyRating(target: Rated, rating: Rating, what: string): void {
  if (target.rating !== null) throw new Conflict(ConflictReason.ALREADY_RATED, `The ${what} has already been rated`);
  target.rating = rating.score;
  target.ratingComment = rating.comment;
  target.ratedAt = new Date();
}

/** The customer's rating (rating.policy.ts), on conversations and tickets alike. */
@ObjectType({ simpleResolvers: true })
export abstract class RatingColumns extends CreatedAtColumns {
  @Field(() => Int, { nullable: true })
  @Property({ type: 'smallint', nullable: true })
  rating: number | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  ratingComment: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  ratedAt: Date | null = null;
}

/** A rating on a row that also keeps `updated_at` (tickets). */
@ObjectType({ simpleResolvers: true })
export abstract class RatingTimestampColumns extends RatingColumns {
  @UpdatedAtColumn()
  updatedAt: Date = new Date();
}
