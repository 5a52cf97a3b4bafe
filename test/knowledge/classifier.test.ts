import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../../src/config';
import { checkMessage, MessageClassifier, MessageIntent, parseClassifierRules, Sentiment } from '../../src/modules/knowledge/classifier';
import { readJsonFile, shippedConfigFile } from '../../src/modules/knowledge/knowledge.settings';

const shipped = () => readJsonFile(shippedConfigFile('classifier.json')) as Record<string, any>;
const classifier = new MessageClassifier(loadConfig({}).classifier.rules);
const classify = (text: string) => classifier.classify(text);
const codes = (text: string) => classify(text).suggestedActions.map((a) => a.code);

describe('message classifier (config/classifier.json)', () => {
  it.each([
    ['周杰伦演唱会上海站票价多少钱？什么时候开售？', MessageIntent.PRODUCT_INQUIRY],
    ['我的订单 2026112012345678 怎么还没出票', MessageIntent.ORDER_STATUS],
    ['快递到哪了，纸质票还没收到', MessageIntent.ORDER_STATUS],
    ['我要退票，钱什么时候退回来', MessageIntent.AFTER_SALES],
    ['能帮我开一张发票吗', MessageIntent.AFTER_SALES],
    ['你们客服态度太差了，我要投诉', MessageIntent.COMPLAINT],
    ['再不处理我就去12315投诉你们', MessageIntent.COMPLAINT],
    ['忘记密码了，也收不到验证码', MessageIntent.ACCOUNT_SUPPORT],
    ['账号被盗了怎么办', MessageIntent.ACCOUNT_SUPPORT],
    ['你好，在吗', MessageIntent.GENERAL],
    ['嗯嗯', MessageIntent.GENERAL],
  ])('%s → %s', (text, intent) => {
    expect(classify(text).intent).toBe(intent);
  });

  it('reads a number keyword as a whole number: 315 and 12315 are complaints, an order number holding 315 is not', () => {
    expect(classify('315晚会曝光过你们').intent).toBe(MessageIntent.COMPLAINT);
    expect(classify('我要打 12315').intent).toBe(MessageIntent.COMPLAINT);
    for (const order of ['你好，我想问一下订单 2026031500', '订单 3150 还没出票', '订单 1315 呢']) {
      const c = classify(order);
      expect([c.intent, c.priority]).toEqual([MessageIntent.ORDER_STATUS, 'NORMAL']);
      expect(c.matchedKeywords).not.toContain('315');
    }
  });

  it('gives a labelled intent with a confidence that grows with clear evidence', () => {
    const clear = classify('我要退票退款，怎么申请退票');
    const vague = classify('嗯嗯');
    expect(clear).toMatchObject({ intent: 'AFTER_SALES', intentLabel: '售后服务' });
    expect(clear.confidence).toBeGreaterThan(0.8);
    expect(vague).toMatchObject({ intent: 'GENERAL', confidence: 0.5, matchedKeywords: [], scores: [] });
    const mixed = classify('退票的事我要投诉');
    expect(mixed.scores.map((s) => s.intent)).toEqual(expect.arrayContaining(['COMPLAINT', 'AFTER_SALES']));
    expect(mixed.confidence).toBeLessThan(clear.confidence);
  });

  it('reads sentiment with negation, intensifiers and exclamation marks', () => {
    expect(classify('谢谢，服务很专业，非常满意').sentiment).toBe(Sentiment.POSITIVE);
    expect(classify('我不满意').sentiment).toBe(Sentiment.NEGATIVE);
    expect(classify('请问几点入场').sentiment).toBe(Sentiment.NEUTRAL);
    const mild = classify('有点失望');
    const strong = classify('太失望了！！！');
    expect(mild.sentiment).toBe(Sentiment.NEGATIVE);
    expect(strong.sentimentIntensity).toBeGreaterThan(mild.sentimentIntensity);
    expect(classify('气死了，骗子平台').sentimentIntensity).toBeGreaterThan(0.7);
  });

  it('sets priority and suggests actions by the rules: complaints escalate, strong anger gets an empathetic reply', () => {
    const angry = classify('气死我了，骗子平台，再不退钱我就去12315投诉！');
    expect(angry).toMatchObject({ intent: 'COMPLAINT', sentiment: 'NEGATIVE', priority: 'URGENT' });
    expect(angry.suggestedActions.map((a) => a.code)).toEqual(
      expect.arrayContaining(['ESCALATE_TO_SUPERVISOR', 'EMPATHETIC_REPLY', 'PRIORITY_HANDLING']),
    );
    expect(angry.suggestedActions[0].label).toBe('升级给主管处理');

    expect(classify('我要投诉').priority).toBe('HIGH');
    expect(codes('我要投诉')).toContain('ESCALATE_TO_SUPERVISOR');
    expect(classify('演出马上就要开始了，二维码还刷不出来').priority).toBe('URGENT');
    expect(codes('订单什么时候出票')).toContain('CHECK_ORDER');
    expect(codes('订单什么时候出票')).not.toContain('ESCALATE_TO_SUPERVISOR');
    expect(classify('你好').priority).toBe('LOW');
    expect(classify('请问学生票多少钱').priority).toBe('NORMAL');
    expect(codes('谢谢，非常满意')).toContain('THANK_CUSTOMER');
  });

  it('keywords are configuration: other rules classify otherwise', () => {
    const rules = shipped();
    rules.intents.PRODUCT_INQUIRY.keywords.push({ text: '荧光棒', weight: 5 });
    const custom = new MessageClassifier(parseClassifierRules(rules, 'custom.json'));
    expect(classify('荧光棒').intent).toBe('GENERAL');
    expect(custom.classify('荧光棒').intent).toBe('PRODUCT_INQUIRY');
  });

  it('refuses bad rules with the file and the field named, at start-up', () => {
    const bad = (mutate: (r: Record<string, any>) => void) => {
      const r = shipped();
      mutate(r);
      return () => parseClassifierRules(r, 'rules.json');
    };
    expect(bad((r) => (r.intents.COMPLAINT.patterns[0].pattern = '(unclosed'))).toThrow(
      /rules\.json: intents\.COMPLAINT\.patterns\[0\]\.pattern is not a regular expression/,
    );
    expect(bad((r) => (r.intents.SHOPPING = { label: 'x' }))).toThrow(/intents\.SHOPPING must be one of/);
    expect(bad((r) => delete r.intents.GENERAL)).toThrow(/intents\.GENERAL is missing/);
    expect(bad((r) => (r.priority[0].priority = 'ASAP'))).toThrow(/priority\[0\]\.priority must be one of/);
    expect(bad((r) => (r.actions[0].when = { mood: 'bad' }))).toThrow(/actions\[0\]\.when\.mood is not a condition/);
    expect(bad((r) => (r.sentiment.scale = -1))).toThrow(/sentiment\.scale/);
    expect(bad((r) => (r.actions[1].code = r.actions[0].code))).toThrow(/repeats/);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftdesk-rules-'));
    const file = path.join(dir, 'rules.json');
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ CLASSIFIER_RULES_FILE: file })).toThrow(ConfigError);
    expect(() => loadConfig({ CLASSIFIER_RULES_FILE: file })).toThrow(/CLASSIFIER_RULES_FILE: .*rules\.json is not valid JSON/);
    expect(() => loadConfig({ CLASSIFIER_RULES_FILE: path.join(dir, 'missing.json') })).toThrow(/CLASSIFIER_RULES_FILE: cannot read/);
    writeFileSync(file, JSON.stringify({ categories: [] }));
    expect(() => loadConfig({ KNOWLEDGE_CONFIG_FILE: file })).toThrow(/KNOWLEDGE_CONFIG_FILE: .*categories/);
    expect(() => loadConfig({ KNOWLEDGE_SEGMENTER: 'spaces' })).toThrow(/KNOWLEDGE_SEGMENTER/);
  });

  it('checks the message: 1 to 2,000 characters', () => {
    expect(checkMessage('  你好 ')).toBe('你好');
    expect(() => checkMessage('   ')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
    expect(() => checkMessage('字'.repeat(2001))).toThrow(/at most 2000/);
  });

  it('property: for any text, confidence and intensity stay in [0, 1] and the outcome is one of the known values', () => {
    const chinese = fc.string({
      unit: fc.constantFrom(...'投诉退票订单密码你好不太非常满意失望气死骗子！!？ 12315abc'.split('')),
      maxLength: 80,
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), chinese), (text) => {
        const c = classify(text);
        expect(c.confidence).toBeGreaterThanOrEqual(0);
        expect(c.confidence).toBeLessThanOrEqual(1);
        expect(c.sentimentIntensity).toBeGreaterThanOrEqual(0);
        expect(c.sentimentIntensity).toBeLessThanOrEqual(1);
        expect(Object.values(MessageIntent)).toContain(c.intent);
        expect(['URGENT', 'HIGH', 'NORMAL', 'LOW']).toContain(c.priority);
        const total = c.scores.reduce((n, s) => n + s.score, 0);
        if (c.scores.length) expect(total).toBeCloseTo(1, 2);
      }),
      { numRuns: 500 },
    );
  });

  it('property: adding a complaint keyword never lowers the complaint score, and 投诉 with anger is never below HIGH', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'订单退票密码你好演出票价谢谢，。'.split('')), maxLength: 40 }), (text) => {
        const share = (t: string) => classify(t).scores.find((s) => s.intent === 'COMPLAINT')?.score ?? 0;
        expect(share(`${text}我要投诉`)).toBeGreaterThanOrEqual(share(text));
        expect(['URGENT', 'HIGH']).toContain(classify(`${text}气死了，我要投诉！`).priority);
      }),
      { numRuns: 200 },
    );
  });
});
