/**
 * `damage.json`: the repository's record that a crash recovery kept intact records after a damaged stretch of a
 * pack. Records are written children first, so before such a recovery every stored tree could trust that what
 * it refers to is stored too; after one, a kept tree may refer to an object that was in the damaged stretch.
 * The recovery writes this file before the pack's new index (which hides the damage from later opens), so the
 * fact outlives restarts. Each damaging recovery gets a new random id: caches built on the old trust (a
 * receiver's directory digests) key themselves by it and are dropped when it changes.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isErrno, writeFileAtomic } from './durable-fs';

export interface RepositoryDamage {
  /** Changes with every damaging recovery. */
  readonly id: string;
  /** When the last damaging recovery happened. */
  readonly at: string;
  /** The packs it happened to, oldest first (the last 32). */
  readonly packs: readonly string[];
}

const KEPT_PACKS = 32;
const DAMAGE_ID = /^[0-9a-f]{16,64}$/;

/**
 * The record in `file`; null when there is none. A record that cannot be read still means damage: it is
 * replaced (when `tmpDir` is given: a writable open) by one with a new id, kept from then on.
 */
export async function readDamage(file: string, tmpDir: string | null): Promise<RepositoryDamage | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  const parsed = parseDamage(text);
  if (parsed !== null) return parsed;
  // Unreadable (itself damaged): the repository is still one that lost objects, under an id of its own.
  const damage: RepositoryDamage = { id: newDamageId(), at: (await stat(file)).mtime.toISOString(), packs: [] };
  if (tmpDir !== null) await writeDamage(file, tmpDir, damage);
  return damage;
}

/** The record after one more damaging recovery of `pack`, written durably before it is returned. */
export async function recordDamage(file: string, tmpDir: string, previous: RepositoryDamage | null, pack: string, now = new Date()): Promise<RepositoryDamage> {
  const damage: RepositoryDamage = { id: newDamageId(), at: now.toISOString(), packs: [...(previous?.packs ?? []), pack].slice(-KEPT_PACKS) };
  await writeDamage(file, tmpDir, damage);
  return damage;
}

async function writeDamage(file: string, tmpDir: string, damage: RepositoryDamage): Promise<void> {
  await writeFileAtomic(tmpDir, file, Buffer.from(`${JSON.stringify(damage, null, 2)}\n`));
}

function newDamageId(): string {
  return randomBytes(8).toString('hex');
}

function parseDamage(text: string): RepositoryDamage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { id, at, packs } = value as Record<string, unknown>;
  if (typeof id !== 'string' || !DAMAGE_ID.test(id)) return null;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) return null;
  if (!Array.isArray(packs) || !packs.every((pack): pack is string => typeof pack === 'string')) return null;
  return { id, at, packs };
}
