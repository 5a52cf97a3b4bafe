import type { EntityManager } from '@mikro-orm/postgresql';
import { Counter } from 'prom-client';
import { Role, Viewer } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { pgArray } from '../../platform/db/arrays';
import { Forbidden, NotFound } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { Metrics } from '../../platform/metrics';
import { Page, paginate } from '../../platform/pagination';
import type { PubSubPort } from '../../platform/realtime/pubsub';
import { ALL_DEPARTMENTS, Topics } from '../../platform/realtime/topics';
import { Conversation } from '../conversations/conversation.entity';
import { Message, MessageKind } from '../conversations/message.entity';
import { isStronglyNegative, MessageClassifier } from '../knowledge/classifier';
import { QualityViolation } from './quality.entities';
import { findViolations, QualitySettings } from './quality.settings';
import { ConversationSentiment, QualityAlertKind, QualityAlertPayload } from './quality.types';
import { QualityRequest, isUuid } from './staff-scope';

/** Customer messages of one conversation read for its sentiment curve, newest kept. */
const MAX_SENTIMENT_POINTS = 500;

/**
 * Quality inspection of every chat message, after it is stored (ChatService calls `inspect` once the message
 * has committed, and does not wait): an agent's message is checked against the rules of config/quality.json,
 * a customer's is classified for sentiment. What it finds is stored (one row per message and rule; one flag per
 * conversation), counted on /metrics and pushed to the department's supervisors (`qualityViolationRaised`).
 * The checks are in memory; only a finding touches the database, so a clean message costs microseconds.
 */
export class QualityInspection {
  private readonly violations: Counter<'rule'>;
  private readonly negativeFlags: Counter;
  private readonly pending = new Set<Promise<void>>();
  /** Inspections waiting for their turn of the event loop. */
  private scheduled = 0;

  constructor(
    private readonly settings: QualitySettings,
    private readonly classifier: MessageClassifier,
    private readonly pubsub: PubSubPort,
    metrics: Metrics,
    private readonly logger: Logger,
    private readonly fork: () => EntityManager,
  ) {
    this.violations = new Counter({
      name: 'shiftdesk_quality_violations_total',
      help: 'Agent messages that broke a quality rule (config/quality.json), by rule',
      labelNames: ['rule'] as const,
      registers: [metrics.registry],
    });
    for (const r of settings.rules) this.violations.inc({ rule: r.code }, 0);
    this.negativeFlags = new Counter({
      name: 'shiftdesk_quality_negative_conversations_total',
      help: 'Conversations flagged because the customer turned strongly negative',
      registers: [metrics.registry],
    });
  }

  /**
   * Called for every stored message; returns at once. Even the in-memory checks (the classifier takes tens of
   * µs) run on a later turn of the event loop, after the sender has had their answer; a failure is logged. A
   * promise is made only for a message that breaks a rule or turns a conversation strongly negative (a write
   * follows): the others, nearly all, cost one setImmediate and no promise (there were six per message).
   */
  inspect(message: Message): void {
    if (message.kind !== MessageKind.TEXT || !message.senderId || !message.senderRole) return;
    this.scheduled++;
    setImmediate(() => {
      this.scheduled--;
      const fail = (err: unknown) => this.logger.error({ err, messageId: message.id }, 'quality inspection failed');
      try {
        const write = message.senderRole === Role.CUSTOMER ? this.checkSentiment(message) : this.checkRules(message);
        if (write) {
          const run = write.catch(fail).finally(() => this.pending.delete(run));
          this.pending.add(run);
        }
      } catch (err) {
        fail(err);
      }
    });
  }

