import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirDurable, isErrno, NOTHING_STAGED, type StagedFile, stageFile } from './durable-fs';
import { RepositoryAlreadyExistsError, RepositoryCorruptError, RepositoryInputError } from './errors';
import { assertUuid, isObjectIdHex, isUuid } from './ids';
import { type SnapshotRecord } from './model';

const SNAPSHOT_FORMAT = 'berth-snapshot';
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/;

/**
 * Snapshot records as JSON files, snapshots/<hostId>/<snapshotId>.json, each written whole to tmp/ and
 * renamed into place: a reader sees a snapshot entirely or not at all. Ids are uuid-shaped, so a record can
 * never name a path outside its host's folder.
 */
export class SnapshotStore {
  constructor(
    private readonly snapshotsDir: string,
    private readonly tmpDir: string,
  ) {}

  async publish(record: SnapshotRecord): Promise<void> {
    await (await this.prepare(record)).commit();
  }

  /**
   * publish() in two steps: this checks the record, creates its host's folder and writes the record, durably, to
   * tmp/, where no reader looks; commit() renames it into place (the snapshot then exists, durably) and abort()
   * drops it. The record's writing can then overlap the flush of what it names, which must end before commit().
   * A record already published with the same content stages nothing.
   */
  async prepare(record: SnapshotRecord): Promise<StagedFile> {
    assertSnapshotRecord(record);
    const text = serializeSnapshot(record);
    const existing = await this.find(record.id);
    if (existing) {
      if (existing.hostId === record.hostId && serializeSnapshot(existing) === text) return NOTHING_STAGED;
      throw new RepositoryAlreadyExistsError(`snapshot ${record.id} is already published (host ${existing.hostId}) with different content`);
    }
    const hostDir = join(this.snapshotsDir, record.hostId);
    await ensureDirDurable(hostDir);
    return stageFile(this.tmpDir, join(hostDir, `${record.id}.json`), Buffer.from(text, 'utf8'));
  }

  /** A host's snapshots, oldest first (by publishedAt, then id). */
  async list(hostId: string): Promise<SnapshotRecord[]> {
    assertUuid('hostId', hostId);
    const hostDir = join(this.snapshotsDir, hostId);
    const records: SnapshotRecord[] = [];
    for (const name of await listDir(hostDir)) {
      const match = SNAPSHOT_FILE.exec(name);
      if (match?.[1]) records.push(await this.readRecord(hostId, match[1]));
    }
    return records.sort((a, b) => Date.parse(a.publishedAt) - Date.parse(b.publishedAt) || compare(a.id, b.id));
  }

  async latest(hostId: string): Promise<SnapshotRecord | null> {
    const all = await this.list(hostId);
    return all[all.length - 1] ?? null;
  }

  async find(snapshotId: string): Promise<SnapshotRecord | null> {
    assertUuid('snapshotId', snapshotId);
    for (const hostId of await listDir(this.snapshotsDir)) {
      if (!isUuid(hostId)) continue;
      try {
        await stat(join(this.snapshotsDir, hostId, `${snapshotId}.json`));
      } catch (error) {
        if (isErrno(error, 'ENOENT')) continue;
        throw error;
      }
      return this.readRecord(hostId, snapshotId);
    }
    return null;
  }

  private async readRecord(hostId: string, snapshotId: string): Promise<SnapshotRecord> {
    const path = join(this.snapshotsDir, hostId, `${snapshotId}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      if (error instanceof SyntaxError) throw new RepositoryCorruptError(`snapshot ${path} is not valid JSON: ${error.message}`);
      throw error;
    }
    const record = toSnapshotRecord(parsed);
    if (typeof record === 'string') throw new RepositoryCorruptError(`snapshot ${path}: ${record}`);
    if (record.id !== snapshotId || record.hostId !== hostId) throw new RepositoryCorruptError(`snapshot ${path} names id ${record.id} of host ${record.hostId}`);
    return record;
  }
}

function serializeSnapshot(record: SnapshotRecord): string {
  const { id, hostId, hostName, runId, rootTree, paths, startedAt, publishedAt, stats } = record;
  const { files, dirs, bytes, bytesReceived, bytesStored } = stats;
  const ordered = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    id,
    hostId,
    hostName,
    runId,
    rootTree,
    paths: [...paths],
    startedAt,
    publishedAt,
    stats: { files, dirs, bytes, bytesReceived, bytesStored },
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function assertSnapshotRecord(record: SnapshotRecord): void {
  const problem = toSnapshotRecord({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, ...record });
  if (typeof problem === 'string') throw new RepositoryInputError(`snapshot record: ${problem}`);
}

/** Validates a parsed record (from a caller or a file); returns it or what is wrong with it. */
function toSnapshotRecord(value: unknown): SnapshotRecord | string {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const v = value as Record<string, unknown>;
  if (v['format'] !== SNAPSHOT_FORMAT) return `format must be "${SNAPSHOT_FORMAT}"`;
  if (v['version'] !== SNAPSHOT_VERSION) return `unknown version ${String(v['version'])}`;
  for (const field of ['id', 'hostId', 'runId'] as const) {
    if (typeof v[field] !== 'string' || !isUuid(v[field])) return `${field} must be a lowercase uuid`;
  }
  if (typeof v['hostName'] !== 'string') return 'hostName must be a string';
  if (typeof v['rootTree'] !== 'string' || !isObjectIdHex(v['rootTree'])) return 'rootTree must be 64 lowercase hex digits';
  if (!Array.isArray(v['paths']) || !v['paths'].every((p) => typeof p === 'string')) return 'paths must be an array of strings';
  for (const field of ['startedAt', 'publishedAt'] as const) {
    const time = v[field];
    if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) return `${field} must be an ISO date string`;
  }
  const stats = v['stats'];
  if (typeof stats !== 'object' || stats === null) return 'stats must be an object';
  const s = stats as Record<string, unknown>;
  for (const field of ['files', 'dirs', 'bytes', 'bytesReceived', 'bytesStored'] as const) {
    const n = s[field];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `stats.${field} must be a non-negative integer`;
  }
  return {
    id: v['id'] as string,
    hostId: v['hostId'] as string,
    hostName: v['hostName'],
    runId: v['runId'] as string,
    rootTree: v['rootTree'],
    paths: v['paths'],
    startedAt: v['startedAt'] as string,
    publishedAt: v['publishedAt'] as string,
    stats: { files: s['files'] as number, dirs: s['dirs'] as number, bytes: s['bytes'] as number, bytesReceived: s['bytesReceived'] as number, bytesStored: s['bytesStored'] as number },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
}
