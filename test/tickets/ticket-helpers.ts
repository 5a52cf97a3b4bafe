import { CreateTicketDocument, CreateTicketInput, NotificationsDocument } from '../generated/graphql';
import type { GqlResult, TestApp } from '../support/harness';

export type Person = { id: string; token: string };
export const code = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.code;
/** Minutes between two ISO instants. */
export const minutes = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 60_000;

/**
 * For the ticket suites: `open` a ticket (the defaults fill what the test leaves out), `openOk` (failing the
 * test on any error) and a user's `inbox` of one notification kind. `app` is read at each call, so the
 * helpers can be made before beforeAll starts the server.
 */
export function ticketHelpers(app: () => TestApp, defaults: Pick<CreateTicketInput, 'subject' | 'category'> & Partial<CreateTicketInput>) {
  const open = (token: string, input: Partial<CreateTicketInput> = {}) =>
    app().exec(CreateTicketDocument, { input: { ...defaults, ...input } }, token);
  const openOk = async (token: string, input: Partial<CreateTicketInput> = {}) => {
    const res = await open(token, input);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.createTicket;
  };
  const inbox = async (token: string, kind: string) =>
    (await app().data(NotificationsDocument, { first: 100 }, token)).notifications.nodes.filter((n) => n.kind === kind);
  return { open, openOk, inbox };
}
