import DataLoader from 'dataloader';
import type { EntityClass, EntityManager } from '@mikro-orm/postgresql';
import type { ClassType } from 'type-graphql';
import type { Role } from '../../platform/auth/roles';
import { pgArray } from '../../platform/db/arrays';
import { DomainError, ErrorCode, InvalidInput } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import { MAX_PAGE_SIZE } from '../../platform/pagination';
import type { RequestScope } from '../../platform/request-scope';

/**
 * One refetchable type: the tables its ids live in and how to load one in the caller's scope. `load` goes
 * through the same service call as the type's own query (or, for types listed only, the list's rule), so
 * node(id) never shows more than that query would; it throws NotFound/Forbidden when the caller may not see it.
 */
export interface NodeType<C extends RequestScope> {
  type: ClassType;
  tables: string[];
  /** The roles that may call the type's own query; others get null without a lookup. */
  roles: readonly Role[];
  /** The object, or null (or NotFound/Forbidden) when the caller may not see it; `rows` batches plain row lookups. */
  load(ctx: C, id: string, rows: RowBatch): Promise<object | null>;
}

/**
 * Rows by id for one nodes() call: every id of one entity class asked for in the same tick is fetched in one
 * query (30 alerts in nodes(ids) cost one SELECT, not 30). Missing rows are null.
 */
export class RowBatch {
  private readonly byEntity = new Map<EntityClass<object>, DataLoader<string, object | null>>();

  constructor(private readonly em: EntityManager) {}

  get<T extends { id: string }>(entity: EntityClass<T>, id: string): Promise<T | null> {
    let loader = this.byEntity.get(entity);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const found = await this.em.find(entity, { id: { $in: [...ids] } } as never);
        const byId = new Map(found.map((row) => [row.id, row]));
        return ids.map((id) => byId.get(id) ?? null);
      });
      this.byEntity.set(entity, loader);
    }
    return loader.load(id) as Promise<T | null>;
  }
}

/**
 * Relay's refetch: `node(id)` / `nodes(ids)` load any object in the caller's scope. An object the caller
 * may not see (another department's, another customer's) is null, exactly as an id that names nothing.
 */
export class NodeService<C extends RequestScope> {
  private readonly byName: Map<string, NodeType<C>>;
  /**
   * Which type each id belongs to, in one statement: a UNION ALL of primary-key lookups over every table of
   * every refetchable type (ids are UUIDs, unique across tables in practice; the first table that has it wins).
   */
  private readonly typeLookup: string;
  private readonly tableCount: number;

  constructor(types: readonly NodeType<C>[]) {
    this.byName = new Map(types.map((t) => [t.type.name, t]));
    const lookups = types.flatMap((t) =>
      t.tables.map((table) => `SELECT '${t.type.name}' AS type, id FROM ${table} WHERE id = ANY(?::uuid[])`),
    );
    this.typeLookup = lookups.join('\nUNION ALL\n');
    this.tableCount = lookups.length;
  }

  async nodes(ctx: C, ids: string[]): Promise<Array<object | null>> {
    if (ids.length > MAX_PAGE_SIZE) throw new InvalidInput('ids', { id: 'error.tooManyIds', params: { max: MAX_PAGE_SIZE } });
    const bad = ids.findIndex((id) => !isUuid(id));
    if (bad >= 0) throw new InvalidInput(`ids.${bad}`, { id: 'error.notAnId' });
    const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
    const typeOf = new Map<string, NodeType<C>>();
    if (unique.length) {
      const rows = await ctx.em.execute<Array<{ type: string; id: string }>>(
        this.typeLookup,
        Array<string>(this.tableCount).fill(pgArray(unique)),
      );
      for (const row of rows) if (!typeOf.has(row.id)) typeOf.set(row.id, this.byName.get(row.type)!);
    }
    const loaded = new Map<string, Promise<object | null>>();
    const rows = new RowBatch(ctx.em);
    for (const id of unique) loaded.set(id, this.loadInScope(ctx, typeOf.get(id), id, rows));
    return Promise.all(ids.map((id) => loaded.get(id.toLowerCase())!));
  }

  async node(ctx: C, id: string): Promise<object | null> {
    if (!isUuid(id)) throw new InvalidInput('id', { id: 'error.notAnId' });
    return (await this.nodes(ctx, [id]))[0];
  }

  /** Loads through the type's own scoped rule: what it refuses or cannot find is null. */
  private async loadInScope(ctx: C, type: NodeType<C> | undefined, id: string, rows: RowBatch): Promise<object | null> {
    if (!type || !ctx.viewer || !type.roles.includes(ctx.viewer.role)) return null;
    try {
      const value = await type.load(ctx, id, rows);
      if (value === null) return null;
      // Node's type is told by the object's class: some services return plain objects (ScheduleProposal).
      return value instanceof type.type ? value : Object.assign(new type.type(), value);
    } catch (err) {
      if (err instanceof DomainError && (err.extensions.code === ErrorCode.NOT_FOUND || err.extensions.code === ErrorCode.FORBIDDEN))
        return null;
      throw err;
    }
  }
}
