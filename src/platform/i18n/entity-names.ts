import type { Locale } from './locales';

/**
 * What a NOT_FOUND error names (`new NotFound('Ticket', id)`), in the reader's language (part of the catalogue,
 * see catalogue.ts): `entity.<the name as the code writes it>`, in English as written. A name without an entry is
 * shown as written (test/i18n/catalogue.test.ts checks that every name thrown has one).
 */
export const ENTITY_NAMES = {
  'entity.Agent': { en: 'Agent', 'zh-CN': '坐席' },
  'entity.Alert': { en: 'Alert', 'zh-CN': '告警' },
  'entity.API key': { en: 'API key', 'zh-CN': 'API 密钥' },
  'entity.Comment': { en: 'Comment', 'zh-CN': '评论' },
  'entity.Conversation': { en: 'Conversation', 'zh-CN': '会话' },
  'entity.Department': { en: 'Department', 'zh-CN': '部门' },
  'entity.Export': { en: 'Export', 'zh-CN': '导出任务' },
  'entity.FAQ': { en: 'FAQ', 'zh-CN': '常见问题' },
  'entity.FAQ phrasing': { en: 'FAQ phrasing', 'zh-CN': '相似问法' },
  'entity.Forecast override': { en: 'Forecast override', 'zh-CN': '预测调整' },
  'entity.Leave request': { en: 'Leave request', 'zh-CN': '请假申请' },
  'entity.LeaveRequest': { en: 'LeaveRequest', 'zh-CN': '请假申请' },
  'entity.Message': { en: 'Message', 'zh-CN': '消息' },
  'entity.Notification': { en: 'Notification', 'zh-CN': '通知' },
  'entity.Quick reply': { en: 'Quick reply', 'zh-CN': '快捷回复' },
  'entity.Schedule': { en: 'Schedule', 'zh-CN': '排班' },
  'entity.Schedule proposal': { en: 'Schedule proposal', 'zh-CN': '排班方案' },
  'entity.Shift': { en: 'Shift', 'zh-CN': '班次' },
  'entity.Swap request': { en: 'Swap request', 'zh-CN': '换班申请' },
  'entity.Ticket': { en: 'Ticket', 'zh-CN': '工单' },
  'entity.TicketComment': { en: 'TicketComment', 'zh-CN': '工单评论' },
  'entity.User': { en: 'User', 'zh-CN': '用户' },
  'entity.Waiting request': { en: 'Waiting request', 'zh-CN': '排队请求' },
  'entity.Webhook': { en: 'Webhook', 'zh-CN': 'Webhook' },
  'entity.WebhookDelivery': { en: 'WebhookDelivery', 'zh-CN': 'Webhook 投递记录' },
} as const satisfies Record<string, Record<Locale, string>>;
