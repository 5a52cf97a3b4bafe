import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from './modules/accounts/user.entity';
import { Department } from './modules/accounts/department.entity';
import { Faq } from './modules/knowledge/faq.entity';
import { Schedule } from './modules/scheduling/schedule.entity';
import { Shift } from './modules/scheduling/shift.entity';

/**
 * Loads rows of an entity by id, one query per tick; missing ids resolve to null. Rows already loaded
 * can be read synchronously with `peek`: a field of a long list (a board's 3,500 schedules all naming
 * one of a few shifts) then costs no promise at all once the list's ids were loaded up front.
 */
export class EntityLoader<T extends { id: string }> extends DataLoader<string, T | null> {
  private readonly known = new Map<string, T | null>();

  constructor(em: EntityManager, entity: new () => T) {
    super(async (ids) => {
      const rows = (await em.find(entity as never, { id: { $in: ids as string[] } } as never)) as T[];
      const map = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => {
        const row = map.get(id) ?? null;
        this.known.set(id, row);
        return row;
      });
    });
  }

  /** The row when it has been loaded already, else a promise of it. */
  get(id: string): T | null | Promise<T | null> {
    return this.known.has(id) ? this.known.get(id)! : this.load(id);
  }
}

/** One set per operation, so nothing cached outlives the request or leaks between viewers. */
export function createLoaders(em: EntityManager) {
  return {
    user: new EntityLoader(em, User),
    department: new EntityLoader(em, Department),
    shift: new EntityLoader(em, Shift),
    schedule: new EntityLoader(em, Schedule),
    faq: new EntityLoader(em, Faq),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
