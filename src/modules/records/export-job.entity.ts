import { BigIntType, Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/postgresql';
import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { ExportFormat, ExportStatus } from './records.inputs';
import { Node } from '../../platform/node';
import { CreatedAtColumns } from '../../platform/db/shared-columns';

/** The filter an export runs with, as stored: scope already applied, dates as ISO strings. */
export interface StoredFilter {
  customerId?: string | null;
  agentId?: string | null;
  departmentId?: string | null;
  from?: string | null;
  to?: string | null;
  status?: string | null;
  rating?: number | null;
  priority?: string | null;
  intent?: string | null;
  keyword?: string | null;
  hasPii?: boolean | null;
  includeArchived: boolean;
}

@ObjectType({
  implements: Node,
  description: 'An export of conversations to a file, made in the background; downloaded from `url` by its requester once READY',
})
@Entity({ tableName: 'export_jobs' })
export class ExportJob extends CreatedAtColumns {
  [OptionalProps]?: 'id' | 'status' | 'rowsDone' | 'fileSize' | 'error' | 'createdAt' | 'startedAt' | 'finishedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  requesterId!: string;

  @Field(() => ExportFormat)
  @Enum({ items: () => ExportFormat, nativeEnumName: 'export_format' })
  format!: ExportFormat;

  @Property({ type: 'json' })
  filter!: StoredFilter;

  @Field(() => ExportStatus)
  @Enum({ items: () => ExportStatus, nativeEnumName: 'export_status' })
  status: ExportStatus = ExportStatus.QUEUED;

  @Field(() => Int, { description: 'Rows (messages) the filter matched when the export was asked for' })
  @Property({ type: 'integer' })
  estimatedRows!: number;

  @Field(() => Int, { description: 'Rows written so far' })
  @Property({ type: 'integer' })
  rowsDone: number = 0;

  @Field(() => Float, { nullable: true, description: 'Bytes, once READY' })
  @Property({ type: new BigIntType('number'), nullable: true })
  fileSize: number | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  startedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  @Field({ description: 'The file is deleted then (EXPORT_TTL_HOURS after the request)' })
  @Property({ type: 'timestamptz' })
  expiresAt!: Date;

  @Field(() => String, { nullable: true, description: 'GET it with the requester’s bearer token, once READY' })
  get url(): string | null {
    return this.status === ExportStatus.READY ? `/exports/${this.id}` : null;
  }
}
