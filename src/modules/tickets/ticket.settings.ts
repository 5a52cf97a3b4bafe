import { PRIORITY_RANK, ServicePriority } from '../conversations/queue-policy';
import { BusinessCalendar, parseCalendar } from './sla';

/** Minutes allowed for the first response and for the resolution of a ticket of one priority. */
export interface SlaTarget {
  firstResponseMinutes: number;
  resolutionMinutes: number;
}

export type SlaPolicy = Readonly<Record<ServicePriority, SlaTarget>>;

/** The reference system's targets: urgent 5 min / 1 h, high 30 min / 4 h, normal 1 h / 24 h, low 2 h / 48 h. */
export const DEFAULT_SLA: SlaPolicy = Object.freeze({
  [ServicePriority.URGENT]: { firstResponseMinutes: 5, resolutionMinutes: 60 },
  [ServicePriority.HIGH]: { firstResponseMinutes: 30, resolutionMinutes: 240 },
  [ServicePriority.NORMAL]: { firstResponseMinutes: 60, resolutionMinutes: 1440 },
  [ServicePriority.LOW]: { firstResponseMinutes: 120, resolutionMinutes: 2880 },
});

/** The department code of categories whose own department does not exist. */
export const GENERAL_DEPARTMENT = 'general';

/** Category → department code. */
export const DEFAULT_TICKET_CATEGORIES: Readonly<Record<string, string>> = Object.freeze({
  产品咨询: 'sales',
  技术支持: 'technical',
  订单问题: 'order',
  售后服务: 'after_sales',
  投诉建议: 'complaints',
  账户问题: 'account',
  其他: GENERAL_DEPARTMENT,
});

export interface TicketSettings {
  categories: Readonly<Record<string, string>>;
  sla: SlaPolicy;
  /** Null: SLA minutes are wall-clock minutes (24×7). */
  calendar: BusinessCalendar | null;
  reopenWindowDays: number;
  /** Open tickets (ASSIGNED, IN_PROGRESS, REOPENED) one agent holds at most. */
  agentLimit: number;
  /** How often the SLA sweep (warnings, breaches, queue drain) runs. */
  sweepEveryMs: number;
}

/** The share of the allowed time after which a ticket is "at risk" and its owners are warned. */
export const NEAR_BREACH_SHARE = 0.8;

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`, { cause: err });
  }
}

const CODE = /^[a-z0-9_-]{1,50}$/;

/** TICKET_CATEGORIES: `{"技术支持": "technical", …}`; empty: the built-in map. */
export function parseTicketCategories(json: string): Readonly<Record<string, string>> {
  if (!json.trim()) return DEFAULT_TICKET_CATEGORIES;
  const raw = parseJson(json);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('must be a JSON object {"category": "department code"}');
  const out: Record<string, string> = {};
  for (const [category, code] of Object.entries(raw as Record<string, unknown>)) {
    const name = category.trim();
    if (!name || name.length > 50) throw new Error(`category "${category}" must be 1 to 50 characters`);
    if (typeof code !== 'string' || !CODE.test(code))
      throw new Error(`category "${category}": the department code must be 1–50 of a-z 0-9 _ -`);
    out[name] = code;
  }
  if (Object.keys(out).length === 0) throw new Error('names no category');
  return Object.freeze(out);
}

/**
 * TICKET_SLA: `{"urgent": {"firstResponse": 5, "resolution": 60}, …}` in minutes; priorities (any case)
 * left out keep their defaults. The first response must not be due after the resolution.
 */
export function parseSlaPolicy(json: string): SlaPolicy {
  if (!json.trim()) return DEFAULT_SLA;
  const raw = parseJson(json);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error('must be a JSON object {"urgent": {"firstResponse": 5, "resolution": 60}, …}');
  const out: Record<ServicePriority, SlaTarget> = { ...DEFAULT_SLA };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const priority = key.toUpperCase() as ServicePriority;
    if (!(priority in PRIORITY_RANK)) throw new Error(`unknown priority "${key}" (urgent, high, normal, low)`);
    if (!value || typeof value !== 'object') throw new Error(`${key} must be {"firstResponse": minutes, "resolution": minutes}`);
    const v = value as Record<string, unknown>;
    const minutes = (field: string, fallback: number): number => {
      const n = v[field] ?? fallback;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 525_600)
        throw new Error(`${key}.${field} must be whole minutes from 1 to 525600`);
      return n;
    };
    const target = {
      firstResponseMinutes: minutes('firstResponse', out[priority].firstResponseMinutes),
      resolutionMinutes: minutes('resolution', out[priority].resolutionMinutes),
    };
    if (target.firstResponseMinutes > target.resolutionMinutes)
      throw new Error(`${key}: the first response must not be due after the resolution`);
    out[priority] = target;
  }
  return Object.freeze(out);
}

/** TICKET_BUSINESS_HOURS: a calendar (see parseCalendar), or empty for 24×7. */
export function parseBusinessHours(json: string, defaultZone: string): BusinessCalendar | null {
  if (!json.trim()) return null;
  return parseCalendar(parseJson(json), defaultZone);
}
