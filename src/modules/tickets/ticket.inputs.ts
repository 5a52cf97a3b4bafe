import { IsOptional } from 'class-validator';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../platform/pagination';
import { formatLimit } from '../../platform/text-input';
import { ServicePriority } from '../conversations/queue-policy';
import { Ticket, TicketStatus } from './ticket.entity';

export const MAX_SUBJECT = 200;
export const MAX_DESCRIPTION = 5000;
export const MAX_TAGS = 10;
export const MAX_TAG_LENGTH = 30;
/** A reason given for escalating or reopening. */
export const MAX_REASON = 500;

@InputType()
export class CreateTicketInput {
  @Field({ description: `1–${MAX_SUBJECT} characters` })
  subject!: string;

  @Field({ defaultValue: '', description: `Up to ${formatLimit(MAX_DESCRIPTION)} characters` })
  description: string = '';

  @Field({ description: 'One of the configured categories (ticketCategories)' })
  category!: string;

  @Field(() => ServicePriority, {
    nullable: true,
    description: 'Kept when given; left out, the classifier’s priority of subject and description (classifyMessage)',
  })
  @IsOptional()
  priority?: ServicePriority | null;

  @Field(() => [String], {
    nullable: true,
    description: `Up to ${MAX_TAGS} tags of 1–${MAX_TAG_LENGTH} characters; they also match agents’ skills`,
  })
  @IsOptional()
  tags?: string[] | null;

  @Field(() => ID, { nullable: true, description: 'A conversation of the same customer this ticket follows up' })
  @IsOptional()
  conversationId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Staff: the customer the ticket is for (required). Customers: omit (or give their own id).',
  })
  @IsOptional()
  customerId?: string | null;
}

export enum TicketOrder {
  QUEUE = 'QUEUE',
  NEWEST = 'NEWEST',
}
registerEnumType(TicketOrder, {
  name: 'TicketOrder',
  description: 'QUEUE: by priority (urgent first), then the nearest due time; NEWEST: newest first',
});

@InputType()
export class TicketFilter {
  @Field(() => [TicketStatus], { nullable: true })
  @IsOptional()
  status?: TicketStatus[] | null;

  @Field(() => ServicePriority, { nullable: true })
  @IsOptional()
  priority?: ServicePriority | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  category?: string | null;

  @Field(() => ID, { nullable: true, description: 'Admins: any; managers: their own' })
  @IsOptional()
  departmentId?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  assigneeId?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  customerId?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'true: only tickets nobody holds (the department queue)' })
  @IsOptional()
  unassigned?: boolean | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  tag?: string | null;

  @Field(() => TicketOrder, { nullable: true, defaultValue: TicketOrder.QUEUE })
  @IsOptional()
  order?: TicketOrder | null;
}

@ObjectType()
export class TicketConnection extends Connection(Ticket) {}

@ObjectType()
export class TicketStatusCount {
  @Field(() => TicketStatus)
  status!: TicketStatus;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class TicketPriorityCount {
  @Field(() => ServicePriority)
  priority!: ServicePriority;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class TicketCategoryCount {
  @Field()
  category!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'Durations from creation, in seconds of wall-clock time' })
export class DurationStats {
  @Field(() => Int, { description: 'Tickets measured' })
  count!: number;

  @Field(() => Float, { nullable: true })
  averageSeconds!: number | null;

  @Field(() => Float, { nullable: true, description: '90th percentile (continuous)' })
  p90Seconds!: number | null;
}

@ObjectType({
  description: 'Tickets whose due time was kept (MET), missed (BREACHED: done late, or still open past it), or still running (PENDING)',
})
export class SlaAttainment {
  @Field(() => Int)
  met!: number;

  @Field(() => Int)
  breached!: number;

  @Field(() => Int)
  pending!: number;

  @Field(() => Float, { nullable: true, description: 'met ÷ (met + breached); null when neither' })
  rate!: number | null;
}

@ObjectType({ description: 'Tickets created between two business dates (both included)' })
export class TicketStats {
  @Field()
  from!: string;

  @Field()
  to!: string;

  @Field(() => ID, { nullable: true })
  departmentId!: string | null;

  @Field(() => Int)
  total!: number;

  @Field(() => [TicketStatusCount])
  byStatus!: TicketStatusCount[];

  @Field(() => [TicketPriorityCount])
  byPriority!: TicketPriorityCount[];

  @Field(() => [TicketCategoryCount])
  byCategory!: TicketCategoryCount[];

  @Field(() => DurationStats, { description: 'Creation → first response' })
  firstResponseTime!: DurationStats;

  @Field(() => DurationStats, { description: 'Creation → resolution (current resolutions)' })
  resolutionTime!: DurationStats;

  @Field(() => SlaAttainment)
  firstResponseSla!: SlaAttainment;

  @Field(() => SlaAttainment)
  resolutionSla!: SlaAttainment;

  @Field(() => Float, { nullable: true, description: 'Average rating (1–5) of the rated tickets' })
  averageSatisfaction!: number | null;

  @Field(() => Int)
  ratedCount!: number;
}

@ObjectType({ description: 'A category a ticket may have and the department it goes to' })
export class TicketCategory {
  @Field()
  name!: string;

  @Field()
  departmentCode!: string;
}
