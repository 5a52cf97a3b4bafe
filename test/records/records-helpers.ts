import { randomUUID } from 'node:crypto';
import type { TestApp } from '../support/harness';

export interface SeedMessage {
  content: string;
  role?: 'CUSTOMER' | 'AGENT';
  piiTypes?: string[];
}

export interface SeedConversation {
  customerId: string;
  agentId?: string | null;
  departmentId?: string | null;
  createdAt?: Date;
  endedAt?: Date | null;
  status?: 'ENDED' | 'ACTIVE';
  rating?: number | null;
  priority?: 'URGENT' | 'HIGH' | 'NORMAL' | 'LOW';
  intent?: string | null;
  messages?: SeedMessage[];
}

const RANK = { URGENT: 0, HIGH: 1, NORMAL: 2, LOW: 3 };

export const sqlOf =
  (app: TestApp) =>
  <T = Record<string, any>>(q: string, params: unknown[] = []): Promise<T[]> =>
    app.services.orm.em.fork().execute<T[]>(q, params);

/** A conversation and its messages written straight into the live tables, as chats would have left them. */
export async function seedConversation(app: TestApp, c: SeedConversation): Promise<string> {
  const sql = sqlOf(app);
  const id = randomUUID();
  const createdAt = c.createdAt ?? new Date();
  const status = c.status ?? 'ENDED';
  const endedAt = status === 'ENDED' ? (c.endedAt ?? new Date(createdAt.getTime() + 600_000)) : null;
  const messages = c.messages ?? [{ content: '你好' }];
  const priority = c.priority ?? 'NORMAL';
  await sql(
    `INSERT INTO conversations (id, customer_id, agent_id, department_id, topic, status, priority, priority_rank, created_at, queued_at,
                                assigned_at, ended_at, end_reason, last_seq, rating, intent)
     VALUES (?, ?, ?, ?, 'general', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      id,
      c.customerId,
      c.agentId ?? null,
      c.departmentId ?? null,
      status,
      priority,
      RANK[priority],
      createdAt,
      createdAt,
      c.agentId ? createdAt : null,
      endedAt,
      endedAt ? 'AGENT' : null,
      messages.length,
      c.rating ?? null,
      c.intent ?? null,
    ],
  );
  let seq = 0;
  for (const m of messages) {
    seq++;
    const sender = m.role === 'AGENT' ? c.agentId : c.customerId;
    await sql(
      `INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, content, created_at, pii_types) VALUES (?, ?, ?, ?, ?, ?, ?, ?::text[])`,
      [
        randomUUID(),
        id,
        seq,
        sender,
        m.role ?? 'CUSTOMER',
        m.content,
        new Date(createdAt.getTime() + seq * 1000),
        `{${(m.piiTypes ?? []).join(',')}}`,
      ],
    );
  }
  return id;
}

export const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
