import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, OperationTypeNode, parse, type OperationDefinitionNode } from 'graphql';
import { DEFAULT_DEMO_PASSWORD, seed } from '../../scripts/seed-demo';
import { startTestApp, subscribe, TestApp } from '../support/harness';
import { watchClient } from '../support/ws';

/**
 * The README's "Your first chat, in two tabs", run exactly as written: every ```graphql block of the section
 * in order (its first line names the step and the tab: `# 7 · Agent tab: …`), with the Headers tab JSON of
 * the section, against a server holding `npm run seed:demo`'s organisation. Queries and mutations go over
 * HTTP, subscriptions over graphql-ws with the Authorization in connection_init, as the playground sends them.
 * If the README changes, this runs the new text; if the API changes under it, this fails.
 */

const README = path.join(__dirname, '../../README.md');
const HEADING = '### Your first chat, in two tabs';
const TABS = ['Agent', 'Agent live', 'Customer', 'Customer live'] as const;
type Tab = (typeof TABS)[number];
type Side = 'agent' | 'customer';

/** What the playground's Headers tab holds before anyone pastes a token (src/playground.ts). */
const PLAYGROUND_DEFAULT_HEADERS = { Authorization: 'Bearer <paste the token from login here>' };

interface Step {
  n: number;
  tab: Tab;
  side: Side;
  name: string;
  type: OperationTypeNode;
  text: string;
}

