import { Migration20261121000000_foundation } from './Migration20261121000000_foundation';
import { Migration20261121010000_scheduling } from './Migration20261121010000_scheduling';

/** Applied in this order at start-up; append new migrations at the end. */
export const MIGRATIONS = [
  { name: 'Migration20261121000000_foundation', class: Migration20261121000000_foundation },
  { name: 'Migration20261121010000_scheduling', class: Migration20261121010000_scheduling },
];
