/** Trimmed, non-empty, without repeats, in the order given (skill tags, required skills, FAQ tags). */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((s) => s.trim()).filter(Boolean))];
}
