import { Migration } from '@mikro-orm/migrations';

/**
 * `records_search_vector` (the bigram index of messages, migration records) gives the same tsvector, built in
 * linear time. The SQL version took `substr(content, i, 2)` for every i, and each call walks the multibyte text
 * from its start: one 5,000-character Chinese message cost ~110 ms of PostgreSQL's CPU to insert (and again in
 * a search's recheck), so a customer sending long messages at the rate limit kept a core busy. This one splits
 * the text into characters once and joins the pairs: ~4.5 ms for that message; a short one costs what it did
 * (~20 µs). The output is equal for every text (test/records/search-vector.test.ts compares the two), so the
 * indexes built on it stay valid and are not rebuilt.
 */
export class Migration20261205012757_search_bigrams_plpgsql extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE OR REPLACE FUNCTION records_search_vector(content text) RETURNS tsvector
      LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
      DECLARE
        chars text[] := string_to_array(content, NULL);
        pairs text[] := '{}';
      BEGIN
        FOR i IN 1 .. coalesce(array_length(chars, 1), 0) - 1 LOOP
          pairs[i] := chars[i] || chars[i + 1];
        END LOOP;
        RETURN to_tsvector('simple'::regconfig, array_to_string(pairs, ' '));
      END
      $$`);
  }
}