  /** Resolves once the inspections started so far are done (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.scheduled || this.pending.size) {
      if (this.pending.size) await Promise.allSettled([...this.pending]);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private checkRules(m: Message): Promise<void> | null {
    const found = findViolations(this.settings.rules, m.content);
    if (!found.length) return null;
    return (async () => {
      const rows = await this.fork().execute<Array<{ rule: string; matched: string; department_id: string | null }>>(
        `INSERT INTO quality_violations (id, message_id, conversation_id, agent_id, department_id, rule, matched, created_at)
         SELECT gen_random_uuid(), ?, c.id, ?, c.department_id, f.rule, f.matched, ?
           FROM conversations c, unnest(?::text[], ?::text[]) AS f (rule, matched)
          WHERE c.id = ?
         ON CONFLICT (message_id, rule) DO NOTHING
         RETURNING rule, matched, department_id`,
        [m.id, m.senderId, m.createdAt, pgArray(found.map((f) => f.rule.code)), pgArray(found.map((f) => f.matched)), m.conversationId],
      );
      for (const row of rows) {
        this.violations.inc({ rule: row.rule });
        this.alert(row.department_id, {
          kind: QualityAlertKind.RULE_VIOLATION,
          conversationId: m.conversationId,
          messageId: m.id,
          agentId: m.senderId,
          departmentId: row.department_id,
          rule: row.rule,
          ruleLabel: this.settings.rules.find((r) => r.code === row.rule)?.label ?? row.rule,
          matched: row.matched,
          intensity: null,
          at: new Date().toISOString(),
        });
      }
    })();
  }

  private checkSentiment(m: Message): Promise<void> | null {
    const c = this.classifier.classify(m.content);
    if (!isStronglyNegative(c)) return null;
    return (async () => {
      // Once per conversation: the moment the customer turned, not every angry message after it.
      const [row] = await this.fork().execute<Array<{ agent_id: string | null; department_id: string | null }>>(
        `INSERT INTO quality_sentiment_flags (conversation_id, message_id, agent_id, department_id, intensity, created_at)
         SELECT c.id, ?, c.agent_id, c.department_id, ?, ? FROM conversations c WHERE c.id = ?
         ON CONFLICT (conversation_id) DO NOTHING
         RETURNING agent_id, department_id`,
        [m.id, c.sentimentIntensity, m.createdAt, m.conversationId],
      );
      if (!row) return;
      this.negativeFlags.inc();
      this.alert(row.department_id, {
        kind: QualityAlertKind.NEGATIVE_SENTIMENT,
        conversationId: m.conversationId,
        messageId: m.id,
        agentId: row.agent_id,
        departmentId: row.department_id,
        rule: null,
        ruleLabel: null,
        matched: null,
        intensity: c.sentimentIntensity,
        at: new Date().toISOString(),
      });
    })();
  }

  private alert(departmentId: string | null, payload: QualityAlertPayload): void {
    if (departmentId) this.pubsub.publish(Topics.QUALITY, departmentId, payload);
    this.pubsub.publish(Topics.QUALITY, ALL_DEPARTMENTS, payload);
  }

  /** The topic a supervisor may watch: their department; admins any, or all when none is named. */
  topicFor(viewer: Viewer, departmentId: string | null | undefined): string {
    if (viewer.role === Role.ADMIN) return departmentId ?? ALL_DEPARTMENTS;
    if (viewer.role !== Role.MANAGER) throw new Forbidden('Supervisors only');
    if (departmentId && departmentId !== viewer.departmentId) throw new Forbidden('You watch your own department only');
    if (!viewer.departmentId) throw new Forbidden('You belong to no department');
    return viewer.departmentId;
  }

  /** Violations newest first. Admins: any; managers: their department (the default); agents: FORBIDDEN. */
  list(
    scope: QualityRequest,
    filter: { departmentId?: string | null; agentId?: string | null; conversationId?: string | null },
    first: number,
    after?: string | null,
  ): Promise<Page<QualityViolation>> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const where: Record<string, unknown> = {};
    if (viewer.role === Role.MANAGER) {
      if (filter.departmentId && filter.departmentId !== viewer.departmentId) throw new Forbidden('Managers see their own department only');
      where.departmentId = viewer.departmentId;
    } else if (filter.departmentId) where.departmentId = idOrNothing(filter.departmentId);
    if (filter.agentId) where.agentId = idOrNothing(filter.agentId);
    if (filter.conversationId) where.conversationId = idOrNothing(filter.conversationId);
    return paginate(scope.em, QualityViolation, where, { first, after, orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** The customer's sentiment message by message. Supervisors of the conversation's department and admins. */
  async sentiment(scope: QualityRequest, conversationId: string): Promise<ConversationSentiment> {
    const viewer = withRole(scope.viewer, Role.ADMIN, Role.MANAGER);
    const c = isUuid(conversationId) ? await scope.em.findOne(Conversation, { id: conversationId }) : null;
    if (!c) throw new NotFound('Conversation', conversationId);
    if (viewer.role === Role.MANAGER && (!c.departmentId || c.departmentId !== viewer.departmentId))
      throw new Forbidden('This conversation is not in your department');
    const [messages, [flag]] = await Promise.all([
      scope.em.find(
        Message,
        { conversationId: c.id, senderId: c.customerId, kind: MessageKind.TEXT },
        { orderBy: { seq: 'desc' }, limit: MAX_SENTIMENT_POINTS },
      ),
      scope.em.execute<Array<{ created_at: Date }>>('SELECT created_at FROM quality_sentiment_flags WHERE conversation_id = ?', [c.id]),
    ]);
    return {
      conversationId: c.id,
      flagged: Boolean(flag),
      flaggedAt: flag ? new Date(flag.created_at) : null,
      points: messages.reverse().map((m) => {
        const k = this.classifier.classify(m.content);
        return {
          messageId: m.id,
          seq: m.seq,
          at: m.createdAt,
          sentiment: k.sentiment,
          intensity: k.sentimentIntensity,
          stronglyNegative: isStronglyNegative(k),
        };
      }),
    };
  }
}

/** A filter id that is no uuid matches nothing (rather than failing in SQL). */
function idOrNothing(id: string): string {
  return isUuid(id) ? id : '00000000-0000-0000-0000-000000000000';
}
