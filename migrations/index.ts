import { Migration20261121000000_foundation } from './Migration20261121000000_foundation';

/** Applied in this order at start-up; append new migrations at the end. */
export const MIGRATIONS = [
  { name: 'Migration20261121000000_foundation', class: Migration20261121000000_foundation },
];
