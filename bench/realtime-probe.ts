/**
 * Preloaded (`node --expose-gc -r dist/bench/realtime-probe.js …`) into the server processes that
 * `npm run bench -- realtime` starts (ShiftDesk's own dist/src/main.js, and the bare relay): on an IPC
 * `{type: 'probe'}` it runs a full garbage collection and answers with process.memoryUsage(), so the
 * benchmark can read the server's memory per connection without touching the server's code.
 */
interface ProbeRequest {
  type?: unknown;
  id?: unknown;
}

if (process.send) {
  process.on('message', (m: ProbeRequest) => {
    if (m?.type === 'heapsnapshot' && typeof (m as { file?: unknown }).file === 'string') {
      // Diagnostics (BENCH_HEAP_SNAPSHOT): what the connections hold, for Chrome DevTools' Memory tab.
      const file = require('node:v8').writeHeapSnapshot((m as { file: string }).file) as string;
      process.send?.({ type: 'heapsnapshot', id: m.id, file });
      return;
    }
    if (!m || m.type !== 'probe') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      gc();
    }
    const mu = process.memoryUsage();
    // The young generation grows (up to --max-semi-space-size) with the allocation rate and stays grown: RSS
    // that belongs to no connection, so the benchmark shows it beside RSS.
    const newSpace = require('node:v8')
      .getHeapSpaceStatistics()
      .find((space: { space_name: string }) => space.space_name === 'new_space') as { physical_space_size: number } | undefined;
    process.send?.({
      type: 'probe',
      id: m.id,
      gc: Boolean(gc),
      rss: mu.rss,
      heapUsed: mu.heapUsed,
      external: mu.external,
      arrayBuffers: mu.arrayBuffers,
      newSpace: newSpace?.physical_space_size ?? 0,
    });
  });
  // The channel must not keep the process alive on its own (the servers exit by themselves on SIGTERM).
  process.channel?.unref();
}