function readWalkthrough(): { steps: Step[]; headers: Map<Side, string> } {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(`\n${HEADING}\n`);
  if (start < 0) throw new Error(`README.md has no "${HEADING}" section`);
  const body = readme.slice(start + HEADING.length + 2);
  const section = body.slice(0, body.search(/^#{2,3} /m));
  const steps: Step[] = [];
  const headers = new Map<Side, string>();
  for (const [, lang, text] of section.matchAll(/^```(graphql|json)\n([\s\S]*?)^```$/gm)) {
    if (lang === 'json') {
      const side = /<(agent|customer) token>/.exec(text)?.[1] as Side | undefined;
      if (!side) throw new Error(`a Headers block names no <agent token> or <customer token>: ${text}`);
      headers.set(side, text.trim());
      continue;
    }
    const marker = /^# (\d+) · (.+?) tab: /.exec(text);
    if (!marker || !TABS.includes(marker[2] as Tab))
      throw new Error(`a graphql block does not start with "# N · <${TABS.join('|')}> tab: …": ${text}`);
    const operations = parse(text).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    if (operations.length !== 1 || !operations[0].name) throw new Error(`step ${marker[1]} must hold one named operation`);
    const tab = marker[2] as Tab;
    steps.push({
      n: Number(marker[1]),
      tab,
      side: tab.startsWith('Agent') ? 'agent' : 'customer',
      name: operations[0].name.value,
      type: operations[0].operation,
      text,
    });
  }
  return { steps, headers };
}

type Event = { data?: any; errors?: readonly any[] };
type Subscription = ReturnType<typeof subscribe<any, any>>;

/** Reads a subscription's events until one matches (others, such as the sender's own messages, are passed over). */
async function until(sub: Subscription, what: string, match: (data: any) => boolean): Promise<any> {
  const seen: unknown[] = [];
  for (;;) {
    let event: Event;
    try {
      event = await sub.next(10_000);
    } catch {
      throw new Error(`no ${what}; saw ${JSON.stringify(seen)}${sub.error ? `, then the error ${JSON.stringify(sub.error)}` : ''}`);
    }
    if (event.errors?.length) throw new Error(`${what}: ${JSON.stringify(event.errors)}`);
    if (match(event.data)) return event.data;
    seen.push(event.data);
  }
}

describe('the README walkthrough: a whole chat in two tabs', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(); // ROUTING_REQUIRE_SHIFT on, as in production: the demo roster puts the agents on duty
    await seed(app.services, app.services.orm, app.services.config, DEFAULT_DEMO_PASSWORD, 'the test database', () => undefined);
  }, 180_000);
  afterAll(() => app?.stop());

  it('runs every step as pasted, and each tab sees what the README says it sees', async () => {
    const { steps, headers } = readWalkthrough();
    expect(steps.map((s) => s.n)).toEqual(steps.map((_, i) => i + 1));
    expect([...headers.keys()].sort()).toEqual(['agent', 'customer']);

    const tokens = new Map<Side, string>();
    const results = new Map<string, any>();
    const subscriptions = new Map<string, Subscription>();
    let conversationId: string | null = null;

    /** The Headers tab of a step's tab: the README's JSON with the side's token once it has one, else the playground's default. */
    const headersOf = (side: Side): Record<string, string> => {
      const token = tokens.get(side);
      return token ? JSON.parse(headers.get(side)!.replace(`<${side} token>`, token)) : PLAYGROUND_DEFAULT_HEADERS;
    };
    const pasted = (step: Step): string => {
      let text = step.text;
      if (text.includes('<conversation id>')) {
        if (!conversationId) throw new Error(`step ${step.n} needs <conversation id> before a step answered one`);
        text = text.replaceAll('<conversation id>', conversationId);
      }
      const unknown = /"<[^>]+>"/.exec(text);
      if (unknown) throw new Error(`step ${step.n} holds the placeholder ${unknown[0]}, which no earlier step answers`);
      return text;
    };

    const inbox = () => subscriptions.get('AgentInbox')!;
    const chat = () => subscriptions.get('ChatEvents')!;
    const CHECKS: Record<string, () => Promise<void>> = {
      AgentSignIn: async () => expect(results.get('AgentSignIn').login.user).toEqual({ displayName: '黄磊', role: 'AGENT' }),
      AgentInbox: async () => undefined, // connected above: the agent is online
      GoAvailable: async () => expect(results.get('GoAvailable').setPresenceStatus).toEqual({ status: 'AVAILABLE', online: true }),
      CustomerSignIn: async () => expect(results.get('CustomerSignIn').login.user).toEqual({ displayName: '李明', role: 'CUSTOMER' }),
      AskForHelp: async () => {
        const answer = results.get('AskForHelp').requestService;
        expect(answer).toMatchObject({
          status: 'ASSIGNED',
          queueReason: null,
          position: null,
          conversation: { status: 'ACTIVE', agent: { displayName: '黄磊' } },
        });
        await until(
          inbox(),
          'ASSIGNED in the agent inbox',
          (d) => d.inbox.type === 'ASSIGNED' && d.inbox.conversationId === conversationId,
        );
      },
      ChatEvents: async () => {
        const first = await until(chat(), 'message 1 replayed', (d) => d.conversationEvents.type === 'MESSAGE');
        expect(first.conversationEvents.message).toMatchObject({ seq: 1, senderRole: 'CUSTOMER', content: '你好，我想修改订单的收货地址' });
      },
      AgentReplies: async () => {
        expect(results.get('AgentReplies').sendMessage).toEqual({ seq: 2, status: 'SENT' });
        const m = await until(chat(), 'message 2 on Customer live', (d) => d.conversationEvents.message?.seq === 2);
        expect(m.conversationEvents.message).toMatchObject({ senderRole: 'AGENT', content: expect.stringContaining('黄磊') });
      },
      CustomerReads: async () => {
        expect(results.get('CustomerReads').markRead).toEqual({ kind: 'READ', upToSeq: 2, updated: 1 });
        await until(
          chat(),
          'the READ receipt on Customer live',
          (d) => d.conversationEvents.receipt?.kind === 'READ' && d.conversationEvents.receipt.upToSeq === 2,
        );
      },
      CustomerReplies: async () => {
        expect(results.get('CustomerReplies').sendMessage).toEqual({ seq: 3, status: 'SENT' });
        await until(inbox(), 'message 3 in the agent inbox', (d) => d.inbox.type === 'MESSAGE' && d.inbox.message?.seq === 3);
        await until(chat(), 'message 3 on Customer live', (d) => d.conversationEvents.message?.seq === 3);
      },
      AgentReadsChat: async () => {
        const messages = results.get('AgentReadsChat').messages.messages;
        expect(messages.map((m: any) => [m.seq, m.senderRole])).toEqual([
          [1, 'CUSTOMER'],
          [2, 'AGENT'],
          [3, 'CUSTOMER'],
        ]);
        expect(messages[1].status).toBe('READ');
      },
      AgentMarksRead: async () => {
        expect(results.get('AgentMarksRead').markRead).toMatchObject({ kind: 'READ', upToSeq: 3 });
        await until(
          chat(),
          "the agent's READ receipt on Customer live",
          (d) => d.conversationEvents.receipt?.kind === 'READ' && d.conversationEvents.receipt.upToSeq === 3,
        );
      },
      AgentEndsChat: async () => {
        expect(results.get('AgentEndsChat').endConversation).toMatchObject({ status: 'ENDED', endReason: 'AGENT' });
        await until(chat(), 'ENDED on Customer live', (d) => d.conversationEvents.status?.change === 'ENDED');
        await until(inbox(), 'ENDED in the agent inbox', (d) => d.inbox.type === 'ENDED' && d.inbox.conversationId === conversationId);
      },
      CustomerRates: async () =>
        expect(results.get('CustomerRates').rateConversation).toMatchObject({ rating: 5, ratingComment: '很快就改好了，谢谢！' }),
    };

    for (const step of steps) {
      const text = pasted(step);
      const sent = headersOf(step.side);
      if (step.type === OperationTypeNode.SUBSCRIPTION) {
        // As the playground's page script does: the Headers tab's Authorization becomes connection_init's.
        const authorization = Object.entries(sent).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
        const client = app.ws(null, { connectionParams: { authorization } });
        const watch = watchClient(client);
        subscriptions.set(step.name, subscribe<any, any>(client, text));
        await watch.connected();
      } else {
        const res = await app.exec(text, undefined, null, sent);
        if (res.errors?.length) throw new Error(`step ${step.n} (${step.name}) failed: ${JSON.stringify(res.errors)}`);
        results.set(step.name, res.data);
        const login = (res.data as any)?.login;
        if (login?.token) tokens.set(step.side, login.token);
        conversationId ??= (res.data as any)?.requestService?.conversation?.id ?? null;
      }
      await check(step.name);
    }
    // Every step the README promises was checked below, and nothing else ran.
    expect([...results.keys(), ...subscriptions.keys()].sort()).toEqual(Object.keys(CHECKS).sort());

    async function check(name: string): Promise<void> {
      const expectation = CHECKS[name];
      if (!expectation) throw new Error(`the README has a step ${name} that this test does not check: add what it should show`);
      await expectation();
    }
  });
});
