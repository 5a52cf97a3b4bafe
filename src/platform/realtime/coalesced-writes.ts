import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const corked = new Set<Socket>();
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
}

/**
 * Frames sent to one socket within one turn of the event loop leave it in one write (one system call)
 * instead of one each: a sendMessage's answer (`next`, then `complete`) and the sender's own copy of the
 * message on its subscription would otherwise take three, and writes were the largest single cost of a
 * message in the profiles. The socket is corked at its first send of a turn and uncorked once the turn's
 * callbacks and promises have run (setImmediate), so nothing waits longer than that turn.
 */
export function coalesceWrites(ws: WebSocket, raw: Socket): void {
  const send = ws.send.bind(ws) as (...args: unknown[]) => void;
  ws.send = ((...args: unknown[]) => {
    if (!corked.has(raw)) {
      raw.cork();
      corked.add(raw);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    }
    send(...args);
  }) as WebSocket['send'];
}
