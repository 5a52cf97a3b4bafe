import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from '../../src/platform/i18n/catalogue';
import { CHINESE_DATA_FILES, scanMessageTexts, scanSource } from './message-text-scan';

const root = join(__dirname, '..', '..');

describe('notifications and system messages come from the catalogue', () => {
  it('src/ holds no Chinese literal outside the catalogue and the data files, and no literal title, body, system message, page label or stored reason', () => {
    expect(scanMessageTexts(root)).toEqual([]);
  });

  it('the scan fails on a new Chinese-only or English-only text (the scanner itself still works)', () => {
    const code = `
      export async function example(em, c, notifications, chat, afterCommit, who: string) {
        notifications.notify(em, afterCommit, { userId: who, kind: 'X', title: \`工单已关闭：\${who}\`, body: 'Closed by the system' });
        notifications.notify(em, afterCommit, { userId: who, kind: 'X', title: { id: 'notification.ticketResolved.title' }, body: who });
        chat.systemMessage(em, c, who ? 'Your agent left' : \`\${who}\`, afterCommit);
        const label = '未分类';
        const page = \`<h1>\${who}</h1><th>Time (UTC)</th>\`;
        Object.assign(c, { disabledReason: 'disabled by hand' });
        return { description: 'e.g. 技术支持', label, page };
      }`;
    expect(scanSource('src/modules/example/example.service.ts', code).map((t) => [t.why, t.text])).toEqual([
      ['literal-notification', '工单已关闭：{}'],
      ['literal-notification', 'Closed by the system'],
      ['chinese-literal', '工单已关闭：{}'],
      ['literal-system-message', 'Your agent left'],
      ['chinese-literal', '未分类'],
      ['literal-page-text', '<h1>{}</h1><th>Time (UTC)</th>'],
      ['literal-stored-text', 'disabled by hand'],
    ]);
  });

  it('each data file of the allow-list still holds Chinese (an entry left behind would let texts slip in)', () => {
    for (const path of Object.keys(CHINESE_DATA_FILES)) {
      expect({ path, chinese: /[\u4e00-\u9fff]/.test(readFileSync(join(root, path), 'utf8')) }).toEqual({ path, chinese: true });
    }
  });

  it('a message given as a parameter is rendered in the same language', () => {
    const ref = {
      id: 'notification.slaBreached.title',
      params: { deadline: { id: 'ticket.deadline.firstResponse' }, subject: '退款' },
    } as const;
    expect(render(ref, 'en')).toBe('Ticket overdue (first response): 退款');
    expect(render(ref, 'zh-CN')).toBe('工单已超时（首次响应）：退款');
  });
});
