import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';

/** graphql-ws's subprotocol. */
export const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';

export type RawOutcome = { acked: true; socket: WebSocket } | { acked: false; code: number; reason: string };

/**
 * Opens a raw WebSocket, sends `connection_init` with `payload` (or none when `payload` is undefined and
 * `sendInit` is false) and reports either the ack (the socket is left open for the caller) or the close code.
 */
export function rawConnect(url: string, payload?: unknown, opts: { sendInit?: boolean; timeoutMs?: number } = {}): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, GRAPHQL_TRANSPORT_WS);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`neither ack nor close within ${opts.timeoutMs ?? 5000} ms`));
    }, opts.timeoutMs ?? 5000);
    socket.on('open', () => {
      if (opts.sendInit === false) return;
      socket.send(JSON.stringify(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload }));
    });
    socket.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string };
      if (msg.type === 'connection_ack') {
        clearTimeout(timer);
        resolve({ acked: true, socket });
      }
    });
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ acked: false, code, reason: String(reason) });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Closes a raw socket and waits for the close handshake. */
export function closeRaw(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.close(1000);
  });
}

/** Records the client's `connected` and `closed` events (with close codes) from the moment it is called. */
export function watchClient(client: Client) {
  const closes: number[] = [];
  let connections = 0;
  const closeWaiters: Array<(code: number) => void> = [];
  const connectWaiters: Array<() => void> = [];
  client.on('connected', () => {
    connections += 1;
    connectWaiters.splice(0).forEach((w) => w());
  });
  client.on('closed', (event) => {
    const code = (event as { code?: number }).code ?? -1;
    closes.push(code);
    closeWaiters.splice(0).forEach((w) => w(code));
  });
  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  };
  return {
    closes,
    get connections() {
      return connections;
    },
    /** Resolves when the client is connected (acknowledged); at once if it already was. */
    connected(timeoutMs = 5000): Promise<void> {
      if (connections > 0) return Promise.resolve();
      return within(new Promise<void>((r) => connectWaiters.push(r)), timeoutMs, 'no connection_ack');
    },
    /** The code of the next close (or of the last one, if it already closed). */
    closed(timeoutMs = 5000): Promise<number> {
      if (closes.length) return Promise.resolve(closes[closes.length - 1]);
      return within(new Promise<number>((r) => closeWaiters.push(r)), timeoutMs, 'the socket did not close');
    },
  };
}

export interface WsResult<T> {
  data?: T | null;
  /** Execution errors (in a `next` message) or the operation's `error` message. */
  errors?: Array<{ message: string; extensions?: Record<string, any> }>;
  /** Set when the socket closed instead of the operation answering. */
  closeCode?: number;
}

/** Runs one query or mutation over graphql-ws and resolves with its single result, its errors, or the close. */
export function wsExec<TData, TVars>(
  client: Client,
  doc: TypedDocumentNode<TData, TVars> | string,
  variables?: TVars,
): Promise<WsResult<TData>> {
  return new Promise((resolve) => {
    let result: WsResult<TData> = {};
    client.subscribe<TData>(
      { query: typeof doc === 'string' ? doc : print(doc), variables: variables as Record<string, unknown> | undefined },
      {
        next: (value) => {
          result = { data: value.data as TData | null | undefined, errors: value.errors as WsResult<TData>['errors'] };
        },
        error: (err) => {
          if (Array.isArray(err)) resolve({ errors: err });
          else resolve({ closeCode: (err as { code?: number }).code ?? -1 });
        },
        complete: () => resolve(result),
      },
    );
  });
}

/** The value of a prom-client gauge/counter without labels in a /metrics text. */
export function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`metric ${name} not found in /metrics`);
  return Number(match[1]);
}

interface EventSource<T> {
  next(timeoutMs?: number): Promise<{ data?: T | null }>;
}

/**
 * graphql-ws acknowledges a connection before the server has registered a subscription on its topic (and,
 * with Redis, before the Redis SUBSCRIBE has gone through), so an event published right after `connected`
 * may be missed. Publishes with `publishOne` until one arrives, then drains stragglers up to the last one
 * published: afterwards the subscription is known to be live and its queue empty.
 */
export async function untilLive<T>(
  sub: EventSource<T>,
  publishOne: (attempt: number) => Promise<string>,
  idOf: (data: T | null | undefined) => string | undefined,
  opts: { attempts?: number; waitMs?: number } = {},
): Promise<void> {
  const attempts = opts.attempts ?? 20;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const id = await publishOne(attempt);
    let got: string | undefined;
    try {
      got = idOf((await sub.next(opts.waitMs ?? 250)).data);
    } catch {
      continue; // not registered yet
    }
    while (got !== id) got = idOf((await sub.next(5000)).data);
    return;
  }
  throw new Error(`the subscription delivered nothing after ${attempts} attempts`);
}
