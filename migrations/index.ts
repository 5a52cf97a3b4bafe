import { Migration20261121000000_foundation } from './Migration20261121000000_foundation';
import { Migration20261121010000_scheduling } from './Migration20261121010000_scheduling';
import { Migration20261121020000_leave } from './Migration20261121020000_leave';
import { Migration20261121030000_swaps } from './Migration20261121030000_swaps';
import { Migration20261122000000_conversations } from './Migration20261122000000_conversations';
import { Migration20261122010000_quick_replies } from './Migration20261122010000_quick_replies';
import { Migration20261122020000_conversation_lifecycle } from './Migration20261122020000_conversation_lifecycle';
import { Migration20261123050000_knowledge } from './Migration20261123050000_knowledge';
import { Migration20261124000000_tickets } from './Migration20261124000000_tickets';
import { Migration20261125000000_auto_answer } from './Migration20261125000000_auto_answer';
import { Migration20261126000000_ticket_auto_answer } from './Migration20261126000000_ticket_auto_answer';
import { Migration20261203000000_seats_counted } from './Migration20261203000000_seats_counted';
import { Migration20261203100000_first_reply } from './Migration20261203100000_first_reply';
import { Migration20261203110000_pii_types } from './Migration20261203110000_pii_types';
import { Migration20261204020000_records } from './Migration20261204020000_records';

/** Applied in this order at start-up; append new migrations at the end. */
export const MIGRATIONS = [
  { name: 'Migration20261121000000_foundation', class: Migration20261121000000_foundation },
  { name: 'Migration20261121010000_scheduling', class: Migration20261121010000_scheduling },
  { name: 'Migration20261121020000_leave', class: Migration20261121020000_leave },
  { name: 'Migration20261121030000_swaps', class: Migration20261121030000_swaps },
  { name: 'Migration20261122000000_conversations', class: Migration20261122000000_conversations },
  { name: 'Migration20261122010000_quick_replies', class: Migration20261122010000_quick_replies },
  { name: 'Migration20261122020000_conversation_lifecycle', class: Migration20261122020000_conversation_lifecycle },
  { name: 'Migration20261123050000_knowledge', class: Migration20261123050000_knowledge },
  { name: 'Migration20261124000000_tickets', class: Migration20261124000000_tickets },
  { name: 'Migration20261125000000_auto_answer', class: Migration20261125000000_auto_answer },
  { name: 'Migration20261126000000_ticket_auto_answer', class: Migration20261126000000_ticket_auto_answer },
  { name: 'Migration20261203000000_seats_counted', class: Migration20261203000000_seats_counted },
  { name: 'Migration20261203100000_first_reply', class: Migration20261203100000_first_reply },
  { name: 'Migration20261203110000_pii_types', class: Migration20261203110000_pii_types },
  { name: 'Migration20261204020000_records', class: Migration20261204020000_records },
];
