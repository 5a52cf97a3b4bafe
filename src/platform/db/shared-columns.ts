import { Property } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';

/**
 * Columns many tables share, written once: each base class is both the MikroORM properties (column names as the
 * migrations have them) and the GraphQL fields. An entity extends the one that fits; the `[OptionalProps]` of
 * the entity still names them. The bases are object types only so that type-graphql inherits their fields (no
 * operation returns one, so none is in the schema); the fields are plain values (simple resolvers).
 */

/** `created_at`: when the row was written. */
export function CreatedAtColumn(): PropertyDecorator {
  return (target, key) => {
    Field()(target, key);
    Property({ type: 'timestamptz' })(target, key as string);
  };
}

/** `updated_at`: set again on every update through the ORM. */
export function UpdatedAtColumn(): PropertyDecorator {
  return (target, key) => {
    Field()(target, key);
    Property({ type: 'timestamptz', onUpdate: () => new Date() })(target, key as string);
  };
}

@ObjectType({ simpleResolvers: true })
export abstract class CreatedAtColumns {
  @CreatedAtColumn()
  createdAt: Date = new Date();
}

@ObjectType({ simpleResolvers: true })
export abstract class TimestampColumns extends CreatedAtColumns {
  @UpdatedAtColumn()
  updatedAt: Date = new Date();
}

/** A request someone approves or rejects (leave, swaps): who decided, when, and what they wrote. */
@ObjectType({ simpleResolvers: true })
export abstract class DecisionColumns extends TimestampColumns {
  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  decidedById: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  decidedAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  decisionComment: string | null = null;
}
