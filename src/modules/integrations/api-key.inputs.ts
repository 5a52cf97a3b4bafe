import { ArrayMaxSize, ArrayMinSize, IsOptional, Length } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { ApiKeyScope } from './api-key-scope';
import { ApiKey } from './api-key.entity';

/** The longest name of an API key. */
export const MAX_API_KEY_NAME = 100;

@InputType()
export class CreateApiKeyInput {
  @Field({ description: 'What the key is for, e.g. "WeChat bridge"' })
  @Length(1, MAX_API_KEY_NAME, { message: 'must be $constraint1 to $constraint2 characters' })
  name!: string;

  @Field(() => [ApiKeyScope], { description: 'At least one; the key may call only what these allow' })
  @ArrayMinSize(1, { message: 'must name at least one scope' })
  @ArrayMaxSize(Object.keys(ApiKeyScope).length)
  scopes!: ApiKeyScope[];

  @Field(() => Date, { nullable: true, description: 'In the future; null: the key does not expire' })
  @IsOptional()
  expiresAt?: Date | null;

  @Field(() => ID, { nullable: true, description: 'Admins: a department or none (all); managers: their own (the default)' })
  @IsOptional()
  departmentId?: string | null;
}

@ObjectType({ description: 'A key and its secret, shown this once' })
export class ApiKeySecret {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field({ description: 'Send as `Authorization: Bearer <secret>` (or in graphql-ws connection_init). Not shown again' })
  secret!: string;
}
