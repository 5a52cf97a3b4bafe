import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from './modules/accounts/user.entity';
import { Department } from './modules/accounts/department.entity';
import { Schedule } from './modules/scheduling/schedule.entity';
import { Shift } from './modules/scheduling/shift.entity';

/** Loads rows of `entity` by id in one query per tick; missing ids resolve to null. */
function byId<T extends { id: string }>(em: EntityManager, entity: new () => T): DataLoader<string, T | null> {
  return new DataLoader(async (ids) => {
    const rows = await em.find(entity as never, { id: { $in: ids as string[] } } as never);
    const map = new Map((rows as T[]).map((r) => [r.id, r]));
    return ids.map((id) => map.get(id) ?? null);
  });
}

/** One set per operation, so nothing cached outlives the request or leaks between viewers. */
export function createLoaders(em: EntityManager) {
  return {
    user: byId(em, User),
    department: byId(em, Department),
    shift: byId(em, Shift),
    schedule: byId(em, Schedule),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
