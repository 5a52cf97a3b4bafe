import { BeforeCreate, BeforeUpdate, Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import type { AutoAnswerState } from '../conversations/conversation.entity';
import { PRIORITY_RANK, ServicePriority } from '../conversations/queue-policy';
import { PiiType } from '../records/pii-type';
import { Node } from '../../platform/node';
import { RatingTimestampColumns } from '../conversations/rating.policy';

export enum TicketStatus {
  NEW = 'NEW',
  ASSIGNED = 'ASSIGNED',
  IN_PROGRESS = 'IN_PROGRESS',
  RESOLVED = 'RESOLVED',
  CLOSED = 'CLOSED',
  REOPENED = 'REOPENED',
}
registerEnumType(TicketStatus, {
  name: 'TicketStatus',
  description: 'NEW → ASSIGNED → IN_PROGRESS → RESOLVED → CLOSED; RESOLVED → REOPENED within the reopen window',
});

/** The states in which a ticket is still being worked on (its SLA clocks run). */
export const OPEN_STATUSES: readonly TicketStatus[] = [
  TicketStatus.NEW,
  TicketStatus.ASSIGNED,
  TicketStatus.IN_PROGRESS,
  TicketStatus.REOPENED,
];
/** The states that count towards an agent's load. */
export const LOAD_STATUSES: readonly TicketStatus[] = [TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.REOPENED];

export enum SlaStatus {
  PENDING = 'PENDING',
  AT_RISK = 'AT_RISK',
  MET = 'MET',
  BREACHED = 'BREACHED',
}
registerEnumType(SlaStatus, {
  name: 'SlaStatus',
  description: 'PENDING: running; AT_RISK: 80% of the allowed time used; MET: done by the due time; BREACHED: not done by it',
});

@ObjectType({ implements: Node, description: 'A customer’s issue worked on over time, with first-response and resolution SLAs' })
@Entity({ tableName: 'tickets' })
export class Ticket extends RatingTimestampColumns {
  [OptionalProps]?:
    | 'id'
    | 'description'
    | 'departmentId'
    | 'priorityRank'
    | 'tags'
    | 'conversationId'
    | 'status'
    | 'assigneeId'
    | 'assignedAt'
    | 'firstResponseAt'
    | 'nextDueAt'
    | 'firstResponseWarnedAt'
    | 'firstResponseBreachNotifiedAt'
    | 'resolutionWarnedAt'
    | 'resolutionBreachNotifiedAt'
    | 'escalationCount'
    | 'escalatedAt'
    | 'resolvedAt'
    | 'resolution'
    | 'closedAt'
    | 'reopenedAt'
    | 'reopenCount'
    | 'rating'
    | 'ratingComment'
    | 'ratedAt'
    | 'autoAnswerFaqId'
    | 'autoAnswerState'
    | 'createdAt'
    | 'updatedAt'
    | 'firstResponseSla'
    | 'resolutionSla'
    | 'firstResponseSecondsLeft'
    | 'resolutionSecondsLeft'
    | 'isOpen'
    | 'piiTypes'
    | 'sealed';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  customerId!: string;

  @Field(() => ID, { description: 'The customer, or the agent who opened it for them' })
  @Property({ type: 'uuid' })
  createdById!: string;

  @Field()
  @Property({ type: 'text' })
  subject!: string;

  @Field()
  @Property({ type: 'text' })
  description: string = '';

  /**
   * The kinds of personal data in the subject and the description, found on every write (records/pii-tagger.ts); null only for a row
   * written before detection existed, until the records backfill reads it. GraphQL: piiTypes (records/pii.resolver.ts).
   */
  @Property({ type: 'text[]', nullable: true })
  piiTypes: PiiType[] | null = null;

  /**
   * The original text, sealed (AES-256-GCM under its subject's data key, records/text-protector.ts) when it held
   * personal data: the text column then holds the masked text. Only revealText opens it; never loaded by default.
   */
  @Property({ type: 'blob', nullable: true, lazy: true, hidden: true })
  sealed: Buffer | null = null;

  @Field({ description: 'One of the configured categories (TICKET_CATEGORIES), e.g. 技术支持' })
  @Property({ type: 'text' })
  category!: string;

  @Field(() => ID, { nullable: true, description: 'The department the category maps to; null when neither it nor `general` exists' })
  @Property({ type: 'uuid', nullable: true })
  departmentId: string | null = null;

  @Field(() => ServicePriority)
  @Enum({ items: () => ServicePriority, nativeEnumName: 'service_priority' })
  priority!: ServicePriority;

  /** 0 = URGENT … 3 = LOW; kept in step with `priority` (queue order). */
  @Property({ type: 'smallint' })
  priorityRank: number = PRIORITY_RANK[ServicePriority.NORMAL];

  @Field(() => [String])
  @Property({ type: 'text[]' })
  tags: string[] = [];

  @Field(() => ID, { nullable: true, description: 'The chat this ticket came from' })
  @Property({ type: 'uuid', nullable: true })
  conversationId: string | null = null;

  @Field(() => TicketStatus)
  @Enum({ items: () => TicketStatus, nativeEnumName: 'ticket_status' })
  status: TicketStatus = TicketStatus.NEW;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  assigneeId: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  assignedAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'The first public comment of the staff (or the resolution, if that came first)' })
  @Property({ type: 'timestamptz', nullable: true })
  firstResponseAt: Date | null = null;

  @Field()
  @Property({ type: 'timestamptz' })
  firstResponseDueAt!: Date;

  /** When 80% of the first-response time is used. */
  @Property({ type: 'timestamptz' })
  firstResponseWarnAt!: Date;

  /** Where the resolution clock starts: creation, or the last reopening. */
  @Property({ type: 'timestamptz' })
  resolutionStartedAt!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  resolutionDueAt!: Date;

  @Property({ type: 'timestamptz' })
  resolutionWarnAt!: Date;

  /** The nearest due time still running: queue order after priority. Kept in step by the hooks below. */
  @Property({ type: 'timestamptz' })
  nextDueAt!: Date;

  // Guards of the SLA sweep: set in the same transaction as the notification, so each is sent once.
  @Property({ type: 'timestamptz', nullable: true })
  firstResponseWarnedAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  firstResponseBreachNotifiedAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  resolutionWarnedAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  resolutionBreachNotifiedAt: Date | null = null;

  @Field(() => Int)
  @Property({ type: 'integer' })
  escalationCount: number = 0;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  escalatedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  resolvedAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  resolution: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  closedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  reopenedAt: Date | null = null;

  @Field(() => Int)
  @Property({ type: 'integer' })
  reopenCount: number = 0;

  /** The FAQ a new ticket was auto-answered with (exposed as `autoAnswer`). */
  @Property({ type: 'uuid', nullable: true })
  autoAnswerFaqId: string | null = null;

  @Property({ type: 'text', nullable: true })
  autoAnswerState: AutoAnswerState | null = null;

  @Field(() => SlaStatus, { description: 'The first-response SLA now' })
  get firstResponseSla(): SlaStatus {
    return slaStatus(
      this.firstResponseAt ?? (this.isOpen ? null : this.resolvedAt),
      this.firstResponseDueAt,
      this.firstResponseWarnAt,
      new Date(),
    );
  }

  @Field(() => SlaStatus, { description: 'The resolution SLA now' })
  get resolutionSla(): SlaStatus {
    return slaStatus(this.isOpen ? null : this.resolvedAt, this.resolutionDueAt, this.resolutionWarnAt, new Date());
  }

  @Field(() => Int, { nullable: true, description: 'Seconds until the first response is due (negative: overdue); null once answered' })
  get firstResponseSecondsLeft(): number | null {
    return this.firstResponseAt || !this.isOpen ? null : secondsUntil(this.firstResponseDueAt);
  }

  @Field(() => Int, { nullable: true, description: 'Seconds until the resolution is due (negative: overdue); null once resolved' })
  get resolutionSecondsLeft(): number | null {
    return this.isOpen ? secondsUntil(this.resolutionDueAt) : null;
  }

  get isOpen(): boolean {
    return OPEN_STATUSES.includes(this.status);
  }

  @BeforeCreate()
  @BeforeUpdate()
  syncQueueKeys(): void {
    this.priorityRank = PRIORITY_RANK[this.priority];
    this.nextDueAt = nextDue(this);
  }
}

/** Queue order after priority: the first-response due while it runs (and comes first), else the resolution due. */
export function nextDue(t: Pick<Ticket, 'firstResponseAt' | 'firstResponseDueAt' | 'resolutionDueAt'>): Date {
  if (!t.firstResponseAt && t.firstResponseDueAt < t.resolutionDueAt) return t.firstResponseDueAt;
  return t.resolutionDueAt;
}

export function slaStatus(doneAt: Date | null, dueAt: Date, warnAt: Date, now: Date): SlaStatus {
  if (doneAt) return doneAt <= dueAt ? SlaStatus.MET : SlaStatus.BREACHED;
  if (now > dueAt) return SlaStatus.BREACHED;
  return now >= warnAt ? SlaStatus.AT_RISK : SlaStatus.PENDING;
}

/** Whole seconds until `due`, kept within GraphQL's 32-bit Int (about 68 years either way). */
function secondsUntil(due: Date): number {
  const s = Math.round((due.getTime() - Date.now()) / 1000);
  return Math.max(-2_147_483_647, Math.min(2_147_483_647, s));
}
