import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'How the desk is doing right now (one department, or all when departmentId is null)', simpleResolvers: true })
export class LiveDashboard {
  @Field(() => ID, { nullable: true })
  departmentId!: string | null;

  @Field()
  computedAt!: Date;

  @Field(() => Int, { description: 'Customer WebSocket connections, whole cluster (customers belong to no department)' })
  connectedCustomers!: number;

  @Field(() => Int, { description: 'Agents of the department with an open connection or a recent heartbeat, whole cluster' })
  connectedAgents!: number;

  @Field(() => Int, { description: 'Agents on a shift now and not on leave' })
  agentsOnShift!: number;

  @Field(() => Int, { description: 'Agents on shift who are online' })
  agentsOnline!: number;

  @Field(() => Int, { description: 'Agents on shift, online and AVAILABLE' })
  agentsAvailable!: number;

  @Field(() => Int, { description: 'Agents on shift, online and BUSY or AWAY' })
  agentsBusy!: number;

  @Field(() => Int)
  queueLength!: number;

  @Field(() => Float, { nullable: true, description: 'Seconds the longest-waiting customer has waited' })
  longestWaitSeconds!: number | null;

  @Field(() => Float, { description: 'Messages per minute over the last 5 minutes' })
  messagesPerMinute!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Average first response (request → first staff message) of first responses in the last 15 minutes, seconds',
  })
  avgFirstResponseSeconds!: number | null;

  @Field(() => Float, { nullable: true })
  p90FirstResponseSeconds!: number | null;

  @Field(() => Int, { description: 'Open (ACTIVE) chats' })
  openChats!: number;

  @Field(() => Int, { description: 'Seats (max concurrent chats) of the available agents on shift' })
  availableSeats!: number;

  @Field(() => Float, { nullable: true, description: 'openChats ÷ availableSeats; null when no seat is available' })
  utilisation!: number | null;

  @Field(() => Float, { nullable: true, description: 'Average chat rating (1–5) over the last 24 hours' })
  satisfaction!: number | null;

  @Field(() => Int)
  ratings24h!: number;

  @Field(() => Int, { description: 'Open tickets past an SLA warning time, not yet due' })
  ticketsAtRisk!: number;

  @Field(() => Int, { description: 'Open tickets past an SLA due time' })
  ticketsBreached!: number;

  @Field(() => Int, { description: 'Ticket SLA breaches noticed in the last hour' })
  slaBreachesLastHour!: number;

  @Field(() => Float, { nullable: true, description: 'Longest time an agent on shift has been offline, seconds (0: nobody)' })
  longestOnShiftOfflineSeconds!: number | null;
}

@ObjectType({ simpleResolvers: true })
export class HourlyVolume {
  @Field({ description: 'Start of the hour' })
  hour!: Date;

  @Field(() => Int)
  conversations!: number;

  @Field(() => Int)
  tickets!: number;
}

@ObjectType({ simpleResolvers: true })
export class SatisfactionPoint {
  @Field({ description: 'Start of the bucket (an hour for today, a business day for the week)' })
  at!: Date;

  @Field(() => Float, { nullable: true })
  average!: number | null;

  @Field(() => Int)
  ratings!: number;
}

@ObjectType({ simpleResolvers: true })
export class AgentPerformance {
  @Field(() => ID)
  agentId!: string;

  @Field()
  displayName!: string;

  @Field(() => Int, { description: 'Conversations ended in the period that the agent held' })
  handled!: number;

  @Field(() => Float, { nullable: true })
  avgFirstResponseSeconds!: number | null;

  @Field(() => Float, { nullable: true, description: 'Average assigned → ended, seconds' })
  avgHandleSeconds!: number | null;

  @Field(() => Float, { nullable: true })
  satisfaction!: number | null;

  @Field(() => Int)
  ticketsResolved!: number;
}

@ObjectType({ description: 'A period: today (business day so far) or the last 7 business days', simpleResolvers: true })
export class DashboardPeriod {
  @Field()
  from!: Date;

  @Field()
  to!: Date;

  @Field(() => Int)
  conversations!: number;

  @Field(() => Int, { description: 'Conversations ended that an agent held' })
  conversationsHandled!: number;

  @Field(() => Int, { description: 'Conversations ended while still queued (the customer gave up)' })
  conversationsAbandoned!: number;

  @Field(() => Int)
  ticketsCreated!: number;

  @Field(() => Int)
  ticketsResolved!: number;

  @Field(() => Float, { nullable: true, description: 'Handled ÷ ended conversations' })
  resolutionRate!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Tickets whose SLA clocks fell due or were met in the period: share met (first response and resolution together)',
  })
  slaAttainment!: number | null;

  @Field(() => Float, { nullable: true })
  avgFirstResponseSeconds!: number | null;

  @Field(() => Float, { nullable: true })
  satisfaction!: number | null;

  @Field(() => [HourlyVolume], { description: 'Every hour of the period, oldest first' })
  hourly!: HourlyVolume[];

  @Field(() => [Date], { description: 'The busiest hours (up to 3), busiest first' })
  peakHours!: Date[];

  @Field(() => [SatisfactionPoint])
  satisfactionTrend!: SatisfactionPoint[];

  @Field(() => [AgentPerformance])
  agents!: AgentPerformance[];
}

@ObjectType({ simpleResolvers: true })
export class ServiceDashboard {
  @Field(() => ID, { nullable: true })
  departmentId!: string | null;

  @Field(() => LiveDashboard)
  live!: LiveDashboard;

  @Field(() => DashboardPeriod)
  today!: DashboardPeriod;

  @Field(() => DashboardPeriod)
  week!: DashboardPeriod;
}
