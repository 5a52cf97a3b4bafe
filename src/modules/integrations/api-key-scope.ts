import { registerEnumType } from 'type-graphql';

/** What an API key may do. The values are the documented scope names (stored as such in `api_keys.scopes`). */
export enum ApiKeyScope {
  TICKETS_READ = 'tickets:read',
  TICKETS_WRITE = 'tickets:write',
  CONVERSATIONS_READ = 'conversations:read',
  CHANNEL_WRITE = 'channel:write',
  WEBHOOKS_MANAGE = 'webhooks:manage',
}

registerEnumType(ApiKeyScope, {
  name: 'ApiKeyScope',
  description:
    'An API key scope: TICKETS_READ (tickets:read), TICKETS_WRITE (tickets:write), CONVERSATIONS_READ (conversations:read), CHANNEL_WRITE (channel:write), WEBHOOKS_MANAGE (webhooks:manage)',
});

/**
 * The one table of what a key may call: root field (query, mutation or subscription) → the scope it needs.
 * Every root field not listed here is FORBIDDEN to every key. Within a listed operation the key acts as a
 * manager of its department (or as an admin when it has none), so the services' own rules keep it there.
 */
export const REQUIRED_SCOPE: Readonly<Record<string, ApiKeyScope>> = {
  tickets: ApiKeyScope.TICKETS_READ,
  ticket: ApiKeyScope.TICKETS_READ,
  ticketStats: ApiKeyScope.TICKETS_READ,
  ticketCategories: ApiKeyScope.TICKETS_READ,

  createTicket: ApiKeyScope.TICKETS_WRITE,
  commentOnTicket: ApiKeyScope.TICKETS_WRITE,
  assignTicket: ApiKeyScope.TICKETS_WRITE,
  escalateTicket: ApiKeyScope.TICKETS_WRITE,
  resolveTicket: ApiKeyScope.TICKETS_WRITE,
  closeTicket: ApiKeyScope.TICKETS_WRITE,
  reopenTicket: ApiKeyScope.TICKETS_WRITE,

  conversations: ApiKeyScope.CONVERSATIONS_READ,
  conversation: ApiKeyScope.CONVERSATIONS_READ,
  messages: ApiKeyScope.CONVERSATIONS_READ,
  conversationEvents: ApiKeyScope.CONVERSATIONS_READ,

  channelInbound: ApiKeyScope.CHANNEL_WRITE,
  linkChannelIdentity: ApiKeyScope.CHANNEL_WRITE,

  // Outbound webhooks (issue 16 item 2) are managed with this scope.
  createWebhook: ApiKeyScope.WEBHOOKS_MANAGE,
  webhooks: ApiKeyScope.WEBHOOKS_MANAGE,
  updateWebhook: ApiKeyScope.WEBHOOKS_MANAGE,
  deleteWebhook: ApiKeyScope.WEBHOOKS_MANAGE,
  webhookDeliveries: ApiKeyScope.WEBHOOKS_MANAGE,
  redeliver: ApiKeyScope.WEBHOOKS_MANAGE,
};

/** Tells an API key from a user's JWT without a lookup (a JWT starts with `eyJ`). */
export const API_KEY_PREFIX = 'sdk_live_';
