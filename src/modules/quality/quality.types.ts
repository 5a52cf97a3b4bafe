import { ArrayMaxSize, IsInt, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../platform/pagination';
import { Sentiment } from '../knowledge/classification.types';
import { QualityReview, QualityReviewStatus, QualityViolation } from './quality.entities';

export enum QualityAlertKind {
  RULE_VIOLATION = 'RULE_VIOLATION',
  NEGATIVE_SENTIMENT = 'NEGATIVE_SENTIMENT',
}
registerEnumType(QualityAlertKind, {
  name: 'QualityAlertKind',
  description: 'An agent message broke a rule, or a customer turned strongly negative',
});

@ObjectType({ description: 'Pushed to the supervisors of the department the moment inspection finds something', simpleResolvers: true })
export class QualityAlert {
  @Field(() => QualityAlertKind)
  kind!: QualityAlertKind;

  @Field(() => ID)
  conversationId!: string;

  @Field(() => ID)
  messageId!: string;

  @Field(() => ID, { nullable: true })
  agentId!: string | null;

  @Field(() => ID, { nullable: true })
  departmentId!: string | null;

  @Field(() => String, { nullable: true, description: 'RULE_VIOLATION: the rule code' })
  rule!: string | null;

  @Field(() => String, { nullable: true, description: 'RULE_VIOLATION: the rule label; NEGATIVE_SENTIMENT: null' })
  ruleLabel!: string | null;

  @Field(() => String, { nullable: true, description: 'RULE_VIOLATION: the words that matched' })
  matched!: string | null;

  @Field(() => Float, { nullable: true, description: 'NEGATIVE_SENTIMENT: how strong (0–1)' })
  intensity!: number | null;

  @Field()
  at!: Date;
}

/** The JSON that travels over pub/sub. */
export type QualityAlertPayload = Omit<QualityAlert, 'at'> & { at: string };

@ObjectType()
export class QualityViolationConnection extends Connection(QualityViolation) {}

@ObjectType()
export class QualityReviewConnection extends Connection(QualityReview) {}

@ObjectType({ simpleResolvers: true })
export class SentimentPoint {
  @Field(() => ID)
  messageId!: string;

  @Field(() => Int)
  seq!: number;

  @Field()
  at!: Date;

  @Field(() => Sentiment)
  sentiment!: Sentiment;

  @Field(() => Float)
  intensity!: number;

  @Field()
  stronglyNegative!: boolean;
}

@ObjectType({
  description: 'The customer’s sentiment message by message (the classifier), and whether it turned strongly negative',
  simpleResolvers: true,
})
export class ConversationSentiment {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => [SentimentPoint])
  points!: SentimentPoint[];

  @Field({ description: 'A customer message was strongly negative (flagged to supervisors when it was sent)' })
  flagged!: boolean;

  @Field(() => Date, { nullable: true })
  flaggedAt!: Date | null;
}

@ObjectType({ simpleResolvers: true })
export class QualityChecklistItem {
  @Field()
  key!: string;

  @Field()
  label!: string;

  @Field(() => Int)
  maxScore!: number;
}

@ObjectType({ simpleResolvers: true })
export class QualityRuleInfo {
  @Field()
  code!: string;

  @Field()
  label!: string;
}

@InputType()
export class ChecklistScoreInput {
  @Field({ description: 'A checklist item key (qualityChecklist)' })
  @IsString()
  @MaxLength(40)
  item!: string;

  @Field(() => Int)
  @IsInt()
  @Min(0)
  score!: number;
}

@InputType()
export class ReviewConversationInput {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => [ChecklistScoreInput], { description: 'One score per checklist item, each from 0 to the item’s maxScore' })
  @ArrayMaxSize(100)
  scores!: ChecklistScoreInput[];

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2000)
  comment?: string | null;
}

@InputType()
export class QualityReviewFilter {
  @Field(() => ID, { nullable: true })
  departmentId?: string | null;

  @Field(() => ID, { nullable: true })
  agentId?: string | null;

  @Field(() => QualityReviewStatus, { nullable: true })
  status?: QualityReviewStatus | null;
}

@InputType()
export class QualityViolationFilter {
  @Field(() => ID, { nullable: true })
  departmentId?: string | null;

  @Field(() => ID, { nullable: true })
  agentId?: string | null;

  @Field(() => ID, { nullable: true })
  conversationId?: string | null;
}

@ObjectType({ simpleResolvers: true })
export class RuleCount {
  @Field()
  rule!: string;

  @Field()
  label!: string;

  @Field(() => Float, { description: 'Per agent: the count; department: the mean per agent' })
  count!: number;
}

@ObjectType({ simpleResolvers: true })
export class ItemScore {
  @Field()
  item!: string;

  @Field()
  label!: string;

  @Field(() => Float, { description: 'Average score of the item over the reviews' })
  average!: number;

  @Field(() => Int)
  maxScore!: number;
}

@ObjectType({ description: 'Quality figures of one agent, or the department’s averages', simpleResolvers: true })
export class QualityFigures {
  @Field(() => Float, { description: 'Conversations the agent handled that ended in the period (department: mean per agent)' })
  conversations!: number;

