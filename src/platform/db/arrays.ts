/**
 * A PostgreSQL array literal for one `?` parameter (`?::uuid[]`, `?::text[]`). knex would expand a JS
 * array into a list of parameters instead; this keeps it one value, each element quoted and escaped.
 */
export function pgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}
