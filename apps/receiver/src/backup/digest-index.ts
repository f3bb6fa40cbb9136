/**
 * Protocol 4: which stored tree each directory digest (@berth/wire dir-digest.ts) stands for, per host, with
 * the counts its journal record needs. Written when a snapshot is published, from the directories that run
 * committed; read at the start of the host's next run, so an unchanged directory is committed from here
 * without its entries crossing the wire or the previous tree being decoded.
 *
 * A cache beside the repository, never its only copy of anything: a missing, torn or foreign file reads as
 * empty (the agent then sends entries as before), and an entry is used only when its tree is in the repository.
 * Keyed by digest, not path, so a renamed directory is found too; per host, so an agent can only reuse trees
 * its own host stored.
 *
 * Each entry names its subdirectories' digests (format 2), so a directory reused whole (an agent probes only the
 * top of an unchanged subtree) carries its descendants' entries over into the next index: when one of them
 * changes later, its unchanged siblings are still found. Entries read from a format 1 file do not know their
 * subdirectories; their descendants are dropped when they are carried over, and the next change below them sends
 * those directories' entries once.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ObjectId } from '@berth/repository';
import { DIR_DIGEST_BYTES } from '@berth/wire';

export interface IndexedTree {
  readonly tree: ObjectId;
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  /** Digests of the directory's subdirectories; absent when unknown (read from a format 1 file). */
  readonly children?: readonly Buffer[];
}

const MAGIC_V1 = Buffer.from('berth-dir-digests 1\n');
const MAGIC = Buffer.from('berth-dir-digests 2\n');
const TREE_ID_BYTES = 32;
const RECORD_V1_BYTES = DIR_DIGEST_BYTES + TREE_ID_BYTES + 3 * 8;
/** Format 2: a v1 record, then the number of subdirectory digests (UNKNOWN_CHILDREN: not known) and the digests. */
const RECORD_FIXED_BYTES = RECORD_V1_BYTES + 4;
const UNKNOWN_CHILDREN = 0xffffffff;
const CHECKSUM_BYTES = 32;
/** Host ids name files: anything else than these characters gets no index. */
const SAFE_HOST_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class DigestIndex {
  private readonly trees = new Map<string, IndexedTree>();

  get size(): number {
    return this.trees.size;
  }

  get(digest: Buffer): IndexedTree | null {
    return this.trees.get(digest.toString('hex')) ?? null;
  }

  set(digest: Buffer, tree: IndexedTree): void {
    this.trees.set(digest.toString('hex'), tree);
  }

  /**
   * Adds from `previous` the entries of the descendants of this index's directories that it lacks (the subtrees
   * of directories reused whole), following subdirectory digests down as far as they are known.
   */
  carryOver(previous: DigestIndex): void {
    const pending: Buffer[] = [];
    for (const tree of this.trees.values()) pending.push(...(tree.children ?? []));
    for (let digest = pending.pop(); digest !== undefined; digest = pending.pop()) {
      if (this.get(digest) !== null) continue;
      const carried = previous.get(digest);
      if (carried === null) continue;
      this.set(digest, carried);
      pending.push(...(carried.children ?? []));
    }
  }

  encode(): Buffer {
    let size = MAGIC.length + 4;
    for (const tree of this.trees.values()) size += RECORD_FIXED_BYTES + (tree.children?.length ?? 0) * DIR_DIGEST_BYTES;
    const body = Buffer.alloc(size);
    MAGIC.copy(body, 0);
    body.writeUInt32BE(this.trees.size, MAGIC.length);
    let offset = MAGIC.length + 4;
    for (const [digest, tree] of this.trees) {
      Buffer.from(digest, 'hex').copy(body, offset);
      tree.tree.copy(body, offset + DIR_DIGEST_BYTES);
      offset += DIR_DIGEST_BYTES + TREE_ID_BYTES;
      for (const count of [tree.files, tree.dirs, tree.bytes]) {
        body.writeBigUInt64BE(BigInt(count), offset);
        offset += 8;
      }
      body.writeUInt32BE(tree.children?.length ?? UNKNOWN_CHILDREN, offset);
      offset += 4;
      for (const child of tree.children ?? []) offset += child.copy(body, offset);
    }
    return Buffer.concat([body, createHash('sha256').update(body).digest()]);
  }

  /** The index in `data` (format 1 or 2), or an empty one when it is not a whole, intact index file. */
  static decode(data: Buffer): DigestIndex {
    if (data.length < MAGIC.length + 4 + CHECKSUM_BYTES) return new DigestIndex();
    const body = data.subarray(0, data.length - CHECKSUM_BYTES);
    const magic = body.subarray(0, MAGIC.length);
    const v2 = magic.equals(MAGIC);
    if (!v2 && !magic.equals(MAGIC_V1)) return new DigestIndex();
    if (!createHash('sha256').update(body).digest().equals(data.subarray(body.length))) return new DigestIndex();
    return decodeRecords(body, v2) ?? new DigestIndex();
  }
}

