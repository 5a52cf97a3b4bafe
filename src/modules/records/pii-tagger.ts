import type { EntityManager, EventArgs, EventSubscriber } from '@mikro-orm/postgresql';
import { AuditEntry } from '../audit/audit-entry.entity';
import type { MessageParams, MessageRef } from '../../platform/i18n/catalogue';
import { Notification } from '../notifications/notification.entity';
import { maskText } from './masking';
import type { PiiRules } from './pii-rules';
import { PII_SOURCES, PiiSource, piiSourceOf } from './pii-sources';
import { PiiType } from './pii-type';
import type { TextProtector } from './text-protector';

/**
 * Protects every text the ORM writes, in the flush that writes it (a MikroORM subscriber: no service has to
 * remember it, and the columns are never out of step with their text): fills `piiTypes`, stores the masked text
 * and seals the original. The chat's one-statement append, which bypasses the ORM, does the same itself.
 */
export class PiiTagger implements EventSubscriber {
  constructor(private readonly protector: TextProtector) {}

  getSubscribedEntities() {
    return PII_SOURCES.map((s) => s.entity as never);
  }

  async beforeCreate(args: EventArgs<object>): Promise<void> {
    const source = piiSourceOf(args.entity);
    if (source) await this.protector.protectRow(source, args.entity as Parameters<PiiSource['text']>[0], args.em as EntityManager);
  }

  async beforeUpdate(args: EventArgs<object>): Promise<void> {
    const source = piiSourceOf(args.entity);
    if (!source) return;
    const changed = args.changeSet?.payload ?? {};
    // Read again only when the text changed (or was never read): status changes are most updates.
    if (source.properties.some((p) => p in changed) || (args.entity as { piiTypes: unknown }).piiTypes == null) {
      await this.protector.protectRow(source, args.entity as Parameters<PiiSource['text']>[0], args.em as EntityManager);
    }
  }
}

/**
 * Audit entries and notifications quote what users wrote (leave reasons, ticket subjects, resolutions, comments):
 * phone, ID and card numbers in them are masked as they are written. E-mail addresses stay: they are how the
 * audit names accounts.
 */
export class RecordTextMasker implements EventSubscriber {
  private readonly rules: PiiRules;

  constructor(rules: PiiRules) {
    this.rules = { source: rules.source, rules: rules.rules.filter((r) => r.type !== PiiType.EMAIL) };
  }

  getSubscribedEntities() {
    return [AuditEntry, Notification];
  }

  beforeCreate(args: EventArgs<AuditEntry | Notification>): void {
    const row = args.entity;
    if (row instanceof AuditEntry) {
      row.summary = maskText(row.summary, this.rules);
      if (row.comment) row.comment = maskText(row.comment, this.rules);
    } else {
      row.title = maskText(row.title, this.rules);
      row.body = maskText(row.body, this.rules);
      // Rendered per reader from these: the quoted texts among the parameters are masked alike.
      if (row.texts) row.texts = { title: this.maskRef(row.texts.title), body: this.maskRef(row.texts.body) };
    }
  }

  private maskRef(ref: MessageRef): MessageRef {
    if (!ref.params) return ref;
    const params = Object.entries(ref.params).map(([name, value]) => {
      if (typeof value === 'string') return [name, maskText(value, this.rules)];
      return [name, typeof value === 'object' ? this.maskRef(value) : value];
    });
    return { ...ref, params: Object.fromEntries(params) as MessageParams };
  }
}
