import type { EntityManager } from '@mikro-orm/postgresql';
import { RowBatch } from '../../src/modules/node/node.service';

class Alert {
  id!: string;
}
class Webhook {
  id!: string;
}

/** An EntityManager that answers find(entity, { id: { $in } }) from a table and counts the queries. */
function fakeEm(rows: Record<string, string[]>) {
  const queries: Array<{ entity: string; ids: string[] }> = [];
  const em = {
    find: async (entity: { name: string }, where: { id: { $in: string[] } }) => {
      queries.push({ entity: entity.name, ids: where.id.$in });
      return where.id.$in.filter((id) => rows[entity.name]?.includes(id)).map((id) => ({ id }));
    },
  };
  return { em: em as unknown as EntityManager, queries };
}

it('fetches every id of one entity asked for in the same tick with one query, and null for a missing one', async () => {
  const { em, queries } = fakeEm({ Alert: ['a1', 'a2'], Webhook: ['w1'] });
  const rows = new RowBatch(em);
  const found = await Promise.all([rows.get(Alert, 'a1'), rows.get(Alert, 'a2'), rows.get(Alert, 'nope'), rows.get(Webhook, 'w1')]);
  expect(found).toEqual([{ id: 'a1' }, { id: 'a2' }, null, { id: 'w1' }]);
  expect(queries).toEqual([
    { entity: 'Alert', ids: ['a1', 'a2', 'nope'] },
    { entity: 'Webhook', ids: ['w1'] },
  ]);
  // asked again: remembered for the rest of the call, no new query
  expect(await rows.get(Alert, 'a1')).toEqual({ id: 'a1' });
  expect(queries).toHaveLength(2);
});
