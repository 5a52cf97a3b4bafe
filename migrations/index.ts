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
import { Migration20261204010000_encryption } from './Migration20261204010000_encryption';
import { Migration20261204020000_records } from './Migration20261204020000_records';
import { Migration20261204030000_operations } from './Migration20261204030000_operations';
import { Migration20261204050000_staffing } from './Migration20261204050000_staffing';
import { Migration20261204060000_presence_history } from './Migration20261204060000_presence_history';
import { Migration20261204061000_quality } from './Migration20261204061000_quality';
import { Migration20261204070000_faq_phrasings } from './Migration20261204070000_faq_phrasings';
import { Migration20261205050000_integrations } from './Migration20261205050000_integrations';
import { Migration20261205060000_webhooks } from './Migration20261205060000_webhooks';
import { Migration20261205070000_locales } from './Migration20261205070000_locales';
import { Migration20261206040000_message_path } from './Migration20261206040000_message_path';

import { Migration20261206020000_conversation_locale } from './Migration20261206020000_conversation_locale';
import { Migration20261207010000_texts_at_read_time } from './Migration20261207010000_texts_at_read_time';
import { Migration20261208010000_quick_reply_faq } from './Migration20261208010000_quick_reply_faq';
import { Migration20261204214059_chat_append_planned_once } from './Migration20261204214059_chat_append_planned_once';
import { Migration20261205012757_search_bigrams_plpgsql } from './Migration20261205012757_search_bigrams_plpgsql';

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
  { name: 'Migration20261204010000_encryption', class: Migration20261204010000_encryption },
  { name: 'Migration20261204020000_records', class: Migration20261204020000_records },
  { name: 'Migration20261204030000_operations', class: Migration20261204030000_operations },
  { name: 'Migration20261204050000_staffing', class: Migration20261204050000_staffing },
  { name: 'Migration20261204060000_presence_history', class: Migration20261204060000_presence_history },
  { name: 'Migration20261204061000_quality', class: Migration20261204061000_quality },
  { name: 'Migration20261204070000_faq_phrasings', class: Migration20261204070000_faq_phrasings },
  { name: 'Migration20261205050000_integrations', class: Migration20261205050000_integrations },
  { name: 'Migration20261205060000_webhooks', class: Migration20261205060000_webhooks },
  { name: 'Migration20261205070000_locales', class: Migration20261205070000_locales },
  { name: 'Migration20261206040000_message_path', class: Migration20261206040000_message_path },

  { name: 'Migration20261206020000_conversation_locale', class: Migration20261206020000_conversation_locale },
  { name: 'Migration20261207010000_texts_at_read_time', class: Migration20261207010000_texts_at_read_time },
  { name: 'Migration20261208010000_quick_reply_faq', class: Migration20261208010000_quick_reply_faq },
  { name: 'Migration20261204214059_chat_append_planned_once', class: Migration20261204214059_chat_append_planned_once },
  { name: 'Migration20261205012757_search_bigrams_plpgsql', class: Migration20261205012757_search_bigrams_plpgsql },
];
