import { endsAtOnce } from '../../platform/realtime/ends-at-once';
import {
  Arg,
  Authorized,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { Context } from '../../context';
import { Role, STAFF } from '../../platform/auth/roles';
import { signedIn, withRole } from '../../platform/auth/scope';
import { Conflict, ConflictReason } from '../../platform/errors';
import { Topics } from '../../platform/realtime/topics';
import { startingWith } from '../../platform/realtime/starting-with';
import { Conversation } from '../conversations/conversation.entity';
import { MessageIntent } from '../knowledge/classification.types';
import { isArchived } from './archived-records';
import { ExportJob } from './export-job.entity';
import { ExportProgress, ExportProgressPayload } from './export.service';
import { ConversationHitConnection, ConversationSearchFilter, ExportEstimate, ExportFormat, ExportStatus } from './records.inputs';

@ObjectType({ description: 'What one archive run did' })
export class ArchiveRunResult {
  @Field(() => Int)
  conversations!: number;

  @Field(() => Int)
  messages!: number;

  @Field(() => Int, { description: 'Archived conversations purged after RETAIN_DAYS' })
  purgedConversations!: number;

  @Field(() => Int)
  purgedMessages!: number;
}

const FINISHED = new Set([ExportStatus.READY, ExportStatus.FAILED, ExportStatus.EXPIRED]);

@Resolver()
export class RecordsResolver {
  @Authorized(...STAFF)
  @Query(() => ConversationHitConnection, {
    description:
      'Staff: conversations in scope (agent: own; manager: department; admin: all) matching the filter, newest first; with a keyword, the matching messages highlighted in masked text',
  })
  searchConversations(
    @Ctx() ctx: Context,
    @Arg('filter', () => ConversationSearchFilter, { nullable: true }) filter?: ConversationSearchFilter,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('includeArchived', () => Boolean, { defaultValue: false }) includeArchived = false,
  ) {
    return ctx.services.records.search.search(ctx, filter ?? {}, first, after, includeArchived);
  }

  @Authorized(...STAFF)
  @Query(() => ExportEstimate, { description: 'Staff: how many conversations and messages (rows) an export of this filter would hold now' })
  exportEstimate(
    @Ctx() ctx: Context,
    @Arg('filter', () => ConversationSearchFilter, { nullable: true }) filter?: ConversationSearchFilter,
    @Arg('includeArchived', () => Boolean, { defaultValue: false }) includeArchived = false,
  ) {
    return ctx.services.records.exports.estimate(ctx, filter ?? {}, includeArchived);
  }

  @Authorized(...STAFF)
  @Mutation(() => ExportJob, {
    description:
      'Staff: export the conversations in scope matching the filter, one row per message (masked text), in the background. estimatedRows says how big it will be; follow exportProgress; download from url (GET /exports/:id) until expiresAt.',
  })
  exportConversations(
    @Ctx() ctx: Context,
    @Arg('format', () => ExportFormat) format: ExportFormat,
    @Arg('filter', () => ConversationSearchFilter, { nullable: true }) filter?: ConversationSearchFilter,
    @Arg('includeArchived', () => Boolean, { defaultValue: false }) includeArchived = false,
  ) {
    return ctx.services.records.exports.request(ctx, filter ?? {}, format, includeArchived);
  }

  @Authorized(...STAFF)
  @Query(() => ExportJob, { description: 'One of the viewer’s own exports' })
  exportJob(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.records.exports.get(ctx, id);
  }

  @Authorized(...STAFF)
  @Subscription(() => ExportProgress, {
    description: 'The requester’s export: its progress now, then as rows are written, ending once READY, FAILED or EXPIRED',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const exports = ctx.services.records.exports;
      const job = await exports.get({ ...ctx, em: ctx.services.orm.em.fork() }, (args as { jobId: string }).jobId);
      const stream = startingWith<ExportProgressPayload>(
        async () => exports.progressOf(await exports.get({ ...ctx, em: ctx.services.orm.em.fork() }, job.id)),
        ctx.services.pubsub,
        Topics.EXPORT_PROGRESS,
        job.id,
      );
      return untilFinished(stream);
    },
  })
  exportProgress(@Root() p: ExportProgressPayload, @Arg('jobId', () => ID) _jobId: string): ExportProgress {
    return p;
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ArchiveRunResult, {
    description:
      'Admins: archive now (as the periodic run does: ended conversations older than ARCHIVE_AFTER_DAYS; purge after RETAIN_DAYS). CONFLICT when a run is already going.',
  })
  async runArchive(@Ctx() ctx: Context): Promise<ArchiveRunResult> {
    withRole(ctx.viewer, Role.ADMIN);
    const outcome = await ctx.services.records.archive.run({ viewer: signedIn(ctx.viewer), traceId: ctx.traceId });
    if (outcome.status === 'ALREADY_RUNNING')
      throw new Conflict(ConflictReason.ARCHIVE_RUNNING, 'An archive run is already running; try again when it has finished');
    return outcome;
  }
}

function untilFinished(stream: AsyncGenerator<ExportProgressPayload>): AsyncGenerator<ExportProgressPayload> {
  return endsAtOnce((source) => untilFinishedEvent(source(stream)));
}

async function* untilFinishedEvent(stream: AsyncGenerator<ExportProgressPayload>): AsyncGenerator<ExportProgressPayload> {
  try {
    for await (const p of stream) {
      yield p;
      if (FINISHED.has(p.status)) return;
    }
  } finally {
    await stream.return(undefined);
  }
}

@Resolver(() => Conversation)
export class ConversationRecordsResolver {
  @FieldResolver(() => Boolean, { description: 'Moved to the archive (ARCHIVE_AFTER_DAYS after it ended): read-only' })
  archived(@Root() c: Conversation): boolean {
    return isArchived(c);
  }

  @FieldResolver(() => MessageIntent, { nullable: true, description: 'The classifier’s intent of the first message' })
  intent(@Root() c: Conversation): MessageIntent | null {
    return (c.intent as MessageIntent | null) ?? null;
  }
}

export const RECORDS_RESOLVERS = [RecordsResolver, ConversationRecordsResolver] as const;
