import type { EntityManager } from '@mikro-orm/postgresql';
import type { Locale } from '../../platform/i18n/locales';
import { Department } from '../accounts/department.entity';
import type { FaqService } from '../knowledge/faq.service';
import type { Target } from './agent-pool';
import { customersWithOpenConversations } from './conversation-rows';
import type { ServicePriority } from './queue-policy';

/** A request for service, checked and classified, waiting for its routing decision. */
export interface PendingRequest {
  customerId: string;
  topic: string;
  message: string;
  priority: ServicePriority;
  stronglyNegative: boolean;
  /** The classifier's intent of the message, kept on the conversation for records search. */
  intent: string;
  /** The customer's language for system messages (kept on the conversation for later ones). */
  locale: Locale;
}

/** An FAQ answer good enough to offer at once. */
export type AutoAnswer = NonNullable<Awaited<ReturnType<FaqService['bestAnswer']>>>;

/** A request with where it may go and the auto-answer it gets, ready for routing's decision. */
export type RoutableRequest = PendingRequest & { target: Target; answer: AutoAnswer | null };

/**
 * Routing's first stage, which needs no lock: where each request of a batch may go (department or skill) and
 * the FAQ answer it gets. It runs for one batch while the previous one is decided under the routing lock.
 */
export class RequestTriage {
  /** Customers with requests past this stage and not yet decided, and how many. */
  private readonly deciding = new Map<string, number>();

  constructor(
    private readonly faqs: Pick<FaqService, 'bestAnswers'>,
    private readonly autoAnswerThreshold: number,
    private readonly em: () => EntityManager,
  ) {}

  async prepare(batch: PendingRequest[]): Promise<RoutableRequest[]> {
    // Reads before the lock use a fork of their own: the transaction must not find their partial entities.
    const em = this.em();
    const targets = new Map<string, Target>();
    for (const topic of new Set(batch.map((r) => r.topic))) targets.set(topic, await resolveTopic(em, topic));
    // A customer who already has an open conversation gets it back (checked again under the lock); for the
    // others, the FAQ search runs before the lock (it may need a connection of its own to catch its index
    // up); the use is counted in the transaction. Routing is decided as it would be anyway: a customer the
    // answer does not help keeps their place.
    const openBefore = new Set(
      await customersWithOpenConversations(
        em,
        batch.map((r) => r.customerId),
      ),
    );
    // One search for the batch's first messages (one round trip, however many requests). A customer with a
    // request of an earlier batch still being decided is not searched for again either.
    const searched = new Set<string>();
    const firsts = batch.map((r) => {
      const first = !openBefore.has(r.customerId) && !searched.has(r.customerId) && !this.deciding.has(r.customerId);
      searched.add(r.customerId);
      return first;
    });
    const asked = batch.filter((_, i) => firsts[i]);
    const found = await this.faqs.bestAnswers(
      this.em(),
      asked.map((r) => r.message),
    );
    const answers = new Map(asked.map((r, k) => [r, found[k]]));
    for (const r of batch) this.deciding.set(r.customerId, (this.deciding.get(r.customerId) ?? 0) + 1);
    return batch.map((r) => {
      const hit = answers.get(r) ?? null;
      return { ...r, target: targets.get(r.topic)!, answer: hit && hit.score >= this.autoAnswerThreshold ? hit : null };
    });
  }

  /** A request that left this stage was decided (or failed). */
  decided(customerId: string): void {
    const n = this.deciding.get(customerId) ?? 0;
    if (n <= 1) this.deciding.delete(customerId);
    else this.deciding.set(customerId, n - 1);
  }
}

/** A topic naming a department (code or name) routes there; one naming a skill some agent has asks for it. */
async function resolveTopic(em: EntityManager, topic: string): Promise<Target> {
  const department = await em.findOne(Department, { $or: [{ code: topic.toLowerCase() }, { name: topic }] }, { fields: ['id'] });
  if (department) return { departmentId: department.id, skill: null };
  const [hasSkill] = await em.execute(`SELECT 1 FROM users WHERE role = 'AGENT' AND active AND ? = ANY(skills) LIMIT 1`, [topic]);
  return { departmentId: null, skill: hasSkill ? topic : null };
}
