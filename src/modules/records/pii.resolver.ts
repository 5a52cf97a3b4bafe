import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Context } from '../../context';
import { Message } from '../conversations/message.entity';
import { LeaveRequest } from '../leave/leave-request.entity';
import { TicketComment } from '../tickets/ticket-comment.entity';
import { Ticket } from '../tickets/ticket.entity';
import { PiiSource, piiSourceOf } from './pii-sources';
import { PiiType } from './pii-type';

const describe = (what: string) => `The kinds of personal data in ${what} (rules: PII_RULES_FILE); empty when none`;

/**
 * `piiTypes` as stored; for a row the backfill has not read yet, or a message that came over pub/sub (whose
 * payload carries only its text), found from the text now with the same rules.
 */
function piiTypes(row: { piiTypes?: PiiType[] | null }, ctx: Context): PiiType[] {
  if (row.piiTypes) return row.piiTypes;
  const source = piiSourceOf(row) as PiiSource;
  return ctx.services.pii.types(source.text(row as Parameters<PiiSource['text']>[0]));
}

@Resolver(() => Message)
export class MessagePiiResolver {
  @FieldResolver(() => [PiiType], { description: describe('the content') })
  piiTypes(@Root() m: Message, @Ctx() ctx: Context): PiiType[] {
    return piiTypes(m, ctx);
  }
}

@Resolver(() => Ticket)
export class TicketPiiResolver {
  @FieldResolver(() => [PiiType], { description: describe('the subject and the description') })
  piiTypes(@Root() t: Ticket, @Ctx() ctx: Context): PiiType[] {
    return piiTypes(t, ctx);
  }
}

@Resolver(() => TicketComment)
export class TicketCommentPiiResolver {
  @FieldResolver(() => [PiiType], { description: describe('the body') })
  piiTypes(@Root() c: TicketComment, @Ctx() ctx: Context): PiiType[] {
    return piiTypes(c, ctx);
  }
}

@Resolver(() => LeaveRequest)
export class LeaveRequestPiiResolver {
  @FieldResolver(() => [PiiType], { description: describe('the reason') })
  piiTypes(@Root() l: LeaveRequest, @Ctx() ctx: Context): PiiType[] {
    return piiTypes(l, ctx);
  }
}

export const PII_RESOLVERS = [MessagePiiResolver, TicketPiiResolver, TicketCommentPiiResolver, LeaveRequestPiiResolver] as const;
