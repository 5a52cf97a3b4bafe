import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { WebSocket, type WebSocketServer } from 'ws';
import { startHeartbeat } from '../../src/platform/realtime/heartbeat';

/**
 * platform/realtime/heartbeat.ts spreads an interval's pings over the interval: a sweep of every socket at
 * once held the event loop for one write per silent socket (the real sockets are covered by
 * websocket-heartbeat.test.ts).
 */
class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  pings = 0;
  terminated = false;
  readonly raw = { bytesRead: 0 } as Socket;
  ping() {
    this.pings += 1;
  }
  terminate() {
    this.terminated = true;
    this.readyState = WebSocket.CLOSED;
    this.emit('close');
  }
}

describe('heartbeat sweep', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const INTERVAL_MS = 12_000;

  function start(count: number) {
    const wss = new EventEmitter() as unknown as WebSocketServer;
    const heartbeat = startHeartbeat(wss, INTERVAL_MS);
    const sockets = Array.from({ length: count }, () => new FakeSocket());
    for (const s of sockets) heartbeat.track(s as unknown as WebSocket, s.raw);
    return { heartbeat, sockets, pinged: () => sockets.filter((s) => s.pings > 0).length };
  }

  it('pings the silent sockets of an interval a slice at a time, each once', () => {
    const { heartbeat, sockets, pinged } = start(4_800);
    let most = 0;
    for (let elapsed = 0; elapsed < INTERVAL_MS; elapsed += 250) {
      const before = pinged();
      jest.advanceTimersByTime(250);
      most = Math.max(most, pinged() - before);
    }
    expect(pinged()).toBe(4_800);
    expect(sockets.every((s) => s.pings === 1)).toBe(true);
    expect(most).toBeLessThanOrEqual(4_800 / 40); // spread over the interval, not all in one sweep
    heartbeat.stop();
  });

  it('terminates a socket one interval after an unanswered ping, and spares one that received something', () => {
    const { heartbeat, sockets } = start(100);
    jest.advanceTimersByTime(INTERVAL_MS);
    expect(sockets.every((s) => s.pings === 1 && !s.terminated)).toBe(true);
    const [answering, ...silent] = sockets;
    (answering.raw as { bytesRead: number }).bytesRead = 2; // its pong
    jest.advanceTimersByTime(INTERVAL_MS);
    expect(silent.every((s) => s.terminated)).toBe(true);
    expect(answering.terminated).toBe(false);
    // The answering socket is silent again: pinged on its next turn, not terminated.
    jest.advanceTimersByTime(INTERVAL_MS);
    expect(answering.pings).toBe(2);
    expect(answering.terminated).toBe(false);
    heartbeat.stop();
  });

  it('forgets a closed socket', () => {
    const { heartbeat, sockets } = start(10);
    sockets[0].readyState = WebSocket.CLOSED;
    sockets[0].emit('close');
    jest.advanceTimersByTime(INTERVAL_MS * 3);
    expect(sockets[0].pings).toBe(0);
    expect(sockets.slice(1).every((s) => s.terminated)).toBe(true);
    heartbeat.stop();
  });
});
