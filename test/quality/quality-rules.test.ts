import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { findViolations, parseQualitySettings } from '../../src/modules/quality/quality.settings';
import { SERVER_ENTRY } from '../support/processes';

const shipped = path.resolve(__dirname, '../../config/quality.json');

/** The shipped rules with one rule's patterns replaced. */
function rulesFileWith(code: string, patterns: string[]): string {
  const raw = JSON.parse(readFileSync(shipped, 'utf8'));
  raw.rules.find((r: { code: string }) => r.code === code).patterns = patterns;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'quality-rules-')), 'quality.json');
  writeFileSync(file, JSON.stringify(raw));
  return file;
}

describe('quality rules (config/quality.json)', () => {
  const { rules } = loadConfig({}).quality;
  const codes = (text: string) => findViolations(rules, text).map((v) => v.rule.code);

  it.each([
    ['你烦不烦啊，自己去官网看', 'RUDENESS'],
    ['说了多少遍了，不行就是不行', 'RUDENESS'],
    ['放心，保证退款，三天内到账', 'FORBIDDEN_PROMISE'],
    ['这场我们一定能帮您抢到票', 'FORBIDDEN_PROMISE'],
    ['请提供一下您的登录密码，我帮您查', 'ASK_PASSWORD'],
    ['麻烦把收到的验证码发给我', 'ASK_PASSWORD'],
    ['请告诉我您的银行卡号和有效期', 'ASK_CARD_NUMBER'],
    ['需要您的完整卡号才能退款', 'ASK_CARD_NUMBER'],
  ])('flags %s as %s', (text, code) => {
    expect(codes(text)).toContain(code);
  });

  it.each([
    '您好，很高兴为您服务，请问有什么可以帮您？',
    '请不要向任何人透露您的密码或验证码',
    '为了安全，客服绝不会向您索要完整卡号',
    '请提供银行卡号后四位以便核对',
    '退款会在3-5个工作日原路退回',
    '这场演出的票我们会尽力协助，但无法保证',
  ])('lets a proper reply pass: %s', (text) => {
    expect(codes(text)).toEqual([]);
  });

  it('matches full-width and upper-case forms the same way (NFKC, lower case)', () => {
    expect(codes('请告诉我您的银行卡号和ＣＶＶ')).toContain('ASK_CARD_NUMBER');
  });

  it('refuses a rule with an invalid pattern, naming the rule and QUALITY_RULES_FILE', () => {
    const file = rulesFileWith('FORBIDDEN_PROMISE', ['保证(退款']);
    expect(() => loadConfig({ QUALITY_RULES_FILE: file })).toThrow(ConfigError);
    expect(() => loadConfig({ QUALITY_RULES_FILE: file })).toThrow(
      /QUALITY_RULES_FILE[\s\S]*rule FORBIDDEN_PROMISE: patterns\[0\] is not a valid regular expression/,
    );
  });

  it.each([
    [
      {
        rules: [{ code: 'X', label: 'x', phrases: ['a'] }],
        checklist: [{ key: 'a', label: 'a', maxScore: 5 }],
        sampling: { perAgentPerWeek: 1 },
      },
      /rules\[0\]\.code/,
    ],
    [
      { rules: [{ code: 'NOTHING', label: 'x' }], checklist: [{ key: 'a', label: 'a', maxScore: 5 }], sampling: { perAgentPerWeek: 1 } },
      /rule NOTHING needs at least one phrase or pattern/,
    ],
    [{ rules: [], checklist: [], sampling: { perAgentPerWeek: 1 } }, /checklist must list at least one item/],
    [{ rules: [], checklist: [{ key: 'a', label: 'a', maxScore: 0 }], sampling: { perAgentPerWeek: 1 } }, /checklist item a: maxScore/],
    [{ rules: [], checklist: [{ key: 'a', label: 'a', maxScore: 5 }], sampling: { perAgentPerWeek: -1 } }, /sampling\.perAgentPerWeek/],
    [
      {
        rules: [{ code: 'AB', label: 'x', phrases: ['a'], unless: ['(('] }],
        checklist: [{ key: 'a', label: 'a', maxScore: 5 }],
        sampling: { perAgentPerWeek: 1 },
      },
      /rule AB: unless\[0\]/,
    ],
  ])('says what is wrong with a bad file (%#)', (raw, message) => {
    expect(() => parseQualitySettings(raw, 'quality.json')).toThrow(message);
  });

  it('stops the server at start-up with the rule and the variable named', async () => {
    if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run \`npm run build\` before this test`);
    const file = rulesFileWith('ASK_PASSWORD', ['密码(']);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'quality-start-'));
    const child = spawn(process.execPath, [SERVER_ENTRY], {
      cwd: path.dirname(file),
      env: { PATH: process.env.PATH, QUALITY_RULES_FILE: file, DATA_DIR: path.join(dataDir, 'never'), PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toMatch(/QUALITY_RULES_FILE/);
    expect(stderr).toMatch(/rule ASK_PASSWORD: patterns\[0\]/);
    expect(existsSync(path.join(dataDir, 'never'))).toBe(false);
  }, 30_000);
});
