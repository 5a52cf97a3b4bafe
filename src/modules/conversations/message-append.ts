import type { Viewer } from '../../platform/auth/roles';
import { PreparedStatement, PreparedStatements } from '../../platform/db/prepared';
import { violatedConstraint } from '../../platform/db/transaction';
import type { ProtectedText } from '../records/text-protector';
import { GroupCommit } from './group-commit';

/** One message to append: its id and time are chosen by the caller, its seq by the database. */
export interface AppendRequest {
  sender: Viewer;
  conversationId: string;
  id: string;
  clientMessageId: string;
  stored: ProtectedText;
  at: Date;
}

/** Appended, with its seq and the conversation's agent; null: not appended (a repeat or a refused send). */
export type AppendResult = { seq: number; agentId: string | null } | null;

type Outcome = { ok: true; value: AppendResult } | { ok: false; error: unknown };

/**
 * The common send, for many messages in one statement, committed when it returns: the database function
 * `chat_append_messages` (migration chat_append_planned_once says what it does and why it is a function: its
 * plan is made once per connection). For each message it takes the conversation's row lock and the next seq,
 * and stores the message, only when its sender may write now and its clientMessageId is new to this sender;
 * otherwise that row changes nothing and returns nothing. A row of `conversations` is updated at most once
 * per statement, so a batch holds at most one message per conversation (see `rounds`). A concurrent twin of
 * the same clientMessageId violates the unique index and rolls the whole statement back.
 * Arrays, one element per message: $1 sender, $2 time, $3 conversation, $4 clientMessageId, $5 message id,
 * $6 sender role, $7 content (masked when $9 is set), $8 kinds of personal data (comma-joined),
 * $9 the sealed original (NULL when the content held none).
 */
const APPEND_MESSAGES: PreparedStatement = {
  name: 'chat_append_messages_v5',
  text: `SELECT id, seq, agent_id
           FROM chat_append_messages($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::uuid[], $6::user_role[], $7::text[], $8::text[], $9::bytea[])`,
};

/**
 * Group commit of the common send: the messages that arrive while a statement runs go together in the next
 * one, so PostgreSQL parses, plans, locks and commits (one WAL flush) once per batch instead of per message.
 * Under a light load a batch is a single message and costs what the one-message statement did.
 */
export class MessageAppender {
  private readonly batches: GroupCommit<AppendRequest, Outcome>;

  constructor(
    private readonly statements: PreparedStatements,
    /** CHAT_APPEND_WINDOW_MS: how long a batch waits for more after its first message. */
    windowMs: number,
    maxBatch = 200,
  ) {
    this.batches = new GroupCommit((items) => this.appendAll(items), { windowMs, maxBatch });
  }

  async append(request: AppendRequest): Promise<AppendResult> {
    const outcome = await this.batches.submit(request);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /**
   * Never throws: what was committed must be reported as such (and then published), so a failure is
   * answered per message. The first message of each conversation goes in the first statement, a second
   * one of the same conversation in the next, and so on: a sender's order is kept.
   */
  private async appendAll(items: AppendRequest[]): Promise<Outcome[]> {
    const outcomes = new Array<Outcome>(items.length);
    for (const round of rounds(items)) {
      const requests = round.map((i) => items[i]);
      let results: Outcome[];
      try {
        results = (await this.run(requests)).map((value) => ({ ok: true, value }));
      } catch {
        // One bad message (a twin's clientMessageId) rolls its statement back: decide those one by one.
        results = [];
        for (const request of requests) {
          try {
            results.push({ ok: true, value: (await this.run([request]))[0] });
          } catch (error) {
            results.push(
              violatedConstraint(error)?.constraint === 'messages_client_message_key' ? { ok: true, value: null } : { ok: false, error },
            );
          }
        }
      }
      round.forEach((i, n) => (outcomes[i] = results[n]));
    }
    return outcomes;
  }

  private async run(requests: AppendRequest[]): Promise<AppendResult[]> {
    // Rows locked in the order of their ids, so two batches (of two processes) never wait on each other in a circle.
    const sorted = [...requests].sort((a, b) => (a.conversationId < b.conversationId ? -1 : 1));
    const rows = await this.statements.run<{ id: string; seq: number; agent_id: string | null }>(APPEND_MESSAGES, [
      sorted.map((r) => r.sender.id),
      sorted.map((r) => r.at),
      sorted.map((r) => r.conversationId),
      sorted.map((r) => r.clientMessageId),
      sorted.map((r) => r.id),
      sorted.map((r) => r.sender.role),
      sorted.map((r) => r.stored.masked.content),
      sorted.map((r) => r.stored.types.join(',')),
      sorted.map((r) => r.stored.sealed),
    ]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return requests.map((r) => {
      const row = byId.get(r.id);
      return row ? { seq: row.seq, agentId: row.agent_id } : null;
    });
  }
}

/** Indexes of `items` in statements that each hold at most one message per conversation, in arrival order. */
function rounds(items: AppendRequest[]): number[][] {
  const out: number[][] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const n = seen.get(item.conversationId) ?? 0;
    seen.set(item.conversationId, n + 1);
    (out[n] ??= []).push(i);
  });
  return out;
}
