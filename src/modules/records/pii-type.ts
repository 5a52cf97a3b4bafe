import { registerEnumType } from 'type-graphql';

/** The kinds of personal data the detector finds (the values of every `piiTypes` column and field). */
export enum PiiType {
  PHONE = 'PHONE',
  ID_CARD = 'ID_CARD',
  BANK_CARD = 'BANK_CARD',
  EMAIL = 'EMAIL',
}
registerEnumType(PiiType, {
  name: 'PiiType',
  description:
    'PHONE: mainland mobile number; ID_CARD: resident ID number (GB 11643); BANK_CARD: card number passing the Luhn check; EMAIL: e-mail address',
});

/**
 * Detection order: where two kinds overlap, the earlier one wins (an ID number is not also read as a card; a
 * phone number used as an e-mail address, 13812345678@163.com, is the address).
 */
export const PII_TYPES: readonly PiiType[] = [PiiType.ID_CARD, PiiType.BANK_CARD, PiiType.EMAIL, PiiType.PHONE];
