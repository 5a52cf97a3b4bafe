import type { Socket } from 'node:net';
import { WebSocket, type WebSocketServer } from 'ws';

/**
 * Keep-alive for every socket of a server with one timer: each sweep, a socket that received nothing since the
 * previous sweep is pinged, and one that was pinged then and still received nothing (no pong, no message) is
 * terminated (WS_HEARTBEAT_SECONDS). Replaces graphql-ws's keep-alive (a timer per socket, a ping and a pong timer every 12 s whether
 * the socket is busy or not): a socket that is talking needs no ping, and 5,000 idle sockets cost one timer
 * instead of 5,000 (memory per connection, and ~400 writes and timers a second).
 * Anything the socket received counts (`bytesRead` of the TCP socket), so no listener is added per socket.
 */
export function startHeartbeat(wss: WebSocketServer, intervalMs: number): { track(ws: WebSocket, raw: Socket): void; stop(): void } {
  const tracked = new Map<WebSocket, { raw: Socket; bytesRead: number; pinged: boolean }>();
  const sweep = () => {
    for (const [ws, state] of tracked) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const bytesRead = state.raw.bytesRead;
      if (bytesRead !== state.bytesRead) {
        state.bytesRead = bytesRead;
        state.pinged = false;
      } else if (state.pinged) {
        ws.terminate();
      } else {
        state.pinged = true;
        ws.ping();
      }
    }
  };
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  wss.once('close', () => clearInterval(timer));
  return {
    track(ws, raw) {
      tracked.set(ws, { raw, bytesRead: raw.bytesRead, pinged: false });
      ws.once('close', () => tracked.delete(ws));
    },
    stop() {
      clearInterval(timer);
    },
  };
}
