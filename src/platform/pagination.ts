import type { EntityManager, EntityName, FilterQuery, QueryOrderMap } from '@mikro-orm/postgresql';
import { ClassType, Field, ObjectType } from 'type-graphql';
import { InvalidInput } from './errors';

export const MAX_PAGE_SIZE = 100;

@ObjectType()
export class PageInfo {
  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page' })
  endCursor!: string | null;

  @Field()
  hasNextPage!: boolean;
}

export interface Page<T> {
  nodes: T[];
  pageInfo: PageInfo;
}

/** `@ObjectType() class FooConnection extends Connection(Foo) {}` gives `{ nodes, pageInfo }`. */
export function Connection<T extends object>(Item: ClassType<T>) {
  @ObjectType()
  abstract class ConnectionType implements Page<T> {
    @Field(() => [Item])
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}

export function checkPageSize(first: number): void {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new InvalidInput('first', `must be between 1 and ${MAX_PAGE_SIZE}`);
  }
}

/** Keyset pagination (MikroORM's cursor API) over a stable order that ends in a unique column. */
export async function paginate<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  opts: { first: number; after?: string | null; orderBy: QueryOrderMap<T> },
): Promise<Page<T>> {
  checkPageSize(opts.first);
  checkCursor(opts.after, Object.keys(opts.orderBy).length);
  const cursor = await em.findByCursor(entity, where, {
    first: opts.first,
    after: opts.after ?? undefined,
    orderBy: opts.orderBy,
    includeCount: false,
  } as never);
  return { nodes: cursor.items as T[], pageInfo: { endCursor: cursor.endCursor, hasNextPage: cursor.hasNextPage } };
}

/**
 * MikroORM's cursors are base64url JSON arrays, one value per ordering key. Anything else (made up,
 * or from another list) is the caller's mistake: BAD_USER_INPUT rather than a failed query.
 */
export function checkCursor(after: string | null | undefined, keys: number): void {
  if (after === undefined || after === null) return;
  let value: unknown = null;
  try {
    value = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    // not JSON: reported below
  }
  const plain = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
  if (!Array.isArray(value) || value.length !== keys || !value.every(plain)) throw new InvalidInput('after', 'is not a cursor of this list');
}

