/** The values a quick reply's placeholders are filled with when it is sent. */
export interface TemplateValues {
  customerName: string;
  agentName: string;
}

export const PLACEHOLDERS = ['customerName', 'agentName'] as const satisfies ReadonlyArray<keyof TemplateValues>;

const PLACEHOLDER = /\{(customerName|agentName)\}/g;

/**
 * Fills `{customerName}` and `{agentName}` in one pass over `content`. Anything else in braces ({orderNo},
 * {Customername}, a lone "{") is left as it is. Values go in literally: a customer called "{agentName}" or
 * "$&" stays exactly that, because the inserted text is never scanned again and the replacement is a
 * function (so `$` patterns mean nothing).
 */
export function fillTemplate(content: string, values: TemplateValues): string {
  return content.replace(PLACEHOLDER, (_match, name: keyof TemplateValues) => values[name]);
}
