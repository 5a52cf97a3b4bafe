/**
 * Group commit: callers submit items one by one; the items that arrive while a batch is being decided (or
 * within `windowMs` of the first one) are decided together by one call of `decide`, one batch at a time.
 * Under a burst the batches grow by themselves (everyone arriving during a decision joins the next one),
 * so a serialized step pays its fixed costs (a transaction, a lock, reading the candidates) once per batch
 * instead of once per item. DataLoader batches by tick too, but dispatches its batches concurrently: here
 * they must queue behind each other, or they would just wait on the same lock, each holding a connection.
 */
export class GroupCommit<T, R> {
  private waiting: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Decides a batch; answers one result per item, in order, or throws for the whole batch. */
    private readonly decide: (items: T[]) => Promise<R[]>,
    private readonly opts: { windowMs: number; maxBatch: number },
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.timer || !this.waiting.length) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runBatch();
    }, this.opts.windowMs);
  }

  private async runBatch(): Promise<void> {
    this.running = true;
    const batch = this.waiting.splice(0, this.opts.maxBatch);
    try {
      const results = await this.decideIsolated(batch.map((b) => b.item));
      batch.forEach((b, i) => {
        const r = results[i];
        if (r.ok) b.resolve(r.value);
        else b.reject(r.error);
      });
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  /** A batch that fails is decided again item by item, so one bad item fails only its own caller. */
  private async decideIsolated(items: T[]): Promise<Array<{ ok: true; value: R } | { ok: false; error: unknown }>> {
    try {
      return (await this.decide(items)).map((value) => ({ ok: true as const, value }));
    } catch (error) {
      if (items.length === 1) return [{ ok: false, error }];
      const results: Array<{ ok: true; value: R } | { ok: false; error: unknown }> = [];
      for (const item of items) results.push(...(await this.decideIsolated([item])));
      return results;
    }
  }
}
