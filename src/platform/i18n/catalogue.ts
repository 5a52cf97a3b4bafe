import { CHAT_MESSAGES } from './chat-messages';
import { ENTITY_NAMES } from './entity-names';
import type { Locale } from './locales';
import { NOTIFICATION_MESSAGES } from './notification-messages';
import { TRANSCRIPT_MESSAGES } from './transcript-messages';

/**
 * Every human-readable text ShiftDesk composes, by message id, in each supported locale. `{name}` is filled
 * from the parameters. Codes, field names and enum values are never in here: they are the same in every
 * language. Services produce a MessageRef (id + parameters); the edge renders it for the reader.
 */
const CATALOGUE = {
  /** A text that is the same in every language (a name, a plan, a comment), beside translated ones. */
  'text.verbatim': { en: '{text}', 'zh-CN': '{text}' },
  // errors (src/platform/errors.ts)
  'error.unauthenticated': { en: 'Not signed in, or the session has ended', 'zh-CN': '未登录，或会话已结束' },
  'error.forbidden': { en: 'You are not allowed to do this', 'zh-CN': '您无权执行此操作' },
  'error.notFound': { en: '{what} {id} was not found', 'zh-CN': '未找到{what} {id}' },
  'error.notFoundNoId': { en: '{what} was not found', 'zh-CN': '未找到{what}' },
  'error.rateLimited': { en: 'Too many requests; try again later', 'zh-CN': '请求过于频繁，请稍后再试' },
  'error.serviceUnavailable': { en: 'The database is not answering; try again shortly', 'zh-CN': '数据库暂时没有响应，请稍后再试' },
  'error.internal': { en: 'Internal server error', 'zh-CN': '服务器内部错误' },
  'error.invalidInput': { en: 'Invalid input', 'zh-CN': '输入无效' },
  'error.pageSize': { en: 'must be between 1 and {max}', 'zh-CN': '必须在 1 到 {max} 之间' },
  'error.notCursor': { en: 'is not a cursor of this list', 'zh-CN': '不是此列表的游标' },
  'error.notAnId': { en: 'is not an id (ids are UUIDs)', 'zh-CN': '不是有效的 id（id 为 UUID）' },
  'error.tooManyIds': { en: 'must hold at most {max} ids', 'zh-CN': '最多包含 {max} 个 id' },
  'error.unsupportedLocale': { en: 'must be one of {supported}', 'zh-CN': '必须是以下之一：{supported}' },
  'error.badIdFormat': { en: 'An argument has an invalid format (ids are UUIDs)', 'zh-CN': '参数格式无效（id 为 UUID）' },
  'error.badDateFormat': { en: 'An argument has an invalid date or time format', 'zh-CN': '参数的日期或时间格式无效' },
  'error.dateOutOfRange': { en: 'A date or time argument is out of range', 'zh-CN': '日期或时间参数超出范围' },
  'error.badCharacter': { en: 'An argument holds a character that cannot be stored', 'zh-CN': '参数包含无法存储的字符' },
  ...CHAT_MESSAGES,
  ...NOTIFICATION_MESSAGES,
  ...TRANSCRIPT_MESSAGES,
  ...ENTITY_NAMES,
} as const satisfies Record<string, Record<Locale, string>>;

export type MessageId = keyof typeof CATALOGUE;
/** A parameter is inserted as it is (a name, a date, a code), or is itself a message rendered in the same language. */
export type MessageParams = Record<string, string | number | MessageRef>;

/** A text to render later, in the reader's language. */
export interface MessageRef {
  id: MessageId;
  params?: MessageParams;
}

export function isMessageId(id: string): id is MessageId {
  return Object.prototype.hasOwnProperty.call(CATALOGUE, id);
}

/** The text of `ref` in `locale`; parameters are inserted as they are (names, dates, codes). */
export function render(ref: MessageRef, locale: Locale): string {
  const template: string = CATALOGUE[ref.id][locale];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = ref.params && name in ref.params ? ref.params[name] : undefined;
    if (value === undefined) return whole;
    return typeof value === 'object' ? render(value, locale) : String(value);
  });
}

export const messageIds = (): MessageId[] => Object.keys(CATALOGUE) as MessageId[];
