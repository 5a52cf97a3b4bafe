import type { Locale } from './locales';

/**
 * The labels of a conversation's printable transcript (GET /conversations/:id/transcript; part of the catalogue,
 * see catalogue.ts), in the reader's language. Values (ids, statuses, times, names, messages) stay as they are.
 */
export const TRANSCRIPT_MESSAGES = {
  'transcript.title': { en: 'Transcript {id}', 'zh-CN': '会话记录 {id}' },
  'transcript.heading': { en: 'Conversation transcript', 'zh-CN': '会话记录' },
  'transcript.conversation': { en: 'Conversation', 'zh-CN': '会话' },
  'transcript.topic': { en: 'Topic', 'zh-CN': '主题' },
  'transcript.customer': { en: 'Customer', 'zh-CN': '客户' },
  'transcript.agent': { en: 'Agent', 'zh-CN': '客服' },
  'transcript.status': { en: 'Status', 'zh-CN': '状态' },
  'transcript.archived': { en: '{status} (archived)', 'zh-CN': '{status}（已归档）' },
  'transcript.created': { en: 'Created', 'zh-CN': '创建时间' },
  'transcript.ended': { en: 'Ended', 'zh-CN': '结束时间' },
  'transcript.rating': { en: 'Rating', 'zh-CN': '评分' },
  'transcript.time': { en: 'Time (UTC)', 'zh-CN': '时间（UTC）' },
  'transcript.from': { en: 'From', 'zh-CN': '发送人' },
  'transcript.message': { en: 'Message', 'zh-CN': '消息' },
} as const satisfies Record<string, Record<Locale, string>>;
