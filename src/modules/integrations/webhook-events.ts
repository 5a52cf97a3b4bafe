import type { EntityManager } from '@mikro-orm/postgresql';
import { getMetadataStorage } from 'type-graphql';
import { Conversation } from '../conversations/conversation.entity';
import { Message } from '../conversations/message.entity';
import { Ticket } from '../tickets/ticket.entity';
import { LeaveRequest } from '../leave/leave-request.entity';
import { SwapRequest } from '../swaps/swap.entity';
import { Alert } from '../operations/alert.entity';

/**
 * Every event a webhook may subscribe to. The database triggers (migration 20261205060000) write exactly these
 * names into the outbox; this list is what `createWebhook` accepts.
 */
export const WEBHOOK_EVENT_TYPES = [
  'conversation.created',
  'conversation.assigned',
  'conversation.transferred',
  'conversation.ended',
  'message.created',
  'ticket.created',
  'ticket.status_changed',
  'ticket.sla_breached',
  'leave.decided',
  'swap.decided',
  'alert.raised',
] as const;

/** The entity (and GraphQL type) of each outbox `object_type`. */
const OBJECT_CLASSES: Record<string, new () => object> = { Conversation, Message, Ticket, LeaveRequest, SwapRequest, Alert };

/** One row of the outbox, as the dispatcher reads it. */
export interface OutboxEvent {
  seq: string;
  id: string;
  type: string;
  object_type: string;
  object_id: string;
  lane_id: string;
  snapshot: Record<string, unknown>;
  occurred_at: Date;
}

/**
 * The object as the API returns it: the GraphQL fields its type declares on stored properties, under their
 * GraphQL names, taken from the row snapshot the trigger made when the change happened (so a retry sends
 * what was true then). Computed fields (field resolvers) are left out.
 */
export function apiView(em: EntityManager, event: OutboxEvent): Record<string, unknown> {
  const cls = OBJECT_CLASSES[event.object_type];
  if (!cls) return { id: event.object_id };
  const properties = em.getMetadata().get(cls.name).properties as Record<
    string,
    { fieldNames?: string[]; runtimeType?: string; persist?: boolean; hidden?: boolean }
  >;
  const view: Record<string, unknown> = {};
  for (const field of getMetadataStorage().fields.filter((f) => f.target === cls)) {
    const prop = properties[field.name];
    if (!prop?.fieldNames || prop.persist === false || prop.hidden) continue;
    const value = event.snapshot[prop.fieldNames[0]];
    if (value === undefined) continue;
    view[field.schemaName] = prop.runtimeType === 'Date' && typeof value === 'string' ? new Date(value).toISOString() : value;
  }
  return view;
}

/** The department an event belongs to (null: none, so only webhooks of every department receive it). */
export async function departmentOf(em: EntityManager, event: OutboxEvent): Promise<string | null> {
  const s = event.snapshot;
  switch (event.object_type) {
    case 'Message': {
      const [row] = await em.execute<Array<{ department_id: string | null }>>(`SELECT department_id FROM conversations WHERE id = ?`, [
        event.lane_id,
      ]);
      return row?.department_id ?? null;
    }
    case 'SwapRequest': {
      const [row] = await em.execute<Array<{ department_id: string | null }>>(`SELECT department_id FROM users WHERE id = ?`, [
        s.requester_id,
      ]);
      return row?.department_id ?? null;
    }
    default:
      return (s.department_id as string | null | undefined) ?? null;
  }
}

/** The JSON body of a delivery: the same bytes on every attempt of the same event. */
export function deliveryBody(em: EntityManager, event: OutboxEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    occurredAt: new Date(event.occurred_at).toISOString(),
    object: apiView(em, event),
  });
}
