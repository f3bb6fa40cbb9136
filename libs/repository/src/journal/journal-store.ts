import { type FileHandle, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DecodeError } from '../binary';
import { fsyncDir, isErrno, writeAll, writeFileAtomic } from '../durable-fs';
import { RepositoryCorruptError } from '../errors';
import { GroupCommit } from '../group-commit';
import { assertUuid } from '../ids';
import { type JournalRecord } from '../model';
import { encodeJournalHeader, encodeJournalRecords, journalHeaderProblem, parseJournal } from './journal-codec';

/**
 * Per-run journals under runs/<runId>.journal. Appends of one run are group-committed: concurrent
 * appendJournal calls share one write and one fdatasync. Before the first append of this process, the
 * file's torn tail (if any) is cut, so new records never land behind garbage.
 */
export class JournalStore {
  private readonly open = new Map<string, RunJournal>();

  constructor(
    private readonly runsDir: string,
    private readonly tmpDir: string,
    private readonly readOnly: boolean,
  ) {}

  async append(runId: string, records: readonly JournalRecord[]): Promise<void> {
    assertUuid('runId', runId);
    const bytes = encodeJournalRecords(records);
    if (bytes.length === 0) return;
    await this.journal(runId).append(bytes);
  }

  async read(runId: string): Promise<JournalRecord[]> {
    assertUuid('runId', runId);
    const journal = this.open.get(runId);
    if (journal) return journal.readAll();
    return (await readJournalFile(this.pathOf(runId), !this.readOnly)).records;
  }

  async remove(runId: string): Promise<void> {
    assertUuid('runId', runId);
    await this.open.get(runId)?.close();
    this.open.delete(runId);
    await rm(this.pathOf(runId), { force: true });
    await fsyncDir(this.runsDir);
  }

  async close(): Promise<void> {
    const journals = [...this.open.values()];
    this.open.clear();
    for (const journal of journals) await journal.close();
  }

  private journal(runId: string): RunJournal {
    let journal = this.open.get(runId);
    if (!journal) {
      journal = new RunJournal(this.pathOf(runId), this.tmpDir);
      this.open.set(runId, journal);
    }
    return journal;
  }

  private pathOf(runId: string): string {
    return join(this.runsDir, `${runId}.journal`);
  }
}

class RunJournal {
  private handle: FileHandle | null = null;
  private end = 0;
  private pending: Buffer[] = [];
  private readonly commits = new GroupCommit(() => this.commit());

  constructor(
    private readonly path: string,
    private readonly tmpDir: string,
  ) {}

  append(bytes: Buffer): Promise<void> {
    this.pending.push(bytes);
    return this.commits.request();
  }

  async readAll(): Promise<JournalRecord[]> {
    await this.commits.idle();
    return (await readJournalFile(this.path, true)).records;
  }

  async close(): Promise<void> {
    await this.commits.idle();
    await this.handle?.close();
    this.handle = null;
  }

  private async commit(): Promise<void> {
    const batch = Buffer.concat(this.pending);
    this.pending = [];
    if (batch.length === 0) return;
    const handle = this.handle ?? (await this.openForAppend());
    try {
      await writeAll(handle, batch, this.end);
      await handle.datasync();
    } catch (error) {
      // The file's tail is now unknown: the next append reopens it and cuts whatever is not intact.
      this.handle = null;
      await handle.close().catch(() => undefined);
      throw error;
    }
    this.end += batch.length;
  }

  /** Opens the journal, creating it atomically with its header, or cutting a torn tail left by a crash. */
  private async openForAppend(): Promise<FileHandle> {
    let parsed = await readJournalFile(this.path, true);
    if (!parsed.exists) {
      await writeFileAtomic(this.tmpDir, this.path, encodeJournalHeader());
      parsed = await readJournalFile(this.path, true);
    }
    this.handle = await open(this.path, 'r+');
    this.end = parsed.validEnd;
    return this.handle;
  }
}

interface JournalFile {
  readonly exists: boolean;
  readonly records: JournalRecord[];
  readonly validEnd: number;
}

async function readJournalFile(path: string, cutTornTail: boolean): Promise<JournalFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return { exists: false, records: [], validEnd: 0 };
    throw error;
  }
  const headerProblem = journalHeaderProblem(bytes);
  if (headerProblem !== null) throw new RepositoryCorruptError(`journal ${path}: ${headerProblem}`);
  let parsed;
  try {
    parsed = parseJournal(bytes);
  } catch (error) {
    if (error instanceof DecodeError) throw new RepositoryCorruptError(`journal ${path}: ${error.message}`);
    throw error;
  }
  if (parsed.tornTail !== null && cutTornTail) {
    const handle = await open(path, 'r+');
    try {
      await handle.truncate(parsed.validEnd);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
  return { exists: true, records: parsed.records, validEnd: parsed.validEnd };
}
