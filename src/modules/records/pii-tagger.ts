import type { EventArgs, EventSubscriber } from '@mikro-orm/postgresql';
import type { PiiDetector } from './pii-detector';
import { PII_SOURCES, PiiSource, piiSourceOf } from './pii-sources';

/**
 * Fills `piiTypes` of every protected text the ORM writes, in the flush that writes it (a MikroORM subscriber:
 * no service has to remember it, and the column is never out of step with its text). The chat's one-statement
 * append, which bypasses the ORM, computes it itself (chat.service.ts).
 */
export class PiiTagger implements EventSubscriber {
  constructor(private readonly detector: PiiDetector) {}

  getSubscribedEntities() {
    return PII_SOURCES.map((s) => s.entity as never);
  }

  beforeCreate(args: EventArgs<object>): void {
    const source = piiSourceOf(args.entity);
    if (source) tag(this.detector, source, args.entity);
  }

  beforeUpdate(args: EventArgs<object>): void {
    const source = piiSourceOf(args.entity);
    if (!source) return;
    const changed = args.changeSet?.payload ?? {};
    // Read again only when the text changed (or was never read): status changes are most updates.
    if (source.properties.some((p) => p in changed) || (args.entity as { piiTypes: unknown }).piiTypes == null) tag(this.detector, source, args.entity);
  }
}

function tag(detector: PiiDetector, source: PiiSource, entity: object): void {
  const row = entity as Parameters<PiiSource['text']>[0];
  row.piiTypes = detector.types(source.text(row));
}