  @Field(() => Float, { nullable: true, description: 'Mean seconds from assignment to the agent’s first message' })
  firstResponseSeconds!: number | null;

  @Field(() => Float, { nullable: true, description: 'Mean seconds from assignment to the end' })
  handleSeconds!: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      'Share (0–1) of ended conversations closed by the customer or the agent (not idle, not abandoned, not moved by a supervisor)',
  })
  resolutionRate!: number | null;

  @Field(() => Float, { nullable: true, description: 'Mean customer rating (1–5)' })
  satisfaction!: number | null;

  @Field(() => Float, { description: 'Ratings given (department: mean per agent)' })
  ratings!: number;

  @Field(() => Float, { description: 'Rule violations (department: mean per agent)' })
  violations!: number;

  @Field(() => [RuleCount])
  violationsByRule!: RuleCount[];

  @Field(() => Float, { description: 'Reviews done in the period (department: mean per agent)' })
  reviews!: number;

  @Field(() => Float, { nullable: true, description: 'Mean review score as a percentage of the checklist maximum' })
  reviewScorePercent!: number | null;

  @Field(() => [ItemScore])
  reviewScoresByItem!: ItemScore[];
}

@ObjectType({ simpleResolvers: true })
export class AgentQualityRow extends QualityFigures {
  @Field(() => ID)
  agentId!: string;
}

@ObjectType({ description: 'Per agent quality figures over a period, with the department’s averages beside them', simpleResolvers: true })
export class QualityReport {
  @Field()
  from!: string;

  @Field()
  to!: string;

  @Field(() => ID, { nullable: true })
  departmentId!: string | null;

  @Field(() => [AgentQualityRow])
  agents!: AgentQualityRow[];

  @Field(() => QualityFigures, { description: 'Averages over every agent of the department (whatever agentId asked for)' })
  departmentAverage!: QualityFigures;
}

export enum PresenceStateValue {
  AVAILABLE = 'AVAILABLE',
  BUSY = 'BUSY',
  AWAY = 'AWAY',
  OFFLINE = 'OFFLINE',
}
registerEnumType(PresenceStateValue, {
  name: 'PresenceState',
  description: 'A presence interval: OFFLINE, or online with the status the agent set (AWAY: online, taking no chats)',
});

@ObjectType({ simpleResolvers: true })
export class PresenceSegment {
  @Field(() => PresenceStateValue)
  state!: PresenceStateValue;

  @Field()
  startsAt!: Date;

  @Field()
  endsAt!: Date;
}

@ObjectType({ description: 'One scheduled shift and how the agent kept it', simpleResolvers: true })
export class ShiftAdherence {
  @Field(() => ID)
  scheduleId!: string;

  @Field()
  startsAt!: Date;

  @Field()
  endsAt!: Date;

  @Field(() => Int, { description: 'Seconds online during the shift' })
  onlineSeconds!: number;

  @Field(() => Date, { nullable: true })
  firstOnlineAt!: Date | null;

  @Field(() => Date, { nullable: true })
  lastOnlineAt!: Date | null;

  @Field({ description: 'Not online at the start (plus ADHERENCE_GRACE_MINUTES) but online later in the shift' })
  lateStart!: boolean;

  @Field({ description: 'Online in the shift, but not in its last ADHERENCE_GRACE_MINUTES' })
  earlyLeave!: boolean;

  @Field({ description: 'Not online at all during a shift that has started' })
  absent!: boolean;
}

@ObjectType({ simpleResolvers: true })
export class AdherenceDay {
  @Field({ description: 'Business date' })
  date!: string;

  @Field(() => Int)
  scheduledSeconds!: number;

  @Field(() => Int)
  onlineInScheduleSeconds!: number;

  @Field(() => Int)
  onlineOutsideScheduleSeconds!: number;

  @Field(() => [ShiftAdherence], { description: 'Shifts of this business date' })
  shifts!: ShiftAdherence[];

  @Field(() => [PresenceSegment], { description: 'The presence history within the day (business time zone), up to now' })
  timeline!: PresenceSegment[];
}

@ObjectType({ simpleResolvers: true })
export class AgentAdherence {
  @Field(() => ID)
  agentId!: string;

  @Field(() => Int, { description: 'Seconds of NORMAL schedules (not on leave, not swapped out) in the period' })
  scheduledSeconds!: number;

  @Field(() => Int)
  onlineInScheduleSeconds!: number;

  @Field(() => Int, { description: 'Online in the period but outside every schedule' })
  onlineOutsideScheduleSeconds!: number;

  @Field(() => Float, { nullable: true, description: 'onlineInScheduleSeconds / the scheduled seconds elapsed so far; null with none' })
  adherence!: number | null;

  @Field(() => Int)
  lateStarts!: number;

  @Field(() => Int)
  earlyLeaves!: number;

  @Field(() => Int)
  absences!: number;

  @Field(() => [AdherenceDay])
  days!: AdherenceDay[];
}
