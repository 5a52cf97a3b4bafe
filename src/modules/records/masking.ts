import { PiiDetector } from './pii-detector';
import type { MaskShape, PiiRules } from './pii-rules';

/** One detector per rules object: compiling the patterns again for every text would cost more than the scan. */
const detectors = new WeakMap<PiiRules, PiiDetector>();

function detectorFor(rules: PiiRules): PiiDetector {
  let d = detectors.get(rules);
  if (!d) detectors.set(rules, (d = new PiiDetector(rules)));
  return d;
}

/**
 * The text with every piece of personal data masked by its rule's shape (138****8888, 110***********1234,
 * 6222 **** **** 1234, zhan***@example.com); everything else is left byte for byte. Idempotent: a masked
 * value never matches again (the mask character is no letter or digit), so masking twice changes nothing.
 */
export function maskText(text: string, rules: PiiRules): string {
  const matches = detectorFor(rules).find(text);
  if (!matches.length) return text;
  const shapes = new Map(rules.rules.map((r) => [r.type, r.mask]));
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.valueStart) + maskValue(text.slice(m.valueStart, m.valueEnd), shapes.get(m.type)!);
    at = m.valueEnd;
  }
  return out + text.slice(at);
}

/** One value masked: its kept start and end, the rest hidden; at least one character is always hidden. */
export function maskValue(value: string, shape: MaskShape): string {
  const chars = [...value];
  const significant = chars.filter((c) => c !== ' ' && c !== '-');
  const n = significant.length;
  let keepStart = shape.keepStart;
  let keepEnd = shape.keepEnd;
  while (keepStart + keepEnd >= n && keepStart + keepEnd > 0) {
    if (keepEnd > 0) keepEnd--;
    else keepStart--;
  }
  const head = significant.slice(0, keepStart).join('');
  const tail = significant.slice(n - keepEnd).join('');
  const hidden = n - keepStart - keepEnd;
  if (shape.fill > 0) return head + shape.maskChar.repeat(shape.fill) + tail;
  if (shape.groupSize > 0) {
    const groups = [
      ...chunks(head, shape.groupSize),
      ...chunks(shape.maskChar.repeat(hidden), shape.groupSize),
      ...chunks(tail, shape.groupSize),
    ];
    return groups.join(' ');
  }
  // Separators stay where they were written: 138-****-5678.
  let seen = 0;
  return chars
    .map((c) => {
      if (c === ' ' || c === '-') return c;
      const i = seen++;
      return i < keepStart || i >= n - keepEnd ? c : shape.maskChar;
    })
    .join('');
}

function chunks(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}
