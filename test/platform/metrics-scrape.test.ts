import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Metrics } from '../../src/platform/metrics';

/**
 * A scrape of /metrics must not hold the event loop for work that grows with the open sockets: prom-client's
 * defaults read /proc/self/fd synchronously and list every handle (platform/metrics.ts).
 */
describe('/metrics scrape', () => {
  const openFds = (text: string) => Number(/^process_open_fds (\d+)$/m.exec(text)?.[1]);

  it('counts open file descriptors without reading them synchronously, and lists no handles', async () => {
    const metrics = new Metrics();
    const readdirSync = jest.spyOn(fs, 'readdirSync');
    try {
      const text = await metrics.registry.metrics();
      expect(readdirSync).not.toHaveBeenCalledWith('/proc/self/fd');
      expect(openFds(text)).toBeGreaterThan(2);
      expect(text).not.toMatch(/^nodejs_active_(handles|resources)/m);
      expect(text).toMatch(/^process_max_fds \d+$/m); // the other process defaults stay
      expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
    } finally {
      readdirSync.mockRestore();
    }
  });

  it('follows the descriptors as sockets open and close', async () => {
    const metrics = new Metrics();
    const before = openFds(await metrics.registry.metrics());
    let accepted = 0;
    const server = net.createServer(() => (accepted += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const sockets = await Promise.all(
      Array.from(
        { length: 100 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    while (accepted < 100) await new Promise((resolve) => setTimeout(resolve, 10));
    // Each connection holds two descriptors here: the client's and the server's end.
    expect(openFds(await metrics.registry.metrics())).toBeGreaterThanOrEqual(before + 200);
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve)); // once the server's ends are closed too
    expect(openFds(await metrics.registry.metrics())).toBeLessThan(before + 20);
  });
});
