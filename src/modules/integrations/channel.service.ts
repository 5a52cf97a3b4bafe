import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../platform/request-scope';
import { Role, Viewer } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { AdvisoryLock } from '../../platform/db/advisory-locks';
import { inTransaction } from '../../platform/db/transaction';
import { Conflict, ConflictReason, Forbidden, InvalidInput } from '../../platform/errors';
import { isUuid } from '../../platform/ids';
import type { AuditService } from '../audit/audit.service';
import { Department } from '../accounts/department.entity';
import { User } from '../accounts/user.entity';
import type { ChatService } from '../conversations/chat.service';
import { Conversation, ConversationStatus } from '../conversations/conversation.entity';
import { MAX_MESSAGE_LENGTH, Message } from '../conversations/message.entity';
import type { RoutingService, ServiceRequestResult } from '../conversations/routing.service';
import { ApiKeyScope } from './api-key-scope';
import { ChannelIdentity } from './channel-identity.entity';
import { CHANNEL_NAME, ChannelInboundInput, ChannelInboundResult, LinkChannelIdentityInput } from './channel.inputs';

/** A lower bound on what a delivery holds: its lock's connection, while routing or the chat use others. */
class Gate {
  private waiting: Array<() => void> = [];
  private free: number;
  constructor(size: number) {
    this.free = size;
  }
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/**
 * The channel API: bridges (WeChat, e-mail, WhatsApp, …) feed customers' messages in with an API key holding
 * channel:write. Each external customer is a ShiftDesk customer (channel_identities); their message opens a
 * conversation through routing, like any customer's request, or continues their open one through the chat.
 * Deliveries of one customer run one at a time under an advisory lock, and an external message id taken in
 * once (channel_messages) answers the stored message again.
 */
export class ChannelService {
  private readonly gate: Gate;

  constructor(
    private readonly audit: AuditService,
    private readonly routing: Pick<RoutingService, 'requestService'>,
    private readonly chat: Pick<ChatService, 'send'>,
    private readonly fork: () => EntityManager,
    /** Deliveries at once per process: each holds a connection for its lock while routing needs others. */
    concurrentDeliveries: number,
  ) {
    this.gate = new Gate(Math.max(1, concurrentDeliveries));
  }

  async inbound(scope: RequestScope, input: ChannelInboundInput): Promise<ChannelInboundResult> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    if (!viewer.integration?.scopes.includes(ApiKeyScope.CHANNEL_WRITE))
      throw new Forbidden('channelInbound is for API keys with the channel:write scope');
    const content = input.content.trim();
    if (!content || content.length > MAX_MESSAGE_LENGTH) throw new InvalidInput('content', `must be 1 to ${MAX_MESSAGE_LENGTH} characters`);
    const customerId = await this.customerOf(scope, input);
    return this.gate.run(() =>
      inTransaction(this.fork(), async (tx) => {
        await tx.execute('SELECT pg_advisory_xact_lock(?, hashtext(?))', [AdvisoryLock.CHANNEL_CUSTOMER, customerId]);
        const [taken] = await tx.execute<Array<{ conversation_id: string; message_id: string }>>(
          'SELECT conversation_id, message_id FROM channel_messages WHERE channel = ? AND external_message_id = ?',
          [input.channel, input.externalMessageId],
        );
        if (taken) {
          const [conversation, message] = await Promise.all([
            tx.findOne(Conversation, { id: taken.conversation_id }),
            tx.findOne(Message, { id: taken.message_id }),
          ]);
          return { customerId, conversation, message, serviceRequest: null, duplicate: true };
        }
        const delivered = await this.deliver(scope, viewer, customerId, input, content);
        if (delivered.message) {
          await tx.execute(
            `INSERT INTO channel_messages (channel, external_message_id, customer_id, conversation_id, message_id) VALUES (?, ?, ?, ?, ?)`,
            [input.channel, input.externalMessageId, customerId, delivered.message.conversationId, delivered.message.id],
          );
        }
        return { customerId, duplicate: false, ...delivered };
      }),
    );
  }

