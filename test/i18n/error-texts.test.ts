import { join } from 'node:path';
import { Conflict, ConflictReason } from '../../src/platform/errors';
import { formatError } from '../../src/platform/graphql-errors';
import { chineseErrorText, errorTextTable, localizedErrorText } from '../../src/platform/i18n/error-translation';
import { scanErrorTexts, validatorsWithDefaultMessage } from './error-text-scan';

const root = join(__dirname, '..', '..');

/** English words (4+ lower-case letters) that may stand in a Chinese text: those the table's Chinese itself has. */
const wordsIn = (text: string) => text.match(/[a-z]{4,}/g) ?? [];
const chineseVocabulary = new Set(errorTextTable().flatMap(([, zh]) => wordsIn(zh)));

/**
 * The Chinese of `text` (each `{}` of a template filled with a sample), and the English words left in it:
 * a text matched by a looser template (`must be at most {max}` for `must be at most 7 widgets`) keeps some.
 */
function translate(text: string): { zh: string | null; untranslated: string[] } {
  const zh = chineseErrorText(text.replace(/\{\}/g, '7'));
  return { zh, untranslated: zh === null ? [] : wordsIn(zh).filter((w) => !chineseVocabulary.has(w)) };
}

/** class-validator's own messages for the decorators src/ uses without a message of its own (property name taken off). */
const CLASS_VALIDATOR_DEFAULTS: Record<string, string> = {
  MaxLength: 'must be shorter than or equal to 50 characters',
  MinLength: 'must be longer than or equal to 8 characters',
  Length: 'must be longer than or equal to 1 characters',
  Min: 'must not be less than 0',
  Max: 'must not be greater than 50',
  IsInt: 'must be an integer number',
  IsString: 'must be a string',
  IsEmail: 'must be an email',
  ArrayMaxSize: 'must contain no more than 20 elements',
  ArrayMinSize: 'must contain at least 1 elements',
  Matches: 'must match /^a$/ regular expression',
  IsOptional: '',
  ValidateNested: '',
};

describe('every error text has a Chinese version', () => {
  const texts = scanErrorTexts(root);

  it('the scan finds the error texts of src/ (the scanner itself still works)', () => {
    expect(texts.length).toBeGreaterThan(300);
    expect(texts.map((t) => t.text)).toEqual(
      expect.arrayContaining(['Wrong e-mail or password', 'must be at most {} characters', 'The token has expired; sign in again']),
    );
  });

  it('each text written in src/ (error classes, field problems, class-validator options, rate limits) is in the table', () => {
    const missing = texts
      .map((t) => ({ ...t, ...translate(t.text) }))
      .filter((t) => t.zh === null || t.untranslated.length > 0)
      .map((t) => `${t.where}: ${JSON.stringify(t.text)}${t.zh ? ` → ${t.zh}` : ''}`);
    // Add the text and its Chinese to src/platform/i18n/error-texts.ts (or use a catalogue message id).
    expect(missing).toEqual([]);
  });

  it('class-validator’s own messages, for each validator used without a message, are in the table', () => {
    const unknown = validatorsWithDefaultMessage(root).filter((v) => CLASS_VALIDATOR_DEFAULTS[v.name] === undefined);
    expect(unknown.map((v) => `${v.where}: @${v.name}: add its default message to CLASS_VALIDATOR_DEFAULTS`)).toEqual([]);
    for (const message of Object.values(CLASS_VALIDATOR_DEFAULTS).filter(Boolean)) {
      expect({ message, ...translate(message) }).toEqual({ message, zh: expect.any(String), untranslated: [] });
    }
    expect(chineseErrorText('each value in tags must be shorter than or equal to 50 characters')).toBe('tags 中的每一项最多 50 个字符');
  });

  it('translates templated texts with their values, the most specific template first', () => {
    expect(chineseErrorText('must be at most 500 characters')).toBe('最多 500 个字符');
    expect(chineseErrorText('must be at most 500')).toBe('不能超过 500');
    expect(chineseErrorText('Schedule 42 took part in a swap and is kept for the record')).toBe('排班 42 参与过换班，需保留备查');
  });

  it('translates `field message` compositions and keeps field names; English stays exactly as written', () => {
    expect(chineseErrorText('email is already taken')).toBe('email 已被占用');
    expect(chineseErrorText('from must be a real date YYYY-MM-DD; to must be after from')).toBe(
      'from 必须是有效日期 YYYY-MM-DD；to 必须晚于 from',
    );
    expect(chineseErrorText('something nobody wrote')).toBeNull();
    expect(localizedErrorText('something nobody wrote', 'zh-CN')).toBe('something nobody wrote');
    expect(localizedErrorText('Wrong e-mail or password', 'en')).toBe('Wrong e-mail or password');
  });

  it('has each English text once; the Chinese uses no placeholder the English lacks (it may leave an English verb out)', () => {
    const english = errorTextTable().map(([en]) => en);
    expect(english.filter((en, i) => english.indexOf(en) !== i)).toEqual([]);
    const placeholders = (t: string): string[] => (t.match(/\{\w+\}|\$constraint\d/g) ?? []).sort();
    for (const [en, zh] of errorTextTable()) {
      expect({ en, unknown: placeholders(zh).filter((p) => !placeholders(en).includes(p)) }).toEqual({ en, unknown: [] });
    }
  });

  it('formatError translates each problem listed in the extensions, keeping reasons and ids', () => {
    const conflicts = [{ reason: 'ON_LEAVE', message: 'The receiver is on approved leave then', conflictingScheduleId: 'id-1' }];
    const error = new Conflict(ConflictReason.SCHEDULE_CONFLICTS, 'The swap has conflicts; see extensions.conflicts (or ask checkSwap)', {
      conflicts,
    });
    const format = (locale: 'en' | 'zh-CN') => formatError({ message: error.message, extensions: error.extensions }, error, locale).error;
    expect(format('zh-CN')).toMatchObject({
      message: '换班存在冲突，详见 extensions.conflicts（或调用 checkSwap）',
      extensions: {
        code: 'CONFLICT',
        reason: 'SCHEDULE_CONFLICTS',
        conflicts: [{ reason: 'ON_LEAVE', message: '接班人届时在已批准的休假中', conflictingScheduleId: 'id-1' }],
      },
    });
    expect(format('en').extensions?.conflicts).toEqual(conflicts);
  });
});
