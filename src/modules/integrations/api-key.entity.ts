import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { ApiKeyScope } from './api-key-scope';
import { Node } from '../../platform/node';

@ObjectType({
  implements: Node,
  description: 'A credential for an integration. Its secret is shown once, at creation or rotation; only a hash is kept',
})
@Entity({ tableName: 'api_keys' })
export class ApiKey {
  [OptionalProps]?:
    | 'id'
    | 'previousSecretHash'
    | 'previousValidUntil'
    | 'departmentId'
    | 'expiresAt'
    | 'createdAt'
    | 'rotatedAt'
    | 'revokedAt'
    | 'revokedById'
    | 'lastUsedAt'
    | 'lastUsedAddress';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field()
  @Property({ type: 'text' })
  name!: string;

  @Field({ description: 'The secret’s first characters, to recognise it (e.g. sdk_live_Ab3x)' })
  @Property({ type: 'text' })
  prefix!: string;

  @Property({ type: 'text', hidden: true })
  secretHash!: string;

  @Property({ type: 'text', nullable: true, hidden: true })
  previousSecretHash: string | null = null;

  @Field(() => Date, { nullable: true, description: 'After rotateApiKey: the old secret works until then' })
  @Property({ type: 'timestamptz', nullable: true })
  previousValidUntil: Date | null = null;

  @Field(() => [ApiKeyScope])
  @Property({ type: 'text[]' })
  scopes!: ApiKeyScope[];

  @Field(() => ID, { nullable: true, description: 'The key acts in this department only; null: in all (admins’ keys)' })
  @Property({ type: 'uuid', nullable: true })
  departmentId: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null = null;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  createdById!: string;

  @Field()
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  rotatedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: 'uuid', nullable: true })
  revokedById: string | null = null;

  @Field(() => Date, { nullable: true, description: 'Written at most once a minute' })
  @Property({ type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null = null;

  @Field(() => String, { nullable: true, description: 'The client address of that use' })
  @Property({ type: 'text', nullable: true })
  lastUsedAddress: string | null = null;
}
