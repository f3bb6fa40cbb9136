import { type JournalRecord } from '@berth/repository';

/** What becomes durable together: a chunk's entries, and for a directory's last chunk its journal record. */
export interface CommitItem {
  readonly seq: number;
  readonly dir: Buffer;
  readonly dirComplete: boolean;
  readonly ops: number;
  readonly journal: JournalRecord | null;
}

export interface CommitStore {
  flush(): Promise<void>;
  appendJournal(runId: string, records: readonly JournalRecord[]): Promise<void>;
}

export interface CommitPipelineOptions {
  readonly store: CommitStore;
  readonly runId: string;
  /** Stored-but-unflushed bytes that trigger a flush on their own (so one huge file cannot stall credit). */
  readonly flushAfterBytes: number;
  /** Acknowledges what a flush made durable: Committed per item, then the credit it frees. */
  readonly acknowledge: (items: readonly CommitItem[], creditBytes: number, creditOps: number) => Promise<void>;
  readonly onLatency: (ms: number) => void;
  /** Called once when a flush, journal append or acknowledgement fails; the session must end. */
  readonly onFailure: (error: Error) => void;
}

/**
 * Makes a session's progress durable in the background while its messages keep flowing: everything added
 * while a flush runs goes into the next one, so under load several chunks share one fsync (the repository
 * groups concurrent flushes across sessions as well). Items are acknowledged in the order they were added.
 */
export class CommitPipeline {
  private items: CommitItem[] = [];
  private storedBytes = 0;
  private running: Promise<void> | null = null;
  private failure: Error | null = null;
  private flushRest = false;

  constructor(private readonly options: CommitPipelineOptions) {}

  /** Items added in one call go into the same flush (unless one is running: then all into the next). */
  add(...items: CommitItem[]): void {
    this.items.push(...items);
    this.kick();
  }

  /** Content bytes handed to the repository; credited back once flushed. */
  noteStored(bytes: number): void {
    this.storedBytes += bytes;
    if (this.storedBytes >= this.options.flushAfterBytes) this.kick();
  }

  /** Resolves when everything added so far is durable and acknowledged; throws the pipeline's failure. */
  async drain(): Promise<void> {
    this.flushRest = true;
    this.kick();
    while (this.running !== null) await this.running;
    if (this.failure !== null) throw this.failure;
  }

  /** Waits for work in progress without raising its failure (used while a session is being torn down). */
  async settle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  get failed(): Error | null {
    return this.failure;
  }

  private hasWork(): boolean {
    return this.items.length > 0 || this.storedBytes >= this.options.flushAfterBytes || (this.flushRest && this.storedBytes > 0);
  }

  private kick(): void {
    if (this.running !== null || this.failure !== null) return;
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  private async loop(): Promise<void> {
    try {
      while (this.failure === null && this.hasWork()) {
        this.flushRest = false;
        const items = this.items;
        const bytes = this.storedBytes;
        this.items = [];
        this.storedBytes = 0;
        const started = performance.now();
        await this.options.store.flush();
        const records = items.flatMap((item) => (item.journal === null ? [] : [item.journal]));
        if (records.length > 0) await this.options.store.appendJournal(this.options.runId, records);
        this.options.onLatency(performance.now() - started);
        await this.options.acknowledge(
          items,
          bytes,
          items.reduce((sum, item) => sum + item.ops, 0),
        );
      }
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.options.onFailure(this.failure);
    }
  }
}
