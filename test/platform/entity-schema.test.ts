import { MikroORM } from '@mikro-orm/postgresql';
import { ormOptions } from '../../src/platform/db/orm';
import { createLogger } from '../../src/platform/logger';

/**
 * What the entities map to, table by table: every property's columns, types, nullability, default and whether it
 * changes on update, sorted so that only a real change shows. The migrations are written by hand and the entities
 * mirror them; reshaping an entity (shared columns in a base class) must leave this exactly as it was.
 */
async function entityColumns(): Promise<Record<string, string[]>> {
  const orm = await MikroORM.init({
    ...ormOptions({ url: 'postgresql://nobody@127.0.0.1:1/none', poolMax: 1, logger: createLogger('silent') }),
    connect: false,
  });
  try {
    const tables: Record<string, string[]> = {};
    for (const meta of Object.values(orm.getMetadata().getAll())) {
      if (meta.embeddable || meta.abstract || !meta.tableName) continue;
      tables[meta.tableName] = meta.props
        .filter((p) => p.fieldNames?.length && p.persist !== false)
        .map((p) =>
          [
            `${p.name} → ${p.fieldNames.join(', ')}: ${p.columnTypes?.join(', ')}`,
            p.nullable ? 'null' : 'not null',
            p.primary ? 'primary' : '',
            p.default !== undefined ? `default ${String(p.default)}` : '',
            p.onUpdate ? 'on update' : '',
            p.lazy ? 'lazy' : '',
            p.hidden ? 'hidden' : '',
          ]
            .filter(Boolean)
            .join(' '),
        )
        .sort();
    }
    return Object.fromEntries(Object.entries(tables).sort(([a], [b]) => a.localeCompare(b)));
  } finally {
    await orm.close(true);
  }
}

describe('entities', () => {
  it('map to the same columns as before (created/updated times, decisions and ratings included)', async () => {
    expect(await entityColumns()).toMatchSnapshot();
  });
});
