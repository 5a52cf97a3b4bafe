import { Length, Matches } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Conversation } from '../conversations/conversation.entity';
import { ServiceRequest } from '../conversations/conversation.inputs';
import { MAX_MESSAGE_LENGTH, Message } from '../conversations/message.entity';
import { formatLimit } from '../../platform/text-input';

/** A channel's name as stored: lower-case letters, digits, '-' and '_', at most 32 (wechat, email, whatsapp). */
export const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const CHANNEL_MESSAGE = 'must be 1 to 32 lower-case letters, digits, "-" or "_" (e.g. wechat)';

@InputType()
export class ChannelInboundInput {
  @Field({ description: 'e.g. wechat, email, whatsapp' })
  @Matches(CHANNEL_NAME, { message: CHANNEL_MESSAGE })
  channel!: string;

  @Field({ description: 'The customer’s id in the channel (openid, address, phone number)' })
  @Length(1, 200, { message: 'must be 1 to 200 characters' })
  externalCustomerId!: string;

  @Field({ description: 'The customer’s name, used when they are new' })
  @Length(1, 100, { message: 'must be 1 to 100 characters' })
  displayName!: string;

  @Field({ description: 'The message’s id in the channel: sending it again stores nothing and answers the same message' })
  @Length(1, 200, { message: 'must be 1 to 200 characters' })
  externalMessageId!: string;

  @Field({ description: `1 to ${formatLimit(MAX_MESSAGE_LENGTH)} characters` })
  content!: string;
}

@ObjectType()
export class ChannelInboundResult {
  @Field(() => ID, { description: 'The ShiftDesk customer the channel identity is' })
  customerId!: string;

  @Field(() => Conversation, { nullable: true, description: 'Null when nobody could take the request (serviceRequest NO_CAPACITY)' })
  conversation!: Conversation | null;

  @Field(() => Message, { nullable: true, description: 'The stored message; null when nothing was stored (NO_CAPACITY)' })
  message!: Message | null;

  @Field(() => ServiceRequest, { nullable: true, description: 'When the message opened a conversation: routed or queued like any request' })
  serviceRequest!: ServiceRequest | null;

  @Field({ description: 'True when this externalMessageId was taken in before: nothing new was stored' })
  duplicate!: boolean;
}

@InputType()
export class LinkChannelIdentityInput {
  @Field()
  @Matches(CHANNEL_NAME, { message: CHANNEL_MESSAGE })
  channel!: string;

  @Field()
  @Length(1, 200, { message: 'must be 1 to 200 characters' })
  externalCustomerId!: string;

  @Field(() => ID, { description: 'The ShiftDesk customer this identity is from now on' })
  customerId!: string;
}
