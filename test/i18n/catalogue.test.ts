import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { messageIds, render } from '../../src/platform/i18n/catalogue';
import { NotFound } from '../../src/platform/errors';
import { chooseLocale, fromAcceptLanguage, supportedLocale } from '../../src/platform/i18n/locales';
import { Role } from '../../src/platform/auth/roles';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the message catalogue', () => {
  it('has every message in both languages, with the same parameters in each', () => {
    for (const id of messageIds()) {
      const en = render({ id }, 'en');
      const zh = render({ id }, 'zh-CN');
      expect(en.trim()).not.toBe('');
      expect(zh.trim()).not.toBe('');
      expect({ id, params: placeholders(zh) }).toEqual({ id, params: placeholders(en) });
    }
  });

  it('fills parameters as given and leaves unknown ones visible', () => {
    expect(render({ id: 'error.notFound', params: { what: 'Ticket', id: 'x' } }, 'zh-CN')).toBe('未找到Ticket x');
    expect(render({ id: 'error.notFound', params: { what: 'Ticket' } }, 'en')).toBe('Ticket {id} was not found');
  });

  it('names what was not found in the reader’s language: every name the code throws NotFound with has an entry', () => {
    const error = new NotFound('Waiting request');
    expect(render(error.messageRef!, 'zh-CN')).toBe('未找到排队请求');
    expect(error.message).toBe('Waiting request was not found');
    expect(render(new NotFound('Ticket', 'x').messageRef!, 'zh-CN')).toBe('未找到工单 x');

    const names = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts')) {
          const source = readFileSync(file, 'utf8');
          for (const m of source.matchAll(/new NotFound\(\s*'([^']+)'/g)) names.add(m[1]);
          for (const m of source.matchAll(/\btarget: '([^']+)'/g)) names.add(m[1]); // reveal.service's kinds
        }
      }
    };
    walk(path.join(__dirname, '../../src'));
    expect(names.size).toBeGreaterThan(15);
    const ids = new Set<string>(messageIds());
    expect([...names].filter((n) => !ids.has(`entity.${n}`))).toEqual([]);
  });
});

describe('choosing a locale', () => {
  it('reads Accept-Language by quality, then order, mapping tags to a supported locale', () => {
    expect(fromAcceptLanguage('fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5')).toBe('en');
    expect(fromAcceptLanguage('en;q=0.4, zh-Hans-CN;q=0.9')).toBe('zh-CN');
    expect(fromAcceptLanguage('zh-TW, de')).toBeNull();
    expect(fromAcceptLanguage('en;q=0')).toBeNull();
    expect(supportedLocale('EN-gb')).toBe('en');
    expect(supportedLocale('zh')).toBe('zh-CN');
  });

  it('prefers the stored locale, then the request, then the role default, and flags an unsupported request', () => {
    expect(chooseLocale('en', 'zh-CN', Role.CUSTOMER)).toEqual({ locale: 'en', unsupported: null });
    expect(chooseLocale(null, 'en-US', Role.CUSTOMER)).toEqual({ locale: 'en', unsupported: null });
    expect(chooseLocale(null, null, Role.CUSTOMER)).toEqual({ locale: 'zh-CN', unsupported: null });
    expect(chooseLocale(null, null, Role.AGENT)).toEqual({ locale: 'en', unsupported: null });
    expect(chooseLocale(null, 'fr', Role.MANAGER)).toEqual({ locale: 'en', unsupported: 'fr' });
    expect(chooseLocale(null, '*', Role.CUSTOMER)).toEqual({ locale: 'zh-CN', unsupported: null });
  });
});
