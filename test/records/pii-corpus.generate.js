// Generates test/records/pii-corpus.json (node test/records/pii-corpus.generate.js > test/records/pii-corpus.json).
// Deterministic (seeded). Labels come from how each text is built, never from the detector; the numbers are made up.
let seed = 20261203;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (a) => a[Math.floor(rnd() * a.length)];
const digits = (n) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const idCheck = (s17) => '10X98765432'[[...s17].reduce((a, c, i) => a + Number(c) * W[i], 0) % 11];
const areas = [
  '110105',
  '110108',
  '310104',
  '310115',
  '440305',
  '440106',
  '330106',
  '320102',
  '510107',
  '420106',
  '370202',
  '610113',
  '500103',
  '210203',
  '350203',
  '130102',
  '410105',
  '430104',
  '530102',
  '650102',
];
const pad = (n, w) => String(n).padStart(w, '0');
function birth() {
  const y = 1950 + Math.floor(rnd() * 56),
    m = 1 + Math.floor(rnd() * 12),
    d = 1 + Math.floor(rnd() * 28);
  return { y, m, d };
}
function id18() {
  const b = birth();
  const s17 = pick(areas) + b.y + pad(b.m, 2) + pad(b.d, 2) + digits(3);
  return s17 + idCheck(s17);
}
function id15() {
  const b = birth();
  return pick(areas) + String(b.y).slice(2) + pad(b.m, 2) + pad(b.d, 2) + digits(3);
}
function luhnDigit(body) {
  let sum = 0;
  for (let i = body.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = Number(body[i]);
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}
const binPrefixes = ['622202', '622848', '621700', '622588', '623668', '625807', '436742', '403391', '524047', '558868', '601382'];
function card(len) {
  const body = pick(binPrefixes) + digits(len - 7);
  return body + luhnDigit(body);
}
function badCard(len) {
  const good = card(len);
  const last = (Number(good.slice(-1)) + 1 + Math.floor(rnd() * 8)) % 10;
  return good.slice(0, -1) + last;
}
const group = (s, sep) => s.match(/.{1,4}/g).join(sep);
function phone() {
  return '1' + pick(['3', '4', '5', '6', '7', '8', '9']) + digits(9);
}
function phoneWritten() {
  const p = phone();
  return pick([
    p,
    p,
    p,
    `${p.slice(0, 3)} ${p.slice(3, 7)} ${p.slice(7)}`,
    `${p.slice(0, 3)}-${p.slice(3, 7)}-${p.slice(7)}`,
    `+86 ${p}`,
    `+86${p}`,
    `+86-${p.slice(0, 3)}-${p.slice(3, 7)}-${p.slice(7)}`,
    `0086 ${p}`,
    `(+86) ${p}`.replace('(+86) ', '+86 '),
  ]);
}
const names = [
  'zhangsan',
  'li.wei',
  'wang_fang',
  'liuyang88',
  'chen.jing',
  'zhao_lei',
  'sunli',
  'zhouxun2020',
  'wu.hao',
  'xu_ming',
  'Hu.Jun',
  'gaoyuan',
  'LinTao',
  'he.yan',
  'ma_chao',
  'luo.qi',
  'song.jia',
  'tangyi',
  'han.mei',
  'feng_xiao',
];
const domains = [
  'example.com',
  'qq.com',
  '163.com',
  '126.com',
  'sina.com',
  'gmail.com',
  'company.com.cn',
  'mail.shiftdesk.cn',
  'foxmail.com',
  'outlook.com',
];
const email = () => `${pick(names)}${rnd() < 0.3 ? digits(2) : ''}@${pick(domains)}`;

const out = [];
const add = (text, types) => out.push({ text, types: [...new Set(types)].sort() });

const phoneT = [
  '我的手机号是{}，麻烦尽快联系我。',
  '请打我电话{}',
  '联系电话：{}（工作日）',
  '手机{}，收件人张先生',
  '你们客服打{}找我就行',
  '换了新号码{}，旧号不用了',
  '麻烦回拨{}，谢谢！',
  '如果没人接请发短信到{}',
  '我老婆的电话是 {} 也可以',
  '快递员打的是{}这个号吗？',
  '号码：{}。',
  '{} 是我的微信同号',
  '紧急联系人 王女士 {}',
  '下单时留的电话{}写错了',
  '请把验证码发到{}上',
];
const idT = [
  '我的身份证号是{}',
  '身份证：{}，请帮我核实实名',
  '实名认证填的是{}，一直失败',
  '证件号码 {} 姓名李雷',
  '帮我查一下{}这个身份证绑定了几个账号',
  '身份证号{}，请更新资料。',
  '我妈妈的身份证是 {} 能代办吗',
  '开发票要填身份证{}吗？',
  '旧身份证号{}已经换新了',
  '核验信息：{}；手机已验证',
];
const cardT = [
  '退款请打到我的银行卡{}',
  '卡号：{}，户名王芳',
  '我用{}这张卡付的款',
  '银行卡 {} 被扣了两次钱',
  '请确认尾号对应的卡号{}',
  '绑定的储蓄卡是{}。',
  '信用卡{}还款失败了',
  '把钱退回到 {} 谢谢',
  '工资卡{}能绑定吗？',
  '{} 这张卡可以用吗',
];
const emailT = [
  '我的邮箱是{}',
  '发票请发到{}，谢谢',
  '请把合同寄到 {} 这个邮箱',
  '联系邮箱：{}。',
  '回复我邮件{}就好',
  '注册用的邮箱{}收不到验证码',
  '抄送给{}吧',
  '{} 是我们公司的对接邮箱',
  '请用{}联系我',
  '邮件地址改成{}了',
];
const fill = (t, v) => t.replace('{}', v);

for (let i = 0; i < 65; i++) add(fill(phoneT[i % phoneT.length], phoneWritten()), ['PHONE']);
for (let i = 0; i < 40; i++) {
  let v = id18();
  if (i % 8 === 3) v = v.replace('X', 'x');
  if (i % 10 === 7) v = `${v.slice(0, 6)} ${v.slice(6, 14)} ${v.slice(14)}`;
  add(fill(idT[i % idT.length], v), ['ID_CARD']);
}
// Make sure X check digits appear.
let xs = 0;
while (xs < 6) {
  const v = id18();
  if (v.endsWith('X')) {
    add(fill(pick(idT), v), ['ID_CARD']);
    xs++;
  }
}
for (let i = 0; i < 12; i++)
  add(fill(pick(['老身份证号{}', '一代身份证{}还能用吗', '15位的身份证{}怎么升级', '身份证（旧）：{}']), id15()), ['ID_CARD']);
for (let i = 0; i < 55; i++) {
  const len = [16, 16, 19, 19, 17, 18][i % 6];
  const c = card(len);
  const written = i % 3 === 0 ? group(c, ' ') : i % 5 === 1 ? group(c, '-') : c;
  add(fill(cardT[i % cardT.length], written), ['BANK_CARD']);
}
for (let i = 0; i < 45; i++) add(fill(emailT[i % emailT.length], email()), ['EMAIL']);
// Several kinds in one text.
for (let i = 0; i < 25; i++) {
  const parts = [];
  const types = [];
  if (i % 2 === 0) {
    parts.push(`电话${phoneWritten()}`);
    types.push('PHONE');
  }
  if (i % 3 !== 2) {
    parts.push(`身份证${id18()}`);
    types.push('ID_CARD');
  }
  if (i % 4 !== 3) {
    parts.push(`卡号${card(19)}`);
    types.push('BANK_CARD');
  }
  if (i % 5 < 2 || !types.length) {
    parts.push(`邮箱${email()}`);
    types.push('EMAIL');
  }
  add(`我的信息：${parts.join('，')}，请核对。`, types);
}

// Hard negatives: digit runs that look like personal data and fail its checks.
const neg = (t) => add(t, []);
for (let i = 0; i < 15; i++)
  neg(
    fill(
      pick(['订单号{}还没发货', '我的订单{}显示已签收但没收到', '订单编号：{}', '退款单号{}进度怎么样', '交易流水号 {} 请查一下']),
      '2026' + pad(1 + (i % 12), 2) + digits(10 + (i % 4)),
    ),
  );
for (let i = 0; i < 6; i++) neg(fill(pick(['订单号 DD{}', '单号SO{}已取消', '工单 TK{} 处理中']), phone()));
for (let i = 0; i < 15; i++) {
  const v = id18();
  const last = v[17] === 'X' ? '0' : v[17] === '9' ? 'X' : String(Number(v[17]) + 1);
  neg(fill(pick(idT), v.slice(0, 17) + last));
}
for (let i = 0; i < 8; i++) {
  // Right check digit, impossible birth date (30 February, month 13) or a future year.
  const bad = [
    `${pick(areas)}19900230${digits(3)}`,
    `${pick(areas)}19851301${digits(3)}`,
    `${pick(areas)}20990101${digits(3)}`,
    `${pick(areas)}18000101${digits(3)}`,
  ][i % 4];
  neg(fill(pick(idT), bad + idCheck(bad)));
}
for (let i = 0; i < 15; i++) {
  const c = badCard([16, 19, 17, 18][i % 4]);
  neg(fill(pick(cardT), i % 3 === 0 ? group(c, ' ') : c));
}
const dates = ['2026-12-03', '2026年12月3日', '2026/12/03 14:05:09', '2026-12-03T06:05:09Z', '20261203', '2026-12-03 14:05:09.123'];
for (let i = 0; i < 12; i++)
  neg(fill(pick(['我是{}下的单', '{}之前能到吗？', '预约时间{}', '系统显示{}已发货', '{} 那天扣的款']), dates[i % dates.length]));
for (let i = 0; i < 4; i++) neg(`时间戳 ${1733000000000 + Math.floor(rnd() * 99999999)} 的日志报错了`);
const prices = ['¥1,380.00', '13800元', '1380.50 元', '￥19,999', '一共138.88元', '¥12,345,678.90', '退了 88888.00', '3999元的那款'];
for (let i = 0; i < 12; i++) neg(fill(pick(['价格是{}吗', '我付了{}', '这个{}太贵了', '优惠后{}，对吗']), prices[i % prices.length]));
for (let i = 0; i < 10; i++)
  neg(
    fill(
      pick(['座机{}', '请拨打客服热线{}', '公司电话 {}', '传真：{}']),
      ['010-12345678', '400-800-8888', '021 6888 8888', '0755-86012345', '95588', '12315', '400 820 8820'][i % 7],
    ),
  );
for (let i = 0; i < 8; i++)
  neg(
    fill(
      pick(['号码{}是不是少了一位', '这个{}打不通', '手机号{}开头不对']),
      pick(['1381234567', '12812345678', '138123456789', '10012345678', '2381234567']),
    ),
  );
for (let i = 0; i < 8; i++)
  neg(
    fill(
      pick(['快递单号{}', '运单号：{}', '物流单号 {} 一直没更新']),
      pick(['SF' + digits(12), '773' + digits(12).replace(/^/, ''), 'YT' + digits(13), 'JD' + digits(13), '9' + digits(11)]),
    ),
  );
for (let i = 0; i < 6; i++)
  neg(
    fill(
      pick(['@客服小王 {}', '微博{}', '群里{}']),
      pick(['帮我看看', '@张三 说的那个问题', '邮箱写的是 zhangsan at qq dot com', '@全体成员 注意']),
    ),
  );
for (let i = 0; i < 6; i++)
  neg(
    fill(
      pick(['产品型号{}', '序列号 {}', '批次号{}']),
      pick(['SN' + digits(16), 'X' + digits(18), 'A1B2' + digits(14), digits(4) + '-' + digits(4)]),
    ),
  );
for (let i = 0; i < 6; i++)
  neg(
    pick([
      '你好，我的快递到哪了？',
      '能不能开发票？',
      '这个价格太贵了，可以便宜点吗',
      '客服在吗？我想退货',
      '版本号 2.13.8 闪退',
      '第 138 期活动什么时候开始',
    ]),
  );

if (out.length < 300) throw new Error(`only ${out.length}`);
process.stdout.write(
  JSON.stringify(
    {
      $comment:
        'Labelled test corpus for the personal-data detector (npm run bench -- pii, test/records/pii-corpus.test.ts). Each text lists the types it contains; the numbers are made up (valid checksums where labelled, failing ones in the negatives).',
      texts: out,
    },
    null,
    1,
  ) + '\n',
);
console.error(out.length, 'texts', out.filter((o) => !o.types.length).length, 'negatives');
