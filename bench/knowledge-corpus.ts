import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The shipped search test set (test/knowledge/faq-testset.json), read from the repository at run time. */
export interface TestSet {
  faqs: Array<{ key: string; category: string; question: string; answer: string; tags: string[] }>;
  /** Labelled questions; `split`: tuning (rules may be tuned on them) or heldOut (never tuned on). */
  queries: Array<{ query: string; expected: string; kind: string; split: Split }>;
  noAnswer: Array<{ query: string; split: Split }>;
}

export type Split = 'tuning' | 'heldOut';

export function loadTestSet(): TestSet {
  return readTestFile('faq-testset.json') as TestSet;
}

/** A JSON file of test/knowledge/, read from the repository at run time (from bench/ and dist/bench/ alike). */
export function readTestFile(name: string): unknown {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, 'test', 'knowledge', name);
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      dir = path.dirname(dir);
    }
  }
  throw new Error(`test/knowledge/${name} not found`);
}

const EVENTS = [
  '周杰伦嘉年华世界巡回演唱会',
  '五月天诺亚方舟演唱会',
  '林俊杰JJ20巡回演唱会',
  '薛之谦天外来物巡回演唱会',
  '张学友60+巡回演唱会',
  '陈奕迅FEAR AND DREAMS演唱会',
  '邓紫棋I AM GLORIA演唱会',
  '李健万物安生时巡演',
  '周深9.29Hz巡回演唱会',
  '华晨宇火星演唱会',
  '话剧《雷雨》',
  '话剧《茶馆》',
  '音乐剧《猫》中文版',
  '音乐剧《歌剧魅影》',
  '开心麻花舞台剧《乌龙山伯爵》',
  '儿童剧《小猪佩奇》',
  '德云社相声专场',
  '脱口秀大会全国巡演',
  '芭蕾舞剧《天鹅湖》',
  '久石让宫崎骏动漫音乐会',
  '新年交响音乐会',
  '昆曲《牡丹亭》',
  '京剧《霸王别姬》',
  '马戏《时空之旅》',
  '魔术师刘谦魔术秀',
  '草莓音乐节',
  '迷笛音乐节',
  '爵士音乐节',
  '电音节',
  'CBA总决赛',
  '中超联赛主场',
  '乒乓球世界杯',
  '网球公开赛',
  'F1中国大奖赛',
  '英雄联盟LPL总决赛',
  '沉浸式戏剧《不眠之夜》',
  '杂技剧《战上海》',
  '钢琴家郎朗独奏音乐会',
  '越剧《梁祝》',
  '亲子音乐剧《冰雪奇缘》',
];
const CITIES = [
  '北京',
  '上海',
  '广州',
  '深圳',
  '杭州',
  '成都',
  '南京',
  '武汉',
  '西安',
  '重庆',
  '长沙',
  '苏州',
  '天津',
  '郑州',
  '青岛',
  '厦门',
  '沈阳',
  '合肥',
  '昆明',
  '福州',
];
const VENUES = [
  '体育中心体育馆',
  '奥体中心',
  '大剧院',
  '保利剧院',
  '文化艺术中心',
  '国际会展中心',
  '体育场',
  '音乐厅',
  '工人体育馆',
  '体育公园',
];
const TIMES = ['19:30', '19:00', '20:00', '14:30', '18:30'];
const PRICES = ['180/380/580/880/1280', '280/480/680/980', '80/180/280/380', '399/599/799/1099/1599', '120/220/320'];

/**
 * One distractor per template: event-specific questions like a real ticketing platform's long tail (start
 * times, venues, programmes, transport, merchandise), sharing much vocabulary with the policy FAQs. A few
 * templates deliberately touch policy topics (refunds, real names, children, entry) for one event, as real
 * corpora do.
 */
