import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Logger } from '../../platform/logger';
import type { TextAnalyzer } from './segmenter';

export enum UnansweredReason {
  NO_RESULT = 'NO_RESULT',
  NOT_HELPFUL = 'NOT_HELPFUL',
}
registerEnumType(UnansweredReason, {
  name: 'UnansweredReason',
  valuesConfig: {
    NO_RESULT: { description: 'The search (searchFaqs, or an auto-answer attempt) found nothing good enough' },
    NOT_HELPFUL: { description: 'The customer said the FAQ that auto-answered it did not help' },
  },
});

@ObjectType({ description: 'Similar unanswered questions grouped together: an FAQ worth writing' })
export class UnansweredCluster {
  @Field({ description: 'The most frequent wording in the group' })
  question!: string;

  @Field(() => Int, { description: 'How many times questions of the group were asked' })
  count!: number;

  @Field(() => Int)
  noResultCount!: number;

  @Field(() => Int, { description: 'Of the count: auto-answers the customer said did not help' })
  notHelpfulCount!: number;

  @Field(() => [String], { description: 'Up to 5 distinct wordings, most frequent first' })
  examples!: string[];

  @Field()
  lastAskedAt!: Date;
}

/** Two questions belong together from this Dice similarity of their character bigrams up. */
const CLUSTER_SIMILARITY = 0.5;
/** Rows read for one report (the newest), and groups returned. */
const REPORT_ROWS = 20_000;
const REPORT_CLUSTERS = 100;

/**
 * The log of questions the knowledge base could not answer, and the report that groups them. A search's miss is
 * written on a connection of its own and never fails the search; feedback passes its transaction (`em`), which
 * holds the FAQ's row lock that the row's foreign key check would otherwise wait for.
 */
export class UnansweredLog {
  constructor(
    private readonly analyzer: TextAnalyzer,
    private readonly fork: () => EntityManager,
    private readonly logger: Logger,
    private readonly maskPersonalData: (text: string) => string,
  ) {}

  async record(question: string, reason: UnansweredReason, faqId: string | null = null, em?: EntityManager): Promise<void> {
    await this.recordMany([question], reason, faqId, em);
  }

  /** Several questions in one INSERT; without `em` a failure is logged, not thrown (the log must not fail a search). */
  async recordMany(questions: readonly string[], reason: UnansweredReason, faqId: string | null = null, em?: EntityManager): Promise<void> {
    const texts = questions.map((q) => Array.from(this.maskPersonalData(q.trim())).slice(0, 500).join('')).filter(Boolean);
    if (!texts.length) return;
    const insert = (on: EntityManager) =>
      on.execute(
        `INSERT INTO faq_unanswered (id, question, match_text, reason, faq_id) VALUES ${texts.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        texts.flatMap((text) => [randomUUID(), text, this.analyzer.matchText(text), reason, faqId]),
      );
    if (em) {
      await insert(em);
      return;
    }
    try {
      await insert(this.fork());
    } catch (err) {
      this.logger.warn({ err }, 'knowledge: could not log an unanswered question');
    }
  }

  /** Questions asked in [start, end), grouped by similarity, largest groups first. */
  async report(em: EntityManager, start: Date, end: Date): Promise<UnansweredCluster[]> {
    const rows = await em.execute<Array<{ question: string; match_text: string; reason: UnansweredReason; asked_at: Date }>>(
      `SELECT question, match_text, reason, asked_at FROM faq_unanswered WHERE asked_at >= ? AND asked_at < ? ORDER BY asked_at DESC LIMIT ${REPORT_ROWS}`,
      [start, end],
    );
    return clusterQuestions(
      rows.map((r) => ({ question: r.question, key: r.match_text, reason: r.reason, askedAt: new Date(r.asked_at) })),
    ).slice(0, REPORT_CLUSTERS);
  }
}

interface Asked {
  question: string;
  /** Normalised text compared for similarity. */
  key: string;
  reason: UnansweredReason;
  askedAt: Date;
}

/**
 * Greedy single-pass grouping: the most frequent wordings first, each joining the first group whose leading
 * wording it resembles (Dice coefficient of character bigrams ≥ CLUSTER_SIMILARITY), else starting one.
 */
export function clusterQuestions(asked: readonly Asked[]): UnansweredCluster[] {
  const byKey = new Map<string, Asked[]>();
  for (const a of asked) {
    const key = a.key.replace(/[^\p{L}\p{N}]/gu, '') || a.key;
    byKey.set(key, [...(byKey.get(key) ?? []), a]);
  }
  const wordings = [...byKey.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const groups: Array<{ grams: Set<string>; wordings: Array<[string, Asked[]]> }> = [];
  for (const [key, list] of wordings) {
    const grams = bigramSet(key);
    const home = groups.find((g) => dice(g.grams, grams) >= CLUSTER_SIMILARITY);
    if (home) home.wordings.push([key, list]);
    else groups.push({ grams, wordings: [[key, list]] });
  }
  return groups
    .map((g) => {
      const all = g.wordings.flatMap(([, list]) => list);
      return {
        question: g.wordings[0][1][0].question,
        count: all.length,
        noResultCount: all.filter((a) => a.reason === UnansweredReason.NO_RESULT).length,
        notHelpfulCount: all.filter((a) => a.reason === UnansweredReason.NOT_HELPFUL).length,
        examples: g.wordings.slice(0, 5).map(([, list]) => list[0].question),
        lastAskedAt: new Date(Math.max(...all.map((a) => a.askedAt.getTime()))),
      };
    })
    .sort((a, b) => b.count - a.count || b.lastAskedAt.getTime() - a.lastAskedAt.getTime());
}

function bigramSet(text: string): Set<string> {
  const chars = Array.from(text);
  if (chars.length < 2) return new Set(chars);
  const out = new Set<string>();
  for (let i = 0; i + 1 < chars.length; i++) out.add(chars[i] + chars[i + 1]);
  return out;
}

function dice(a: Set<string>, b: Set<string>): number {
  if (!a.size || !b.size) return 0;
  let shared = 0;
  for (const g of a) if (b.has(g)) shared++;
  return (2 * shared) / (a.size + b.size);
}
