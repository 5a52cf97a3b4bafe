import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * A client that has left this much unread (bytes written in earlier turns that its TCP connection has not
 * taken yet) is not reading: its socket is closed instead of holding more of the process's memory. Well above
 * any single answer or a burst of chat events (a chat event is ~300 bytes).
 */
export const UNREAD_LIMIT_BYTES = 8 * 1024 * 1024;

/** WebSocket close code 1013, "try again later": graphql-ws clients reconnect after it (after 1008 or 4500 they do not). */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * The close of a client that left more than UNREAD_LIMIT_BYTES unread: 1013, so a chat stream resumes from its
 * `afterSeq` (1008, policy violation, would end it for good): a client whose network stalled comes back; one
 * that never reads is closed again.
 */
export const CLOSE_NOT_READING = CLOSE_TRY_AGAIN_LATER;

const corked = new Set<Socket>();
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
}

type SendCallback = (err?: Error) => void;

/**
 * Frames sent to one socket within one turn of the event loop leave it in one write (one system call)
 * instead of one each: a sendMessage's answer (`next`, then `complete`) and the sender's own copy of the
 * message on its subscription would otherwise take three, and writes were the largest single cost of a
 * message in the profiles. The socket is corked at its first send of a turn and uncorked once the turn's
 * callbacks and promises have run (setImmediate), so nothing waits longer than that turn.
 *
 * A send's callback is called once the frame is queued, not once it has left: graphql-ws waits for it
 * before its next frame, so `complete` would otherwise miss the `next`'s write and take one of its own. What
 * that wait used to bound (the frames of a client that does not read) is bounded by UNREAD_LIMIT_BYTES.
 */
export function coalesceWrites(ws: WebSocket, raw: Socket, onNotReading: () => void = () => {}): void {
  const send = ws.send.bind(ws) as (data: unknown, options?: object) => void;
  ws.send = ((data: unknown, optionsOrCallback?: object | SendCallback, callback?: SendCallback) => {
    const done = typeof optionsOrCallback === 'function' ? (optionsOrCallback as SendCallback) : callback;
    const options = typeof optionsOrCallback === 'function' ? undefined : optionsOrCallback;
    if (!corked.has(raw)) {
      // What is still waiting here was written in earlier turns and not taken by the client's connection.
      if (raw.writableLength > UNREAD_LIMIT_BYTES && ws.readyState === ws.OPEN) {
        ws.close(CLOSE_NOT_READING, 'Closed: the client is not reading what it is sent; reconnect');
        onNotReading();
      }
      raw.cork();
      corked.add(raw);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    }
    // A write that fails errors the socket, which ws then closes, and graphql-ws ends its operations on close;
    // a frame sent while it closes is dropped. Either way there is nothing for the sender to do.
    send(data, options);
    if (done) queueMicrotask(done); // called with no arguments: no error
  }) as WebSocket['send'];
}
