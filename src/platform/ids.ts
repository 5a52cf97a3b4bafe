/** Ids are UUIDs (v4 from crypto.randomUUID); anything else is refused before it reaches SQL. */
export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
