import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirDurable, isErrno, writeFileAtomic } from './durable-fs';
import { RepositoryFormatError } from './errors';
import { CONTENT_CHUNK_BYTES } from './model';

export const REPOSITORY_FORMAT = 'berth-repository';
/**
 * 2: content of more than one chunk may be named by its chunk-list hash (protocol 7, @berth/delta's content-hash),
 * which a Berth reading only version 1 would take for damaged content: it refuses version 2 instead. Nothing else
 * differs, so a version 1 repository is read as it is and marked version 2 when it is opened for writing.
 */
export const REPOSITORY_FORMAT_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];

export interface RepositoryConfig {
  readonly format: typeof REPOSITORY_FORMAT;
  readonly version: number;
  readonly createdAt: string;
  readonly objectHash: 'sha256';
  readonly chunkBytes: number;
}

export interface Layout {
  readonly root: string;
  readonly config: string;
  /** Present once a crash recovery may have lost objects that kept trees refer to (damage-record.ts). */
  readonly damage: string;
  readonly lock: string;
  readonly packs: string;
  readonly snapshots: string;
  readonly runs: string;
  readonly tmp: string;
}

export function layoutOf(root: string): Layout {
  return {
    root,
    config: join(root, 'config.json'),
    damage: join(root, 'damage.json'),
    lock: join(root, 'lock'),
    packs: join(root, 'packs'),
    snapshots: join(root, 'snapshots'),
    runs: join(root, 'runs'),
    tmp: join(root, 'tmp'),
  };
}

/** Reads and checks config.json; null when there is none. */
export async function readConfig(layout: Layout): Promise<RepositoryConfig | null> {
  let text: string;
  try {
    text = await readFile(layout.config, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  let parsed: Partial<RepositoryConfig>;
  try {
    parsed = JSON.parse(text) as Partial<RepositoryConfig>;
  } catch {
    throw new RepositoryFormatError(`${layout.config} is not valid JSON`);
  }
  if (parsed.format !== REPOSITORY_FORMAT) throw new RepositoryFormatError(`${layout.root} is not a Berth repository (config format ${JSON.stringify(parsed.format)})`);
  if (typeof parsed.version !== 'number' || !READABLE_VERSIONS.includes(parsed.version)) {
    throw new RepositoryFormatError(`${layout.root} has repository format version ${String(parsed.version)}; this Berth reads versions ${READABLE_VERSIONS.join(' and ')}`);
  }
  if (parsed.objectHash !== 'sha256' || parsed.chunkBytes !== CONTENT_CHUNK_BYTES) {
    throw new RepositoryFormatError(`${layout.root} uses ${String(parsed.objectHash)} with ${String(parsed.chunkBytes)}-byte chunks; this Berth uses sha256 with ${CONTENT_CHUNK_BYTES}`);
  }
  return parsed as RepositoryConfig;
}

/**
 * Creates the folders, then config.json last: a config's presence means the layout is complete. Refuses a
 * non-empty folder without a config, so a wrong path never turns someone's data into a repository.
 */
export async function createLayout(layout: Layout): Promise<RepositoryConfig> {
  const present = (await readdir(layout.root)).filter((name) => name !== 'lock');
  const known = new Set(['packs', 'snapshots', 'runs', 'tmp']);
  const foreign = present.filter((name) => !known.has(name));
  if (foreign.length > 0) {
    throw new RepositoryFormatError(`${layout.root} is not empty and has no config.json (found ${foreign.slice(0, 3).join(', ')}); give an empty or new folder for a repository`);
  }
  for (const dir of [layout.tmp, layout.packs, layout.snapshots, layout.runs]) await ensureDirDurable(dir);
  const config: RepositoryConfig = {
    format: REPOSITORY_FORMAT,
    version: REPOSITORY_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    objectHash: 'sha256',
    chunkBytes: CONTENT_CHUNK_BYTES,
  };
  await writeFileAtomic(layout.tmp, layout.config, Buffer.from(`${JSON.stringify(config, null, 2)}\n`));
  return config;
}

/** Marks a repository of an older readable version as the current one (before anything is written to it). */
export async function upgradeConfig(layout: Layout, config: RepositoryConfig): Promise<RepositoryConfig> {
  if (config.version === REPOSITORY_FORMAT_VERSION) return config;
  const upgraded: RepositoryConfig = { ...config, version: REPOSITORY_FORMAT_VERSION };
  await writeFileAtomic(layout.tmp, layout.config, Buffer.from(`${JSON.stringify(upgraded, null, 2)}\n`));
  return upgraded;
}

export async function ensureLayoutDirs(layout: Layout): Promise<void> {
  for (const dir of [layout.tmp, layout.packs, layout.snapshots, layout.runs]) await ensureDirDurable(dir);
}

/** Removes leftovers of atomic writes interrupted by a crash; nothing in tmp/ is ever referenced. */
export async function clearTmp(layout: Layout): Promise<void> {
  for (const name of await readdir(layout.tmp)) await rm(join(layout.tmp, name), { recursive: true, force: true });
}
