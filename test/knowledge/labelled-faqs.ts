import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestScope } from '../../src/context';
import { Role } from '../../src/platform/auth/roles';
import { createLogger } from '../../src/platform/logger';
import { FaqScope } from '../../src/modules/knowledge/faq.entity';
import type { TestApp } from '../support/harness';

/** An FAQ of an evaluation set: `key` is what its labelled questions name. */
export interface LabelledFaq {
  key: string;
  question: string;
  answer: string;
  category: string;
  tags?: string[];
}

/** Publishes the set as PUBLIC FAQs through the service (as an admin); returns FAQ id → key. */
export async function publishLabelledFaqs(app: TestApp, faqs: readonly LabelledFaq[]): Promise<Map<string, string>> {
  const adminId = (await app.data<{ me: { id: string } }, unknown>('{ me { id } }', {}, await app.adminToken())).me.id;
  const scope = (): RequestScope => ({
    viewer: { id: adminId, role: Role.ADMIN, departmentId: null },
    em: app.services.orm.em.fork() as EntityManager,
    traceId: 'labelled-faqs',
    logger: createLogger('silent'),
    ip: '',
  });
  const keyOf = new Map<string, string>();
  for (const f of faqs) {
    const faq = await app.services.faqs.create(scope(), {
      question: f.question,
      answer: f.answer,
      category: f.category,
      tags: f.tags ?? [],
      scope: FaqScope.PUBLIC,
    });
    await app.services.faqs.publish(scope(), faq.id);
    keyOf.set(faq.id, f.key);
  }
  return keyOf;
}