const TEMPLATES: Array<(e: string, c: string, v: string, n: number) => [string, string]> = [
  (e, c, _v, n) => [
    `${e}${c}站什么时候开票？`,
    `${e}${c}站预计于演出前 ${20 + (n % 30)} 天开票，开票时间以主办方公告为准，可先在详情页点击“想看”接收提醒。`,
  ],
  (e, c, v) => [`${e}${c}站在哪个场馆举办？`, `${e}${c}站在${c}${v}举办，具体入口和检票口请查看电子票上的提示。`],
  (e, c, _v, n) => [`${e}${c}站演出时长大概多久？`, `${e}${c}站演出时长约 ${90 + (n % 5) * 15} 分钟（以现场为准），中场无休息。`],
  (e, c, _v, n) => [`${e}${c}站有哪些票档？最低多少钱？`, `${e}${c}站票价为 ${PRICES[n % PRICES.length]} 元，各票档区域见座位图。`],
  (e, c) => [`${e}${c}站的嘉宾阵容公布了吗？`, `${e}${c}站的嘉宾阵容将在演出前两周由主办方官方微博公布，请留意演出详情页更新。`],
  (e, c) => [`${e}${c}站还会加场吗？`, `${e}${c}站是否加场以主办方通知为准，加场信息会第一时间在详情页发布。`],
  (e, c, _v, n) => [`${e}${c}站几点开始？`, `${e}${c}站于 ${TIMES[n % TIMES.length]} 开始，建议提前到场，预留安检时间。`],
  (_e, c, v, n) => [
    `${c}${v}怎么坐地铁去？`,
    `乘坐${c}地铁 ${1 + (n % 12)} 号线到${v}站，从 ${String.fromCharCode(65 + (n % 4))} 口出步行约 ${5 + (n % 10)} 分钟即到。`,
  ],
  (_e, c, v) => [`${c}${v}附近有停车场吗？`, `${c}${v}地下停车场车位有限，演出当天车流较大，建议乘坐公共交通前往。`],
  (e, c) => [`${e}${c}站现场有周边商品卖吗？`, `${e}${c}站现场设有官方周边售卖点，开演前 3 小时开放，也可以在 App 商城提前购买。`],
  (e, c) => [`${e}${c}站现场有行李寄存处吗？`, `${e}${c}站场馆外设有临时寄存点，仅寄存小件物品，贵重物品请随身携带。`],
  (e, c) => [`${e}${c}站内场是站票还是坐票？`, `${e}${c}站内场为坐席，每张门票对应一个座位，请按票面座位就座。`],
  (e, c) => [`${e}${c}站可以带应援灯牌吗？`, `${e}${c}站可以携带官方应援物，禁止携带超过 A4 大小的灯牌和自制发光道具。`],
  (e, c) => [`${e}${c}站的曲目单公布了吗？`, `${e}${c}站的曲目单以现场演出为准，主办方不提前公布完整曲目。`],
  (e, c) => [`${e}${c}站的门票可以退吗？`, `${e}${c}站为不可退票演出（演出取消或延期除外），下单前请确认观演时间。`],
  (e, c) => [`${e}${c}站是实名制演出吗？`, `${e}${c}站为实名制演出，每张门票需绑定一位观演人证件，入场时人证票一致。`],
  (e, c) => [`${e}${c}站儿童可以入场吗？`, `${e}${c}站谢绝 1.2 米以下儿童入场，1.2 米以上儿童需购票。`],
  (e, c, _v, n) => [`${e}${c}站提前多久入场？`, `${e}${c}站于开演前 ${60 + (n % 3) * 30} 分钟开始检票入场。`],
  (e, c) => [`${e}${c}站会有返场吗？`, `返场安排以${e}${c}站现场为准，散场后请有序离场。`],
  (e, c) => [`${e}${c}站有没有直播或录播？`, `${e}${c}站暂无线上直播计划，如有变化将在官方渠道公布。`],
  (e, c) => [`${e}${c}站的座位视野怎么样？`, `${e}${c}站看台区域视野开阔，部分侧面座位可能被舞台设备遮挡，详情见座位图标注。`],
  (_e, c, v) => [`${c}${v}周边有酒店推荐吗？`, `${c}${v}周边 3 公里内有多家酒店，演出期间房源紧张，建议提前预订。`],
  (e, c) => [`${e}${c}站演出结束后有接驳车吗？`, `${e}${c}站散场后主办方在北门提供免费接驳车前往最近的地铁站。`],
  (e, c) => [`${e}${c}站有签售或见面会吗？`, `${e}${c}站暂无签售安排，粉丝活动请关注艺人官方账号。`],
];

/** `count` distinct, deterministic distractor FAQs (a seeded shuffle of events × cities × templates). */
export function distractors(
  count: number,
  categories: string[],
): Array<{ question: string; answer: string; category: string; tags: string[] }> {
  const out: Array<{ question: string; answer: string; category: string; tags: string[] }> = [];
  const seen = new Set<string>();
  // mulberry32: a small seeded PRNG, so every run pads the corpus with the same distractors.
  let seed = 20261123;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let n = 0; out.length < count && n < count * 20; n++) {
    const e = EVENTS[Math.floor(random() * EVENTS.length)];
    const c = CITIES[Math.floor(random() * CITIES.length)];
    const v = VENUES[Math.floor(random() * VENUES.length)];
    const t = Math.floor(random() * TEMPLATES.length);
    const [question, answer] = TEMPLATES[t](e, c, v, n);
    if (seen.has(question)) continue;
    seen.add(question);
    const category = t === 14 ? '退票退款' : t === 15 ? '实名制' : t >= 16 && t <= 17 ? '入场观演' : t <= 6 ? '购票' : '其他';
    out.push({
      question,
      answer,
      category: categories.includes(category) ? category : categories[0],
      tags: [e.replace(/[《》]/g, ''), `${c}站`],
    });
  }
  if (out.length < count) throw new Error(`only ${out.length} distinct distractors could be made`);
  return out;
}