  /** Points a channel identity at a customer (a new identity, or one known as another customer until now). */
  async link(scope: RequestScope, input: LinkChannelIdentityInput): Promise<ChannelIdentity> {
    withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    if (!isUuid(input.customerId)) throw new InvalidInput('customerId', 'is not an id');
    return inTransaction(scope.em, async (em) => {
      const customer = await em.findOne(User, { id: input.customerId });
      if (!customer || customer.role !== Role.CUSTOMER) throw new InvalidInput('customerId', 'is not a customer');
      await em.execute('SELECT pg_advisory_xact_lock(?, hashtext(?))', [AdvisoryLock.CHANNEL_IDENTITY, identityKey(input)]);
      let identity = await em.findOne(ChannelIdentity, { channel: input.channel, externalCustomerId: input.externalCustomerId });
      const before = identity?.customerId ?? null;
      if (before === customer.id) return identity!;
      if (identity) {
        identity.customerId = customer.id;
        identity.updatedAt = new Date();
      } else {
        identity = em.create(ChannelIdentity, {
          channel: input.channel,
          externalCustomerId: input.externalCustomerId,
          customerId: customer.id,
        });
      }
      this.audit.record(em, scope, {
        action: 'channel_identity.link',
        targetType: 'channel_identity',
        targetId: identity.id,
        summary: `${input.channel} customer linked to customer ${customer.id}${before ? ` (was ${before})` : ''}`,
      });
      await em.flush();
      return identity;
    });
  }

  /** The customer an identity is, made (a customer without a password) on its first message. */
  private async customerOf(scope: RequestScope, input: ChannelInboundInput): Promise<string> {
    if (!CHANNEL_NAME.test(input.channel)) throw new InvalidInput('channel', 'is not a channel name');
    const where = { channel: input.channel, externalCustomerId: input.externalCustomerId };
    const known = await this.fork().findOne(ChannelIdentity, where);
    if (known) return known.customerId;
    return inTransaction(this.fork(), async (em) => {
      await em.execute('SELECT pg_advisory_xact_lock(?, hashtext(?))', [AdvisoryLock.CHANNEL_IDENTITY, identityKey(input)]);
      const raced = await em.findOne(ChannelIdentity, where);
      if (raced) return raced.customerId;
      const customer = em.create(User, {
        email: `${input.channel}-${randomUUID()}@channel.invalid`,
        displayName: input.displayName.trim() || input.externalCustomerId.slice(0, 100),
        role: Role.CUSTOMER,
        // No password signs in as this customer: it is no argon2 hash.
        passwordHash: '!',
      });
      await em.flush(); // the identity's foreign key needs the user first
      em.create(ChannelIdentity, { ...where, customerId: customer.id });
      this.audit.record(em, scope, {
        action: 'channel_identity.create',
        targetType: 'user',
        targetId: customer.id,
        summary: `customer created for a new ${input.channel} identity`,
      });
      await em.flush();
      return customer.id;
    });
  }

  /** Continues the customer's open conversation, or opens one through routing (the key's department as topic). */
  private async deliver(
    scope: RequestScope,
    key: Viewer,
    customerId: string,
    input: ChannelInboundInput,
    content: string,
  ): Promise<Pick<ChannelInboundResult, 'conversation' | 'message' | 'serviceRequest'>> {
    const customer: RequestScope = { ...scope, viewer: { id: customerId, role: Role.CUSTOMER, departmentId: null }, em: this.fork() };
    const open = await customer.em.findOne(Conversation, { customerId, status: { $ne: ConversationStatus.ENDED } });
    if (open) {
      try {
        const message = await this.chat.send(customer, { conversationId: open.id, content, clientMessageId: clientMessageId(input) });
        return { conversation: open, message, serviceRequest: null };
      } catch (err) {
        // Ended by the agent meanwhile: the message opens a new conversation instead.
        if (!(err instanceof Conflict && err.extensions.reason === ConflictReason.CONVERSATION_ENDED)) throw err;
      }
    }
    const department = key.departmentId ? await customer.em.findOne(Department, { id: key.departmentId }) : null;
    const request: ServiceRequestResult = await this.routing.requestService(customer, {
      topic: department?.code ?? input.channel,
      message: content,
    });
    const conversation = request.conversation;
    const message = conversation
      ? await this.fork().findOne(Message, { conversationId: conversation.id, senderId: customerId }, { orderBy: { seq: 'desc' } })
      : null;
    return { conversation, message, serviceRequest: request };
  }
}

/** What the advisory lock of an identity is taken on. */
function identityKey(input: { channel: string; externalCustomerId: string }): string {
  return `${input.channel}\n${input.externalCustomerId}`;
}

/** The chat's idempotency key for an external message (the chat allows 100 characters; external ids run to 200). */
function clientMessageId(input: ChannelInboundInput): string {
  return `channel:${createHash('sha256')
    .update(identityKey({ channel: input.channel, externalCustomerId: input.externalMessageId }))
    .digest('hex')}`;
}
