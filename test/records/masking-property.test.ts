import fc from 'fast-check';
import { maskText } from '../../src/modules/records/masking';
import { PiiDetector } from '../../src/modules/records/pii-detector';
import { shippedPiiRules } from '../../src/modules/records/pii-rules';
import { loadPiiCorpus } from '../../bench/pii-corpus';

const rules = shippedPiiRules();
const detector = new PiiDetector(rules);
const corpus = loadPiiCorpus().map((t) => t.text);

/** Texts made of pieces that stress the patterns: real PII, near misses, digits, separators, Chinese. */
const piece = fc.oneof(
  fc.constantFrom(
    '13812345678',
    '+86 139-1234-5678',
    '11010519491231002X',
    '110105491231002',
    '6222021234567891233',
    '4367 4212 3456 7896',
    'zhangsan@example.com',
    'li@qq.com',
  ),
  fc.constantFrom('110105194912310021', '6222021234567891234', '12812345678', '2026-12-03', '¥1,380.00', 'SO13812345678', '@客服'),
  fc.stringMatching(/^[0-9]{1,20}$/),
  fc.constantFrom(' ', '-', '，', '。', '+', '@', '.', 'X', 'x', '*', '\n', '\t'),
  fc.string({ unit: fc.constantFrom('我', '的', '号', '码', '是', '卡', 'a', 'Z', '_', '1', '3', '8', '6', ' '), maxLength: 6 }),
  fc.constantFrom(...corpus),
);
const text = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));
const digitCount = (s: string) => (s.match(/\d/g) ?? []).length;

describe('maskText (fast-check)', () => {
  test('masking twice changes nothing', () => {
    fc.assert(
      fc.property(text, (t) => maskText(maskText(t, rules), rules) === maskText(t, rules)),
      { numRuns: 2000 },
    );
  });

  test('never lengthens the digits: what it shows has no more digits than the text, and no PII is found in it', () => {
    fc.assert(
      fc.property(text, (t) => {
        const masked = maskText(t, rules);
        return digitCount(masked) <= digitCount(t) && detector.find(masked).length === 0;
      }),
      { numRuns: 2000 },
    );
  });

  test('text outside the personal data stays byte for byte', () => {
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    fc.assert(
      fc.property(text, (t) => {
        const masked = maskText(t, rules);
        // The gaps around the values, in order and unchanged; each value replaced by masked characters only.
        let pattern = '^';
        let at = 0;
        for (const m of detector.find(t)) {
          pattern += `${escape(t.slice(at, m.valueStart))}([0-9A-Za-z._%+* -]+?)`;
          at = m.valueEnd;
        }
        pattern += `${escape(t.slice(at))}$`;
        return new RegExp(pattern, 's').test(masked);
      }),
      { numRuns: 2000 },
    );
  });

  test('a text without personal data comes back as the same string', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (t) => detector.find(t).length > 0 || maskText(t, rules) === t));
  });
});
