import fc from 'fast-check';
import {
  classifyPriority,
  DEFAULT_PRIORITY_RULES,
  effectiveRank,
  estimateWaitSeconds,
  parsePriorityRules,
  PRIORITY_RANK,
  ServicePriority,
} from '../../src/modules/conversations/queue-policy';

const rules = parsePriorityRules(DEFAULT_PRIORITY_RULES);

describe('queue policy', () => {
  it('raises the priority from the first message’s keywords', () => {
    expect(classifyPriority('我要投诉你们的客服', null, rules)).toBe('URGENT');
    expect(classifyPriority('APP 无法使用了', ServicePriority.LOW, rules)).toBe('URGENT');
    expect(classifyPriority('请尽快回复', null, rules)).toBe('HIGH');
    expect(classifyPriority('你好，想问一下演出时间', null, rules)).toBe('NORMAL');
    expect(classifyPriority('你好', ServicePriority.LOW, rules)).toBe('LOW');
  });

  it('never lowers what the customer asked for (property)', () => {
    const priority = fc.constantFrom(...Object.values(ServicePriority));
    fc.assert(
      fc.property(fc.string(), priority, (message, requested) => {
        expect(PRIORITY_RANK[classifyPriority(message, requested, rules)]).toBeLessThanOrEqual(PRIORITY_RANK[requested]);
      }),
    );
  });

  it('reads rules from configuration and names a bad one', () => {
    expect(parsePriorityRules('[{"pattern": "vip", "priority": "HIGH"}]')[0]).toMatchObject({ priority: 'HIGH' });
    expect(() => parsePriorityRules('[{"pattern": "(", "priority": "HIGH"}]')).toThrow(/PRIORITY_RULES\[0\]\.pattern/);
    expect(() => parsePriorityRules('[{"pattern": "x", "priority": "SOON"}]')).toThrow(/PRIORITY_RULES\[0\]\.priority/);
  });

  it('ages a waiting request one level per interval, up to URGENT', () => {
    expect(effectiveRank(3, 0, 120)).toBe(3);
    expect(effectiveRank(3, 119, 120)).toBe(3);
    expect(effectiveRank(3, 120, 120)).toBe(2);
    expect(effectiveRank(3, 600, 120)).toBe(0);
    expect(effectiveRank(0, 600, 120)).toBe(0);
  });

  it('lets a long-waiting LOW request overtake a fresh HIGH one (no starvation, property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 600 }), (rank, ageing) => {
        // After rank × ageing seconds anyone is URGENT, level with the most urgent newcomer, and earlier in line.
        expect(effectiveRank(rank, rank * ageing, ageing)).toBe(0);
      }),
    );
  });

  it('estimates the wait from position, eligible capacity and recent handling time', () => {
    expect(estimateWaitSeconds(10, 20, 300)).toBe(150);
    expect(estimateWaitSeconds(1, 5, 300)).toBe(60);
    expect(estimateWaitSeconds(3, 0, 300)).toBeNull();
  });
});
