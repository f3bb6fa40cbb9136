/**
 * Group commit: many callers ask for durability, one commit (write + fsync) serves all who asked before it
 * started. A caller arriving while a commit runs waits for the next one, which starts when the current
 * ends and serves everyone who arrived meanwhile, so at most two commits are ever pending.
 */
export class GroupCommit {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly commit: () => Promise<void>) {}

  /** Resolves once a commit that started after this call has completed; rejects with that commit's error. */
  request(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const queued = this.running.then(ignore, ignore).then(() => {
      this.queued = null;
      return this.start();
    });
    this.queued = queued;
    return queued;
  }

  /** Waits for whatever is running or queued, without asking for a new commit. */
  async idle(): Promise<void> {
    while (this.running || this.queued) await (this.queued ?? this.running)?.then(ignore, ignore);
  }

  private start(): Promise<void> {
    const run: Promise<void> = this.commit().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }
}

function ignore(): void {}
