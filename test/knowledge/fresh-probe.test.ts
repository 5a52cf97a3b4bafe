import type { EntityManager } from '@mikro-orm/postgresql';
import { startTestApp, TestApp } from '../support/harness';
import { publishLabelledFaqs } from './labelled-faqs';

const faqs = [
  { key: 'refund-time', category: '退票退款', question: '申请退款后多久到账？', answer: '退款将在 3–7 个工作日内原路退回。' },
  { key: 'rebook', category: '改签转赠', question: '已购门票可以改签到其他场次吗？', answer: '开演前 48 小时可改签一次。' },
  { key: 'pay-fail', category: '支付', question: '支付失败但银行卡已扣款怎么办？', answer: '款项会在 1 个工作日内自动退回。' },
  { key: 'coupon', category: '会员与优惠', question: '优惠券为什么无法使用？', answer: '请检查有效期、适用演出和最低消费金额。' },
  { key: 'entry-time', category: '入场观演', question: '演出开始前多久可以入场？', answer: '一般开演前 60 分钟开始检票入场。' },
  { key: 'seat-pick', category: '购票', question: '购票时可以自己选座吗？', answer: '支持在线选座的演出可在座位图上选择。' },
  {
    key: 'real-name',
    category: '实名制',
    question: '实名制门票的观演人信息可以修改吗？',
    answer: '实名信息提交后不可修改，可退票后重新购买。',
  },
  { key: 'e-ticket', category: '电子票与取票', question: '电子票在哪里查看？', answer: '在“我的-订单”中查看电子票二维码。' },
  { key: 'invoice', category: '发票', question: '如何申请开具发票？', answer: '演出结束后在订单详情申请电子发票。' },
  { key: 'delivery', category: '配送', question: '纸质票什么时候配送？', answer: '纸质票在开演前 7 天左右寄出。' },
  { key: 'cancel-show', category: '演出变更', question: '演出取消了如何退款？', answer: '演出取消将全额退款，无需申请。' },
  { key: 'account-lock', category: '账户安全', question: '账号被冻结了怎么解冻？', answer: '请通过人工客服核实身份后解冻。' },
];
const questions: Array<[string, string]> = [
  ['钱啥时候能退回来', 'refund-time'],
  ['退的钱多久到我卡上', 'refund-time'],
  ['票能不能换一场看', 'rebook'],
  ['想换个日期去看 可以吗', 'rebook'],
  ['付款没成功钱却扣了', 'pay-fail'],
  ['扣了钱订单却没有', 'pay-fail'],
  ['券用不了是咋回事', 'coupon'],
  ['为啥我的优惠卷不能用', 'coupon'],
  ['几点可以进场', 'entry-time'],
  ['提前多久能进去', 'entry-time'],
  ['买票能挑位置吗', 'seat-pick'],
  ['座位可以自己选么', 'seat-pick'],
  ['观演人名字填错了能改吗', 'real-name'],
  ['身份证号写错了怎么办', 'real-name'],
  ['电子票去哪看', 'e-ticket'],
  ['二维码在哪里找', 'e-ticket'],
  ['怎么开发票', 'invoice'],
  ['能给我开个票吗 报销用', 'invoice'],
  ['纸质票啥时候寄', 'delivery'],
  ['快递什么时候发货', 'delivery'],
  ['演唱会取消了钱怎么办', 'cancel-show'],
  ['活动不办了 退不退钱', 'cancel-show'],
  ['账号被封了', 'account-lock'],
  ['帳號凍結了怎麼辦', 'account-lock'],
];

/**
 * Issue 15's own check, done again: a fresh set of 12 FAQs and 24 questions as customers write them, written on
 * 2026-12-04 by someone who had not looked at the shipped test set that day. Against it the search found the
 * right FAQ first for 20 and nothing at all for 3 (a long question sharing one word, 扣款 or 退款, with its FAQ
 * scored under minScore; 能退回来 found only 能退). After the recall rule, overlapping lexicon forms and three
 * forms of 改签 (换个日期/时间/日子, added because of this set: it is not held out), 23 first, none empty.
 * Floors a question under that, so a change that loses recall fails here.
 */
describe('FAQ search on a fresh set of FAQs and customer questions', () => {
  let app: TestApp;
  let keyOf: Map<string, string>;
  const em = (): EntityManager => app.services.orm.em.fork() as EntityManager;

  beforeAll(async () => {
    app = await startTestApp();
    keyOf = await publishLabelledFaqs(app, faqs);
  });
  afterAll(() => app.stop());
  it('finds the right FAQ first for most questions and never answers with nothing; auto-answers only rightly', async () => {
    let top1 = 0;
    let empty = 0;
    let wrongAuto = 0;
    const misses: string[] = [];
    for (const [q, expected] of questions) {
      const hits = await app.services.faqs.rank(em(), q, 3);
      const keys = hits.map((h) => keyOf.get(h.faq.id));
      const best = await app.services.faqs.bestAnswer(em(), q, { recordUse: false });
      if (best && keyOf.get(best.faq.id) !== expected) wrongAuto++;
      if (!hits.length) empty++;
      if (keys[0] === expected) top1++;
      else misses.push(`${q} → ${keys.join(', ')} (expected ${expected})`);
    }
    if (top1 < 22 || empty > 0) throw new Error(`recall fell: top-1 ${top1}/${questions.length}, empty ${empty}\n${misses.join('\n')}`);
    expect(wrongAuto).toBe(0);
  });

  /**
   * Homophones a pinyin keyboard offers, none of them in the lexicon's `typos` (written on 2026-12-05, after the
   * sounds were built: a check that they find typos nobody listed, not a tuning set). Most of these questions
   * share another word with their FAQ, so 10 of 12 come first even without the sounds; with them, all 12.
   */
  it('finds FAQs through homophone typos no lexicon entry lists, more of them with the sounds than without', async () => {
    const typos: Array<[string, string]> = [
      ['退宽多久能到', 'refund-time'],
      ['能改钱到别的场次吗', 'rebook'],
      ['支附失败了钱被扣了', 'pay-fail'],
      ['优会券用不了', 'coupon'],
      ['几点能入厂', 'entry-time'],
      ['能自己选坐吗', 'seat-pick'],
      ['观演人信息能修该吗', 'real-name'],
      ['电子飘在哪看', 'e-ticket'],
      ['怎么开发飘', 'invoice'],
      ['纸质飘什么时候寄', 'delivery'],
      ['演出取销了怎么退', 'cancel-show'],
      ['账号被冻节了', 'account-lock'],
    ];
    const lexicon = app.services.config.knowledge.lexicon;
    const listed = new Set(Object.values(lexicon.typos).flat());
    for (const [q] of typos) for (const form of listed) expect(q.includes(form)).toBe(false);
    const firsts = async () => {
      const right: string[] = [];
      for (const [q, expected] of typos)
        if (keyOf.get((await app.services.faqs.rank(em(), q, 3))[0]?.faq.id ?? '') === expected) right.push(q);
      return right;
    };
    const params = app.services.config.knowledge.search;
    const weight = params.homophoneWeight;
    params.homophoneWeight = 0;
    let without: string[];
    try {
      without = await firsts();
    } finally {
      params.homophoneWeight = weight;
    }
    const withSounds = await firsts();
    for (const q of without) expect(withSounds).toContain(q);
    expect(withSounds.length).toBeGreaterThan(without.length);
    expect(withSounds.length).toBeGreaterThanOrEqual(typos.length - 1);
  });
});
