import { Property } from '@mikro-orm/postgresql';
import { Field, Int, ObjectType } from 'type-graphql';
import { CreatedAtColumns, UpdatedAtColumn } from '../../platform/db/shared-columns';

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
