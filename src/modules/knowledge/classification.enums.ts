/** Registered as GraphQL enums in classification.types.ts; plain here, so configuration loading needs no GraphQL. */
export enum MessageIntent {
  PRODUCT_INQUIRY = 'PRODUCT_INQUIRY',
  ORDER_STATUS = 'ORDER_STATUS',
  AFTER_SALES = 'AFTER_SALES',
  COMPLAINT = 'COMPLAINT',
  ACCOUNT_SUPPORT = 'ACCOUNT_SUPPORT',
  GENERAL = 'GENERAL',
}

export enum Sentiment {
  POSITIVE = 'POSITIVE',
  NEUTRAL = 'NEUTRAL',
  NEGATIVE = 'NEGATIVE',
}
