import { isResidentId, passesLuhn } from '../../src/modules/records/pii-checks';
import { PiiDetector } from '../../src/modules/records/pii-detector';
import { maskText } from '../../src/modules/records/masking';
import { parsePiiRules, shippedPiiRules } from '../../src/modules/records/pii-rules';
import { PiiType } from '../../src/modules/records/pii-type';
import { loadConfig, ConfigError } from '../../src/config';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const rules = shippedPiiRules();
const detector = new PiiDetector(rules);

describe('the personal-data detector with the shipped rules', () => {
  test.each([
    ['我的手机13888888888', [PiiType.PHONE], '我的手机138****8888'],
    ['电话 +86 138-1234-5678 谢谢', [PiiType.PHONE], '电话 +86 138-****-5678 谢谢'],
    ['打 0086 139 1234 5678', [PiiType.PHONE], '打 0086 139 **** 5678'],
    ['两个号码13812345678 15912345678', [PiiType.PHONE], '两个号码138****5678 159****5678'],
    ['身份证11010519491231002X', [PiiType.ID_CARD], '身份证110***********002X'],
    ['身份证110105194912311233 已核验', [PiiType.ID_CARD], '身份证110***********1233 已核验'],
    ['旧证 110105491231002', [PiiType.ID_CARD], '旧证 110********1002'],
    ['卡号 6222 0212 3456 7890 1234 退款', [], '卡号 6222 0212 3456 7890 1234 退款'],
    ['卡号6222021234567891233', [PiiType.BANK_CARD], '卡号6222 **** **** *** 1233'],
    ['卡号 4367-4212-3456-7896', [PiiType.BANK_CARD], '卡号 4367 **** **** 7896'],
    ['邮箱 zhangsan@example.com 联系', [PiiType.EMAIL], '邮箱 zhan***@example.com 联系'],
    ['li@qq.com', [PiiType.EMAIL], 'l***@qq.com'],
    ['13812345678@163.com', [PiiType.EMAIL], '1381***@163.com'],
    [
      '订单号 202612031234567890，金额 ¥1,380.00，2026-12-03 14:05:09',
      [],
      '订单号 202612031234567890，金额 ¥1,380.00，2026-12-03 14:05:09',
    ],
    ['单号SO13812345678 和 12812345678', [], '单号SO13812345678 和 12812345678'],
  ])('%s', (text, types, masked) => {
    expect(detector.types(text)).toEqual(types);
    expect(maskText(text, rules)).toBe(masked);
  });

  test('several kinds in one text are all found, each masked in its own shape', () => {
    const text = '手机13812345678，身份证11010519491231002X，卡6222021234567891233，邮箱wang_fang@163.com';
    expect(detector.types(text)).toEqual([PiiType.PHONE, PiiType.ID_CARD, PiiType.BANK_CARD, PiiType.EMAIL]);
    expect(maskText(text, rules)).toBe('手机138****5678，身份证110***********002X，卡6222 **** **** *** 1233，邮箱wang***@163.com');
  });

  test('an 18-digit number shaped like an ID but with a wrong check digit is neither an ID nor a card', () => {
    // 440305199001011238 fails GB 11643 and happens to pass Luhn: it is a mistyped ID, not a card.
    const wrong = '440305199001011238';
    expect(isResidentId(wrong)).toBe(false);
    expect(passesLuhn(wrong)).toBe(true);
    expect(detector.types(`身份证${wrong}`)).toEqual([]);
  });
});

describe('the checks', () => {
  test('GB 11643: check character, real birth date, known province', () => {
    expect(isResidentId('11010519491231002X')).toBe(true);
    expect(isResidentId('110105194912310021')).toBe(false); // check digit
    const withDate = (date: string) => {
      const s17 = `110105${date}123`;
      const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
      return s17 + '10X98765432'[[...s17].reduce((a, c, i) => a + Number(c) * w[i], 0) % 11];
    };
    expect(isResidentId(withDate('19900228'))).toBe(true);
    expect(isResidentId(withDate('19900230'))).toBe(false); // 30 February
    expect(isResidentId(withDate('20000229'))).toBe(true); // a leap year
    expect(isResidentId(withDate('19000229'))).toBe(false); // not one
    expect(isResidentId(withDate('20991231'), new Date('2026-12-03'))).toBe(false); // not born yet
    expect(isResidentId('990105194912310024')).toBe(false); // no province 99
    expect(isResidentId('110105491231002')).toBe(true);
    expect(isResidentId('110105491331002')).toBe(false); // month 13
  });

  test('Luhn', () => {
    expect(passesLuhn('4111111111111111')).toBe(true);
    expect(passesLuhn('4111111111111112')).toBe(false);
    expect(passesLuhn('6222021234567891233')).toBe(true);
  });
});

describe('the rules file', () => {
  const bad = (raw: unknown) => () => parsePiiRules(raw, 'pii.json');

  test('a disabled type is not detected; the others still are', () => {
    const raw = JSON.parse(JSON.stringify(require('../../config/pii.json')));
    raw.types.PHONE.enabled = false;
    const d = new PiiDetector(parsePiiRules(raw, 'pii.json'));
    expect(d.types('13812345678 zhangsan@example.com')).toEqual([PiiType.EMAIL]);
  });

  test('mistakes are named with the file and the field', () => {
    expect(bad([])).toThrow('pii.json: types must be an object');
    expect(bad({ types: { PASSPORT: {} } })).toThrow('types.PASSPORT is not a known type');
    expect(bad({ types: { PHONE: { pattern: '(', mask: {} } } })).toThrow('types.PHONE.pattern is not a valid regular expression');
    expect(bad({ types: { PHONE: { pattern: '\\d*', mask: {} } } })).toThrow('types.PHONE.pattern must not match an empty text');
    expect(bad({ types: { PHONE: { pattern: '1\\d{10}', check: 'crc', mask: {} } } })).toThrow(
      'types.PHONE.check must be one of none, gb11643, luhn',
    );
    expect(bad({ types: { PHONE: { pattern: '1\\d{10}', mask: { keepStart: -1 } } } })).toThrow(
      'types.PHONE.mask.keepStart must be a whole number',
    );
    expect(bad({ types: { PHONE: { pattern: '1\\d{10}', mask: { maskChar: '0' } } } })).toThrow(
      'types.PHONE.mask.maskChar must be one character',
    );
  });

  test('PII_RULES_FILE with a bad file stops start-up naming the variable', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pii-rules-'));
    const file = path.join(dir, 'pii.json');
    writeFileSync(file, JSON.stringify({ types: { PHONE: { pattern: '[', mask: {} } } }));
    expect(() => loadConfig({ PII_RULES_FILE: file })).toThrow(ConfigError);
    expect(() => loadConfig({ PII_RULES_FILE: file })).toThrow(/PII_RULES_FILE: .*types\.PHONE\.pattern is not a valid regular expression/);
    expect(() => loadConfig({ PII_RULES_FILE: path.join(dir, 'missing.json') })).toThrow(/PII_RULES_FILE: cannot read/);
    expect(loadConfig({}).pii.rules.rules.map((r) => r.type)).toEqual([PiiType.ID_CARD, PiiType.BANK_CARD, PiiType.EMAIL, PiiType.PHONE]);
  });
});
