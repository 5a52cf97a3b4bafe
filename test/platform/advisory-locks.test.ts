import { AdvisoryLock } from '../../src/platform/db/advisory-locks';

describe('advisory lock ids', () => {
  it('are distinct, so no two uses of a lock exclude each other by accident', () => {
    const ids = Object.values(AdvisoryLock);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(Number.isInteger(id) && id > 0 && id < 2 ** 31).toBe(true); // fits the int key of the two-key form
  });
});
