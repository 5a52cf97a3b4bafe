import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { User } from '../accounts/user.entity';
import { Presence } from '../presence/presence.types';
import { Schedule } from './schedule.entity';

export enum LiveState {
  ON_DUTY_ONLINE = 'ON_DUTY_ONLINE',
  ONLINE_OFF_SHIFT = 'ONLINE_OFF_SHIFT',
  ABSENT = 'ABSENT',
  OFFLINE = 'OFFLINE',
}
registerEnumType(LiveState, {
  name: 'LiveState',
  valuesConfig: {
    ON_DUTY_ONLINE: { description: 'On a shift now and online' },
    ONLINE_OFF_SHIFT: { description: 'Online but not on a shift now' },
    ABSENT: { description: 'Should be on a shift now but offline' },
    OFFLINE: { description: 'Neither on a shift nor online' },
  },
});

@ObjectType({ simpleResolvers: true })
export class BoardDay {
  @Field({ description: 'Business date YYYY-MM-DD' })
  date!: string;

  @Field(() => [Schedule], { description: 'Schedules starting that day, all statuses' })
  schedules!: Schedule[];
}

@ObjectType({ description: 'One agent: their days and what they are doing now', simpleResolvers: true })
export class BoardRow {
  @Field(() => User)
  agent!: User;

  @Field(() => LiveState)
  liveState!: LiveState;

  @Field(() => Presence)
  presence!: Presence;

  @Field(() => [BoardDay])
  days!: BoardDay[];
}

@ObjectType({ simpleResolvers: true })
export class ScheduleBoard {
  @Field()
  from!: string;

  @Field()
  to!: string;

  @Field({ description: 'The instant live states were computed at' })
  generatedAt!: Date;

  @Field(() => [BoardRow])
  rows!: BoardRow[];
}

/** The rule of the board, in one place (and unit-tested). */
export function liveStateOf(onShiftNow: boolean, online: boolean): LiveState {
  if (onShiftNow) return online ? LiveState.ON_DUTY_ONLINE : LiveState.ABSENT;
  return online ? LiveState.ONLINE_OFF_SHIFT : LiveState.OFFLINE;
}
