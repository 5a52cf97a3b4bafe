import fc from 'fast-check';
import { Role } from '../../src/platform/auth/roles';
import { DomainError } from '../../src/platform/errors';
import {
  applyRating,
  checkRating,
  MAX_RATING_COMMENT,
  MAX_SCORE,
  MIN_SCORE,
  Rated,
  requireRater,
} from '../../src/modules/conversations/rating.policy';
import { transcriptLine } from '../../src/modules/conversations/transcript';

/** The code and extensions a domain error carries, or null when the call did not throw. */
function failure(call: () => unknown): Record<string, unknown> | null {
  try {
    call();
    return null;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return err.extensions as Record<string, unknown>;
  }
}

describe('the transcript line (one format for every transcript)', () => {
  it('writes the business-time instant, the role, the name and the text on one line', () => {
    const m = { createdAt: new Date('2026-01-02T01:02:03Z'), senderRole: Role.CUSTOMER, content: '  我的账号\n登录不了 \t 了 ' };
    expect(transcriptLine(m, 'Alice', 'Asia/Shanghai')).toBe('[2026-01-02 09:02:03][CUSTOMER][Alice] 我的账号 登录不了 了');
    expect(transcriptLine(m, 'Alice', 'UTC')).toBe('[2026-01-02 01:02:03][CUSTOMER][Alice] 我的账号 登录不了 了');
  });

  it('marks a message nobody sent as SYSTEM', () => {
    const m = { createdAt: new Date('2026-06-30T16:00:00Z'), senderRole: null, content: '会话已转接' };
    expect(transcriptLine(m, '系统', 'Asia/Shanghai')).toBe('[2026-07-01 00:00:00][SYSTEM][系统] 会话已转接');
  });
});

describe('the rating rule (one for conversations and tickets)', () => {
  const customer = { id: 'c1', role: Role.CUSTOMER, departmentId: null };
  const unrated = (): Rated => ({ customerId: 'c1', rating: null, ratingComment: null, ratedAt: null });

  it('takes every whole score from MIN_SCORE to MAX_SCORE and no other number', () => {
    fc.assert(fc.property(fc.integer({ min: MIN_SCORE, max: MAX_SCORE }), (score) => checkRating(score).score === score));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer().filter((n) => n < MIN_SCORE || n > MAX_SCORE),
          fc.double({ noNaN: false }).filter((n) => !Number.isInteger(n)),
        ),
        (score) => {
          const ext = failure(() => checkRating(score));
          return ext?.code === 'BAD_USER_INPUT' && (ext.fields as Array<{ field: string }>)[0].field === 'score';
        },
      ),
    );
  });

  it('trims the comment, keeps none for blanks, and refuses one over MAX_RATING_COMMENT characters', () => {
    expect(checkRating(4, '  很快  ')).toEqual({ score: 4, comment: '很快' });
    expect(checkRating(4, '   ')).toEqual({ score: 4, comment: null });
    expect(checkRating(4, 'x'.repeat(MAX_RATING_COMMENT)).comment).toHaveLength(MAX_RATING_COMMENT);
    const ext = failure(() => checkRating(0, 'x'.repeat(MAX_RATING_COMMENT + 1)));
    expect(ext).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((ext!.fields as Array<{ field: string }>).map((f) => f.field)).toEqual(['score', 'comment']);
  });

  it('lets only the customer of the thing rate it', () => {
    expect(failure(() => requireRater(customer, unrated(), 'ticket'))).toBeNull();
    expect(failure(() => requireRater({ ...customer, id: 'c2' }, unrated(), 'ticket'))).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('stores a rating once; the second is CONFLICT ALREADY_RATED and changes nothing', () => {
    const target = unrated();
    applyRating(target, { score: 5, comment: '好' }, 'conversation');
    expect(target).toMatchObject({ rating: 5, ratingComment: '好', ratedAt: expect.any(Date) });
    const ratedAt = target.ratedAt;
    expect(failure(() => applyRating(target, { score: 1, comment: null }, 'conversation'))).toEqual({
      code: 'CONFLICT',
      reason: 'ALREADY_RATED',
    });
    expect(target).toMatchObject({ rating: 5, ratingComment: '好', ratedAt });
  });
});
