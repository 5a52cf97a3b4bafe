import { ArrayMaxSize, ArrayMinSize, IsOptional, Length } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Webhook } from './webhook.entity';

export const URL_MAX = 2000;

@InputType()
export class CreateWebhookInput {
  @Field({ description: 'https in production; never an address of the server’s own network (unless WEBHOOK_ALLOW_PRIVATE)' })
  @Length(1, URL_MAX, { message: `must be 1 to ${URL_MAX} characters` })
  url!: string;

  @Field(() => [String], { description: 'Event types to receive, e.g. ["conversation.created", "message.created"]' })
  @ArrayMinSize(1, { message: 'must name at least one event' })
  @ArrayMaxSize(50)
  events!: string[];

  @Field(() => ID, { nullable: true, description: 'Managers: their own department (the default). Admins: one department, or none for all' })
  @IsOptional()
  departmentId?: string | null;
}

@InputType()
export class UpdateWebhookInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, URL_MAX, { message: `must be 1 to ${URL_MAX} characters` })
  url?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMinSize(1, { message: 'must name at least one event' })
  @ArrayMaxSize(50)
  events?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: 'true re-enables a disabled webhook (its failure window starts afresh)' })
  @IsOptional()
  enabled?: boolean | null;
}

@ObjectType({ description: 'A new webhook and its signing secret, shown this once' })
export class CreatedWebhook {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field({ description: 'HMAC-SHA256 key of X-ShiftDesk-Signature; not retrievable later' })
  secret!: string;
}
