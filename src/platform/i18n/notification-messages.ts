import type { Locale } from './locales';

/**
 * Notifications' titles and bodies (part of the catalogue, see catalogue.ts). Stored as message ids and
 * parameters and rendered when read or pushed, in the reader's language; `kind` and ids stay as they are.
 */
export const NOTIFICATION_MESSAGES = {
  'notification.leaveApproved.title': { en: 'Leave approved', 'zh-CN': '休假已批准' },
  'notification.leaveRejected.title': { en: 'Leave not approved', 'zh-CN': '休假未获批准' },
  'notification.leaveCancelled.title': { en: 'Leave cancelled', 'zh-CN': '休假已被取消' },
  'notification.leaveDecided.body': { en: '{period}: {status}{comment}', 'zh-CN': '{period}：{status}{comment}' },
  'notification.leaveRequested.title': { en: '{name} asks for {days} day(s) of leave', 'zh-CN': '{name} 申请休假 {days} 天' },
  'notification.swapRequested.title': { en: 'New shift swap request', 'zh-CN': '新的换班申请' },
  'notification.swapApproved.title': { en: 'Shift swap approved', 'zh-CN': '换班已批准' },
  'notification.swapRejected.title': { en: 'Shift swap not approved', 'zh-CN': '换班未获批准' },
  'notification.swapCancelled.title': { en: 'Shift swap request withdrawn', 'zh-CN': '换班申请已撤回' },
  'notification.erasureRequested.title': {
    en: 'A customer asks for their personal data to be erased',
    'zh-CN': '客户申请删除个人信息',
  },
  'notification.erasureRequested.body': {
    en: 'Customer {customerId} asks for their personal data to be erased\n(forgetCustomer(userId: "{customerId}", reason: …))',
    'zh-CN': '客户 {customerId} 申请删除其个人信息\n(forgetCustomer(userId: "{customerId}", reason: …))',
  },
  'notification.erasureRequestedWithReason.body': {
    en: 'Customer {customerId} asks for their personal data to be erased: {reason}\n(forgetCustomer(userId: "{customerId}", reason: …))',
    'zh-CN': '客户 {customerId} 申请删除其个人信息：{reason}\n(forgetCustomer(userId: "{customerId}", reason: …))',
  },
  'notification.shiftHandover.title': { en: 'Shift over: conversations handed over', 'zh-CN': '班次已结束，会话已转交' },
  'notification.shiftHandover.body': {
    en: 'Your shift ended more than {seconds} seconds ago: {moved} conversation(s) handed to colleagues, {requeued} put back in the queue.',
    'zh-CN': '您的班次已结束超过 {seconds} 秒：{moved} 个会话已转交给同事，{requeued} 个会话已重新排队。',
  },
  'notification.noFirstReply.title': { en: 'No timely reply from the agent: {topic}', 'zh-CN': '客服未及时回复：{topic}' },
  'notification.noFirstReplyMoved.body': {
    en: '{agent} did not answer the customer’s first message within {seconds} seconds; the conversation was transferred to {to}.\n(conversation {id})',
    'zh-CN': '{agent} 在 {seconds} 秒内没有回复客户的第一条消息，会话已转接给 {to}。\n(会话 {id})',
  },
  'notification.noFirstReplyStayed.body': {
    en: '{agent} did not answer the customer’s first message within {seconds} seconds; no other agent is free, so it stays with them.\n(conversation {id})',
    'zh-CN': '{agent} 在 {seconds} 秒内没有回复客户的第一条消息，暂无其他可接待的客服，会话仍由其处理。\n(会话 {id})',
  },
  'notification.negativeConversation.title': { en: 'Strongly negative request: {topic}', 'zh-CN': '情绪强烈的咨询：{topic}' },
  'notification.negativeConversation.body': { en: '{excerpt}\n(conversation {id})', 'zh-CN': '{excerpt}\n(会话 {id})' },
  'notification.negativeTicket.title': { en: 'Strongly negative ticket: {subject}', 'zh-CN': '情绪强烈的工单：{subject}' },
  'notification.negativeTicket.body': { en: '{excerpt}\n(ticket {id})', 'zh-CN': '{excerpt}\n(工单 {id})' },
  'notification.webhookDisabled.title': { en: 'Webhook disabled', 'zh-CN': 'Webhook 已停用' },
  'notification.webhookDisabled.body': {
    en: '{url}: every delivery failed for {duration}. Fix the receiver, then updateWebhook(enabled: true).',
    'zh-CN': '{url}：所有投递已连续失败 {duration}。请修复接收端，然后调用 updateWebhook(enabled: true)。',
  },
  // alerts: the body is the alert's summary, its metric and place in the reader's language
  'notification.alert.body': {
    en: '{rule}: {metric} is {value} ({op} {threshold}) {where}',
    'zh-CN': '{rule}：{metric}为 {value}（{op} {threshold}），{where}',
  },
  // what DingTalk / WeCom robots show below the summary (in ALERT_LOCALE)
  'alert.push.value': { en: 'value: {value} (threshold {threshold})', 'zh-CN': '当前值：{value}（阈值 {threshold}）' },
  'alert.push.opened': { en: 'opened: {openedAt}', 'zh-CN': '开始时间：{openedAt}' },
  // Webhook.disabledReason, rendered when read
  'webhook.disabledByHand': { en: 'disabled by hand', 'zh-CN': '已手动停用' },
  'webhook.disabledFailing': { en: 'every delivery failed for {duration}', 'zh-CN': '所有投递已连续失败 {duration}' },
  'alert.inDepartment': { en: 'in {department}', 'zh-CN': '部门：{department}' },
  'alert.inCluster': { en: 'in the cluster', 'zh-CN': '范围：整个集群' },
  'alert.metric.queue_length': { en: 'customers waiting in the queue', 'zh-CN': '排队等待的客户数' },
  'alert.metric.avg_first_response_seconds': {
    en: 'average first response over the last 15 minutes (s)',
    'zh-CN': '最近 15 分钟的平均首次响应时间（秒）',
  },
  'alert.metric.satisfaction': { en: 'average rating over the last 24 hours (1–5)', 'zh-CN': '最近 24 小时的平均评分（1–5）' },
  'alert.metric.utilisation': {
    en: 'open chats ÷ seats of available on-shift agents (0–1)',
    'zh-CN': '进行中的会话数 ÷ 在班且空闲坐席的接待上限（0–1）',
  },
  'alert.metric.on_shift_offline_seconds': {
    en: 'longest time an agent on shift now has been offline (s)',
    'zh-CN': '当前在班坐席的最长离线时间（秒）',
  },
  'alert.metric.sla_breaches_per_hour': { en: 'ticket SLA breaches in the last hour', 'zh-CN': '最近一小时的工单 SLA 超时数' },
  'alert.metric.error_rate': {
    en: 'share of GraphQL operations that failed unexpectedly since the last evaluation (this process)',
    'zh-CN': '自上次评估以来意外失败的 GraphQL 操作占比（本进程）',
  },
  // tickets
  'notification.ticketAssigned.title': { en: 'New ticket ({priority}): {subject}', 'zh-CN': '新工单（{priority}）：{subject}' },
  'notification.ticketAssigned.body': {
    en: '{category} · first response due {firstResponseDue} · resolution due {resolutionDue}',
    'zh-CN': '{category} · 首次响应截止 {firstResponseDue} · 解决截止 {resolutionDue}',
  },
  'notification.ticketEscalated.title': { en: 'Ticket escalated to {priority}: {subject}', 'zh-CN': '工单升级为 {priority}：{subject}' },
  'notification.ticketEscalated.body': { en: '{reason} (resolution due {due})', 'zh-CN': '{reason}（解决截止 {due}）' },
  'notification.ticketResolved.title': { en: 'Ticket resolved: {subject}', 'zh-CN': '工单已解决：{subject}' },
  'notification.ticketReopened.title': { en: 'Ticket reopened: {subject}', 'zh-CN': '工单被重新打开：{subject}' },
  'notification.ticketResolvedByFaq.title': { en: 'Ticket resolved by an FAQ: {subject}', 'zh-CN': '工单已由常见问题解决：{subject}' },
  'notification.slaBreached.title': { en: 'Ticket overdue ({deadline}): {subject}', 'zh-CN': '工单已超时（{deadline}）：{subject}' },
  'notification.slaWarning.title': { en: 'Ticket due soon ({deadline}): {subject}', 'zh-CN': '工单即将超时（{deadline}）：{subject}' },
  'notification.sla.body': { en: '{priority} · {deadline} due {due} · {kind}', 'zh-CN': '{priority} · {deadline}截止 {due} · {kind}' },
  'ticket.deadline.firstResponse': { en: 'first response', 'zh-CN': '首次响应' },
  'ticket.deadline.resolution': { en: 'resolution', 'zh-CN': '解决' },
} as const satisfies Record<string, Record<Locale, string>>;
