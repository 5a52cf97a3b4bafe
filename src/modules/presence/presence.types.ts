import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum PresenceStatusValue {
  AVAILABLE = 'AVAILABLE',
  BUSY = 'BUSY',
  AWAY = 'AWAY',
}
registerEnumType(PresenceStatusValue, {
  name: 'PresenceStatus',
  description: 'What an online agent says of themselves; only AVAILABLE agents get new customers',
});

export enum PresenceChange {
  CONNECTED = 'CONNECTED',
  DISCONNECTED = 'DISCONNECTED',
  HEARTBEAT = 'HEARTBEAT',
  STATUS_CHANGED = 'STATUS_CHANGED',
  EXPIRED = 'EXPIRED',
}
registerEnumType(PresenceChange, { name: 'PresenceChange' });

@ObjectType({ description: 'Whether an agent is reachable right now', simpleResolvers: true })
export class Presence {
  @Field(() => ID)
  agentId!: string;

  @Field({ description: 'An open WebSocket, or a heartbeat within the last 90 s' })
  online!: boolean;

  @Field(() => PresenceStatusValue)
  status!: PresenceStatusValue;

  @Field(() => Date, { nullable: true })
  lastSeenAt!: Date | null;
}

@ObjectType({ simpleResolvers: true })
export class PresenceEvent {
  @Field(() => ID)
  agentId!: string;

  @Field(() => ID, { nullable: true })
  departmentId!: string | null;

  @Field()
  online!: boolean;

  @Field(() => PresenceStatusValue)
  status!: PresenceStatusValue;

  @Field(() => PresenceChange)
  change!: PresenceChange;

  @Field()
  at!: Date;
}

/** The JSON that travels over pub/sub. */
export interface PresenceEventPayload {
  agentId: string;
  departmentId: string | null;
  online: boolean;
  status: PresenceStatusValue;
  change: PresenceChange;
  at: string;
}
