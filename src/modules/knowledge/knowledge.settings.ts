import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SearchParams } from './search';
import { isRecord } from '../../platform/json';

/**
 * The knowledge base's configuration file (KNOWLEDGE_CONFIG_FILE; default `config/knowledge.json`, shipped):
 * FAQ categories, stop words and search weights (synonyms live in the lexicon, lexicon.ts). Read and checked once at start-up by `loadConfig`;
 * any problem stops start-up with the file and the field named.
 */
export interface KnowledgeSettings {
  categories: string[];
  stopWords: string[];
  search: SearchParams;
}

export const DEFAULT_SEARCH_PARAMS: SearchParams = {
  k1: 1.2,
  b: 0.75,
  titleWeight: 2,
  bodyWeight: 1,
  bigramWeight: 0.5,
  homophoneWeight: 1,
  trigramWeight: 0.3,
  minScore: 0.05,
  bestAnswerMinScore: 0.2,
};

/** Where a file shipped in the repository's `config/` folder is, from src/ and from dist/src/ alike. */
export function shippedConfigFile(name: string): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'config', name);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve('config', name);
}

/** The parsed JSON of a configuration file, or an Error saying what is wrong with it. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export function parseKnowledgeSettings(raw: unknown, source: string): KnowledgeSettings {
  const problem = (field: string, message: string) => new Error(`${source}: ${field} ${message}`);
  if (!isRecord(raw)) throw problem('(the file)', 'must be a JSON object');

  const categories = stringList(raw.categories, 'categories', problem, { max: 50 });
  if (!categories.length) throw problem('categories', 'must name at least one category');
  if (new Set(categories).size !== categories.length) throw problem('categories', 'must not repeat a category');

  const stopWords = raw.stopWords === undefined ? [] : stringList(raw.stopWords, 'stopWords', problem, { max: 20 });

  if (raw.synonyms !== undefined)
    throw problem('synonyms', 'moved to the lexicon file (KNOWLEDGE_LEXICON_FILE, config/lexicon.json): list them there');

  const search: SearchParams = { ...DEFAULT_SEARCH_PARAMS };
  if (raw.search !== undefined) {
    if (!isRecord(raw.search)) throw problem('search', 'must be an object');
    const ranges: Record<keyof SearchParams, [number, number]> = {
      k1: [0, 10],
      b: [0, 1],
      titleWeight: [0, 100],
      bodyWeight: [0, 100],
      bigramWeight: [0, 10],
      homophoneWeight: [0, 10],
      trigramWeight: [0, 1],
      minScore: [0, 1],
      bestAnswerMinScore: [0, 1],
    };
    for (const [key, value] of Object.entries(raw.search)) {
      if (!(key in ranges)) throw problem(`search.${key}`, `is not a setting (known: ${Object.keys(ranges).join(', ')})`);
      const [min, max] = ranges[key as keyof SearchParams];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
        throw problem(`search.${key}`, `must be a number from ${min} to ${max}`);
      }
      search[key as keyof SearchParams] = value;
    }
    if (search.titleWeight + search.bodyWeight <= 0) throw problem('search', 'titleWeight and bodyWeight must not both be 0');
  }
  return { categories, stopWords, search };
}

function stringList(value: unknown, field: string, problem: (f: string, m: string) => Error, opts: { max: number }): string[] {
  if (!Array.isArray(value)) throw problem(field, 'must be an array of strings');
  return value.map((v, i) => {
    if (typeof v !== 'string' || !v.trim() || [...v.trim()].length > opts.max) {
      throw problem(`${field}[${i}]`, `must be a non-empty string of at most ${opts.max} characters`);
    }
    return v.trim();
  });
}
