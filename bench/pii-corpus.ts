import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PiiType } from '../src/modules/records/pii-type';

/** One labelled text of test/records/pii-corpus.json: the types it holds (none for a hard negative). */
export interface LabelledText {
  text: string;
  types: PiiType[];
}

/** The corpus shipped with the tests, found from bench/ and dist/bench/ alike. */
export function loadPiiCorpus(): LabelledText[] {
  let dir = __dirname;
  for (let i = 0; i < 4 && !existsSync(path.join(dir, 'test/records/pii-corpus.json')); i++) dir = path.dirname(dir);
  const raw = JSON.parse(readFileSync(path.join(dir, 'test/records/pii-corpus.json'), 'utf8')) as { texts: LabelledText[] };
  return raw.texts;
}

export interface TypeScore {
  type: PiiType;
  truePositives: number;
  precision: number;
  recall: number;
  /** Texts holding the type that it did not find / texts it found the type in that do not hold it. */
  missed: string[];
  wrong: string[];
}

/** Precision and recall per type over the texts (a text counts once per type). */
export function corpusScores(corpus: LabelledText[], detect: (text: string) => PiiType[]): TypeScore[] {
  const found = corpus.map((t) => new Set(detect(t.text)));
  return Object.values(PiiType).map((type) => {
    const missed = corpus.filter((t, i) => t.types.includes(type) && !found[i].has(type)).map((t) => t.text);
    const wrong = corpus.filter((t, i) => !t.types.includes(type) && found[i].has(type)).map((t) => t.text);
    const truePositives = corpus.filter((t, i) => t.types.includes(type) && found[i].has(type)).length;
    return {
      type,
      truePositives,
      precision: truePositives + wrong.length ? truePositives / (truePositives + wrong.length) : 1,
      recall: truePositives + missed.length ? truePositives / (truePositives + missed.length) : 1,
      missed,
      wrong,
    };
  });
}

/**
 * The baseline: the same four kinds found by patterns alone, as a naive detector would (no GB 11643 check
 * digit or birth date, no Luhn, no overlap rules). What the checks add is the difference in precision.
 */
const NAIVE: Array<[PiiType, RegExp]> = [
  [PiiType.PHONE, /(?<!\d)1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)/],
  [PiiType.ID_CARD, /(?<!\d)(?:\d{17}[\dXx]|\d{15})(?![\dXx])/],
  [PiiType.BANK_CARD, /(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)/],
  [PiiType.EMAIL, /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/],
];

export function naiveTypes(text: string): PiiType[] {
  return NAIVE.filter(([, re]) => re.test(text)).map(([type]) => type);
}
