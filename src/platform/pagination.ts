import type { EntityManager, EntityName, EntityProperty, FilterQuery, QueryOrderMap } from '@mikro-orm/postgresql';
import { ClassType, Field, ObjectType } from 'type-graphql';
import { InvalidInput } from './errors';

export const MAX_PAGE_SIZE = 100;

@ObjectType({ description: 'Relay page info; lists page forwards only (first/after)' })
export class PageInfo {
  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page' })
  endCursor!: string | null;

  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'The cursor of the first edge' })
  startCursor!: string | null;

  @Field({ description: 'Always false: lists page forwards only' })
  hasPreviousPage!: boolean;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

/** A page in both shapes: `nodes` (kept for existing clients) and Relay's `edges`. */
export interface Page<T> {
  nodes: T[];
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/** Builds a page from its items, each with its own cursor (Relay edges), the last one as `endCursor`. */
export function pageOf<T>(nodes: T[], hasNextPage: boolean, cursorOf: (node: T) => string): Page<T> {
  const edges = nodes.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    nodes,
    edges,
    pageInfo: {
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
      hasNextPage,
      hasPreviousPage: false,
    },
  };
}

export function emptyPage<T>(): Page<T> {
  return pageOf<T>([], false, () => '');
}

/** One `XEdge` type per item type, however many connections list it. */
const edgeTypes = new Map<ClassType, ClassType>();

function EdgeOf<T extends object>(Item: ClassType<T>): ClassType<Edge<T>> {
  let EdgeType = edgeTypes.get(Item) as ClassType<Edge<T>> | undefined;
  if (!EdgeType) {
    @ObjectType(`${Item.name}Edge`)
    class ItemEdge implements Edge<T> {
      @Field({ description: 'Pass as `after` to get the items after this one' })
      cursor!: string;

      @Field(() => Item)
      node!: T;
    }
    EdgeType = ItemEdge;
    edgeTypes.set(Item, EdgeType);
  }
  return EdgeType;
}

/**
 * `@ObjectType() class FooConnection extends Connection(Foo) {}` gives Relay's `{ edges { cursor node }, pageInfo }`
 * and the `nodes` list that clients used before edges.
 */
export function Connection<T extends object>(Item: ClassType<T>) {
  const ItemEdge = EdgeOf(Item);
  @ObjectType()
  abstract class ConnectionType implements Page<T> {
    @Field(() => [Item])
    nodes!: T[];

    @Field(() => [ItemEdge])
    edges!: Edge<T>[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}

export function checkPageSize(first: number): void {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new InvalidInput('first', { id: 'error.pageSize', params: { max: MAX_PAGE_SIZE } });
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
  const properties = em.getMetadata(entity).properties as Record<string, EntityProperty>;
  checkCursor(
    opts.after,
    Object.keys(opts.orderBy).map((key) => properties[key]),
  );
  const cursor = await em.findByCursor(entity, where, {
    first: opts.first,
    after: opts.after ?? undefined,
    orderBy: opts.orderBy,
    includeCount: false,
  } as never);
  return pageOf(cursor.items as T[], cursor.hasNextPage, (item) => cursor.from(item));
}

/**
 * MikroORM's cursors are base64url JSON arrays, one value per ordering key. Anything else (made up, from
 * another list, a number where a date belongs, a date PostgreSQL cannot hold) is the caller's mistake:
 * BAD_USER_INPUT here, rather than a failed query or a JavaScript error inside MikroORM.
 */
export function checkCursor(after: string | null | undefined, keys: EntityProperty[]): void {
  if (after === undefined || after === null) return;
  let value: unknown = null;
  try {
    value = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    // not JSON: reported below
  }
  if (!Array.isArray(value) || value.length !== keys.length || !keys.every((key, i) => fitsKey(key, value[i]))) {
    throw new InvalidInput('after', { id: 'error.notCursor' });
  }
}

/** Exactly what MikroORM writes for a date (`toISOString()`), from year 1 to 9999: within PostgreSQL's range. */
const CURSOR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER_RANGE: Record<string, number> = { smallint: 2 ** 15, int: 2 ** 31, integer: 2 ** 31 };

/** Whether `value` is one that MikroORM could have written into a cursor for this ordering key. */
function fitsKey(key: EntityProperty | undefined, value: unknown): boolean {
  if (!key) return false;
  const column = (key.columnTypes?.[0] ?? String(key.type)).toLowerCase();
  switch (key.runtimeType) {
    case 'Date': {
      if (typeof value !== 'string' || !CURSOR_INSTANT.test(value) || value.startsWith('0000')) return false;
      const time = Date.parse(value);
      return Number.isFinite(time) && new Date(time).toISOString() === value;
    }
    case 'number': {
      const limit = INTEGER_RANGE[column] ?? Number.MAX_SAFE_INTEGER;
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= -limit && value < limit;
    }
    case 'string':
      // other text keys are bound as parameters; a NUL would still fail in PostgreSQL
      return typeof value === 'string' && (column === 'uuid' ? UUID.test(value) : !value.includes('\u0000'));
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return false;
  }
}