/** The records of a checksummed body; null when they do not fill it exactly or hold an impossible count. */
function decodeRecords(body: Buffer, v2: boolean): DigestIndex | null {
  const index = new DigestIndex();
  const count = body.readUInt32BE(MAGIC.length);
  let offset = MAGIC.length + 4;
  for (let record = 0; record < count; record++) {
    if (offset + (v2 ? RECORD_FIXED_BYTES : RECORD_V1_BYTES) > body.length) return null;
    const digest = Buffer.from(body.subarray(offset, offset + DIR_DIGEST_BYTES));
    const tree = Buffer.from(body.subarray(offset + DIR_DIGEST_BYTES, offset + DIR_DIGEST_BYTES + TREE_ID_BYTES));
    const counts = [0, 1, 2].map((i) => Number(body.readBigUInt64BE(offset + DIR_DIGEST_BYTES + TREE_ID_BYTES + i * 8)));
    if (counts.some((n) => !Number.isSafeInteger(n))) return null;
    offset += RECORD_V1_BYTES;
    const entry = { tree, files: counts[0] as number, dirs: counts[1] as number, bytes: counts[2] as number };
    if (!v2) {
      index.set(digest, entry);
      continue;
    }
    const childCount = body.readUInt32BE(offset);
    offset += 4;
    if (childCount === UNKNOWN_CHILDREN) {
      index.set(digest, entry);
      continue;
    }
    if (offset + childCount * DIR_DIGEST_BYTES > body.length) return null;
    const children: Buffer[] = [];
    for (let i = 0; i < childCount; i++, offset += DIR_DIGEST_BYTES) children.push(Buffer.from(body.subarray(offset, offset + DIR_DIGEST_BYTES)));
    index.set(digest, { ...entry, children });
  }
  return offset === body.length ? index : null;
}

/**
 * The index files, in `<repository>/receiver-cache/dir-digests/<hostId>`. After a damaging recovery
 * (Repository.damage) a tree the index names may have lost an object below it, so the files written before it
 * are not read: the folder is `dir-digests-<damage id>`, new with each such recovery.
 */
export class DigestIndexStore {
  private readonly cache: string;
  private readonly folder: string;
  private readonly dir: string;
  /** Saves under way, by host: a load of the host waits for its save (a session saves after its Done). */
  private readonly saving = new Map<string, Promise<void>>();

  constructor(repositoryRoot: string, damageId: string | null = null) {
    this.cache = join(repositoryRoot, 'receiver-cache');
    this.folder = damageId === null ? 'dir-digests' : `dir-digests-${damageId}`;
    this.dir = join(this.cache, this.folder);
  }

  /** Removes the folders of other states than this one (they would never be read again); returns their names. */
  async removeStale(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.cache);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const stale = names.filter((name) => /^dir-digests(-.+)?$/.test(name) && name !== this.folder);
    for (const name of stale) await rm(join(this.cache, name), { recursive: true, force: true });
    return stale;
  }

  async load(hostId: string): Promise<DigestIndex> {
    if (!SAFE_HOST_ID.test(hostId)) return new DigestIndex();
    await this.saving.get(hostId)?.catch(() => undefined);
    try {
      return DigestIndex.decode(await readFile(join(this.dir, hostId)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new DigestIndex();
      throw error;
    }
  }

  /**
   * Replaces the host's index (write then rename: a reader sees the old file or the new one, whole). Saves of one
   * host follow each other, and a load of the host made meanwhile waits for them.
   */
  save(hostId: string, index: DigestIndex, writer: string): Promise<void> {
    if (!SAFE_HOST_ID.test(hostId)) return Promise.resolve();
    const before = this.saving.get(hostId)?.catch(() => undefined) ?? Promise.resolve();
    const saved = before.then(() => this.write(hostId, index, writer));
    this.saving.set(hostId, saved);
    const forget = (): void => {
      if (this.saving.get(hostId) === saved) this.saving.delete(hostId);
    };
    void saved.then(forget, forget);
    return saved;
  }

  private async write(hostId: string, index: DigestIndex, writer: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${hostId}.${writer}.tmp`);
    await writeFile(tmp, index.encode());
    await rename(tmp, join(this.dir, hostId));
  }
}
