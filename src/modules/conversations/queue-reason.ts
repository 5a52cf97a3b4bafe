import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DEFAULT_HANDLING_SECONDS } from './queue-policy';

/** Why a request waits instead of going to an agent at once. */
export enum QueueReason {
  ALL_AGENTS_BUSY = 'ALL_AGENTS_BUSY',
  NO_AGENT_ON_SHIFT = 'NO_AGENT_ON_SHIFT',
  NO_AGENT_ONLINE = 'NO_AGENT_ONLINE',
  NO_AGENT_WITH_SKILL = 'NO_AGENT_WITH_SKILL',
}
registerEnumType(QueueReason, {
  name: 'QueueReason',
  valuesConfig: {
    ALL_AGENTS_BUSY: { description: 'Agents who could serve it are online and on duty, but all are at capacity or not AVAILABLE' },
    NO_AGENT_ON_SHIFT: { description: 'Agents who could serve it exist, but none is on a shift now (or all are on leave)' },
    NO_AGENT_ONLINE: { description: 'Agents who could serve it are on duty, but none is online' },
    NO_AGENT_WITH_SKILL: { description: 'No active agent of the department, or with the skill, it was routed to' },
  },
});

/** How many of a department's recent chats (ended in the past day) the average handling time is taken over. */
export const RECENT_CHATS_AVERAGED = 50;

/** Where the average handling time of an estimate comes from. */
export enum HandlingTimeSource {
  RECENT_CHATS = 'RECENT_CHATS',
  DEFAULT = 'DEFAULT',
}
registerEnumType(HandlingTimeSource, {
  name: 'HandlingTimeSource',
  valuesConfig: {
    RECENT_CHATS: {
      description: `The average of the department’s recent chats (the last ${RECENT_CHATS_AVERAGED} that ended in the past day)`,
    },
    DEFAULT: { description: `No recent chats: the default of ${DEFAULT_HANDLING_SECONDS} s` },
  },
});

@ObjectType({ description: 'What estimatedWaitSeconds was computed from: position × averageHandlingSeconds ÷ eligibleCapacity' })
export class WaitEstimateBasis {
  @Field(() => Int)
  position!: number;

  @Field(() => Int)
  averageHandlingSeconds!: number;

  @Field(() => HandlingTimeSource)
  handlingTimeSource!: HandlingTimeSource;

  @Field(() => Int, { description: 'How many recent chats the average is of (0 for DEFAULT)' })
  recentChats!: number;

  @Field(() => Int, { description: 'Sum of maxConcurrentChats of the eligible agents available now; 0: no estimate' })
  eligibleCapacity!: number;
}

/** The agents who could serve a request, counted at each step of eligibility. */
export interface EligibilityFunnel {
  /** Active agents of the department / with the skill. */
  matching: number;
  /** …of them on duty now (shift, no leave). */
  onDuty: number;
  /** …of them online. */
  online: number;
}

/** The first step of the funnel that nobody passes; past all of them, everyone is busy. */
export function queueReasonOf(f: EligibilityFunnel): QueueReason {
  if (f.matching === 0) return QueueReason.NO_AGENT_WITH_SKILL;
  if (f.onDuty === 0) return QueueReason.NO_AGENT_ON_SHIFT;
  if (f.online === 0) return QueueReason.NO_AGENT_ONLINE;
  return QueueReason.ALL_AGENTS_BUSY;
}
