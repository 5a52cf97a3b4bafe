import type { Locale } from './locales';

/**
 * System texts written into a customer's conversation or ticket (part of the catalogue, see catalogue.ts):
 * rendered in the customer's language when stored, and read the same by the customer and the agents.
 */
export const CHAT_MESSAGES = {
  'chat.idleWarning': {
    en: 'You have not replied for a while; the conversation will end automatically in {seconds} seconds.',
    'zh-CN': '您已经有一段时间没有回复了，会话将在 {seconds} 秒后自动结束。',
  },
  'chat.idleEnded': {
    en: 'As you have not replied for a long time, the conversation has ended. You are welcome to ask again at any time.',
    'zh-CN': '由于您长时间没有回复，会话已自动结束。如还需帮助，欢迎随时再次咨询。',
  },
  'chat.transferred': { en: 'The conversation was transferred from {from} to {to}.', 'zh-CN': '会话已由 {from} 转接给 {to}。' },
  'chat.transferredBy': {
    en: 'The conversation was transferred from {from} to {to} (by {by}).',
    'zh-CN': '会话已由 {from} 转接给 {to}（操作人：{by}）。',
  },
  'chat.transferNote': { en: 'Transfer note: {note}', 'zh-CN': '转接备注：{note}' },
  // the system moving a conversation: what the customer reads, and the transfer's note
  'chat.movedOffline': {
    en: 'Your agent is offline for the moment; you have been transferred to {agent}. Please wait a moment.',
    'zh-CN': '您的客服暂时离线，已为您转接至 {agent}，请稍候。',
  },
  'chat.requeuedOffline': {
    en: 'Your agent is offline for the moment; the conversation is back in the queue and the next free agent will take it first. Please wait a moment.',
    'zh-CN': '您的客服暂时离线，会话已重新排队，您将优先由下一位空闲的客服接待，请稍候。',
  },
  'chat.movedShiftEnded': {
    en: 'Your agent’s shift has ended; you have been transferred to {agent}. Please wait a moment.',
    'zh-CN': '您的客服已下班，已为您转接至 {agent}，请稍候。',
  },
  'chat.requeuedShiftEnded': {
    en: 'Your agent’s shift has ended; the conversation is back in the queue and the next free agent will take it first. Please wait a moment.',
    'zh-CN': '您的客服已下班，会话已重新排队，您将优先由下一位空闲的客服接待，请稍候。',
  },
  'chat.movedNoFirstReply': {
    en: 'Sorry to keep you waiting; you have been transferred to {agent}. Please wait a moment.',
    'zh-CN': '抱歉让您久等了，已为您转接至 {agent}，请稍候。',
  },
  'chat.noteOffline': {
    en: '{agent} was offline for more than {seconds} seconds; the system transferred the conversation',
    'zh-CN': '{agent} 离线超过 {seconds} 秒，系统自动转移会话',
  },
  'chat.noteShiftEnded': {
    en: 'The shift of {agent} ended more than {seconds} seconds ago; the system handed the conversation over',
    'zh-CN': '{agent} 的班次已结束超过 {seconds} 秒，系统自动转交会话',
  },
  'chat.noteNoFirstReply': {
    en: '{agent} did not answer the customer within {seconds} seconds; the system transferred the conversation',
    'zh-CN': '{agent} {seconds} 秒内没有回复客户，系统自动转接',
  },
  // the summary a new agent reads, and transcripts
  'chat.summaryEmpty': { en: '(no messages yet)', 'zh-CN': '（还没有消息）' },
  'chat.summaryLatest': { en: 'The latest {count} message(s):', 'zh-CN': '最近 {count} 条消息：' },
  'chat.systemSender': { en: 'System', 'zh-CN': '系统' },
  // auto-answers (conversations and tickets) and tickets made by the system
  'chat.autoAnswerQuestion': { en: 'Did this answer solve your problem?', 'zh-CN': '这个回答解决您的问题了吗？' },
  'ticket.resolvedByFaq': {
    en: 'The customer confirmed that the answer of the FAQ “{question}” solved the problem.',
    'zh-CN': '客户确认常见问题“{question}”的回答已解决问题。',
  },
  'ticket.fromConversationSubject': { en: '{topic}: {words}', 'zh-CN': '{topic}：{words}' },
  'ticket.fromConversationUntitled': { en: 'Ticket from a conversation', 'zh-CN': '会话转工单' },
  'account.forgottenName': { en: 'Deleted user', 'zh-CN': '已注销用户' },
} as const satisfies Record<string, Record<Locale, string>>;
