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
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ObjectId } from '@berth/repository';
import { DIR_DIGEST_BYTES } from '@berth/wire';

export interface IndexedTree {
  readonly tree: ObjectId;
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
}

const MAGIC = Buffer.from('berth-dir-digests 1\n');
const TREE_ID_BYTES = 32;
const RECORD_BYTES = DIR_DIGEST_BYTES + TREE_ID_BYTES + 3 * 8;
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

  encode(): Buffer {
    const body = Buffer.alloc(MAGIC.length + 4 + this.trees.size * RECORD_BYTES);
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
    }
    return Buffer.concat([body, createHash('sha256').update(body).digest()]);
  }

  /** The index in `data`, or an empty one when it is not a whole, intact index file. */
  static decode(data: Buffer): DigestIndex {
    const index = new DigestIndex();
    if (data.length < MAGIC.length + 4 + CHECKSUM_BYTES) return index;
    const body = data.subarray(0, data.length - CHECKSUM_BYTES);
    if (!body.subarray(0, MAGIC.length).equals(MAGIC)) return index;
    if (!createHash('sha256').update(body).digest().equals(data.subarray(body.length))) return index;
    const count = body.readUInt32BE(MAGIC.length);
    if (body.length !== MAGIC.length + 4 + count * RECORD_BYTES) return index;
    for (let offset = MAGIC.length + 4; offset < body.length; offset += RECORD_BYTES) {
      const digest = Buffer.from(body.subarray(offset, offset + DIR_DIGEST_BYTES));
      const tree = Buffer.from(body.subarray(offset + DIR_DIGEST_BYTES, offset + DIR_DIGEST_BYTES + TREE_ID_BYTES));
      const counts = [0, 1, 2].map((i) => Number(body.readBigUInt64BE(offset + DIR_DIGEST_BYTES + TREE_ID_BYTES + i * 8)));
      if (counts.some((n) => !Number.isSafeInteger(n))) return new DigestIndex();
      index.set(digest, { tree, files: counts[0] as number, dirs: counts[1] as number, bytes: counts[2] as number });
    }
    return index;
  }
}

/** The index files, in `<repository>/receiver-cache/dir-digests/<hostId>`. */
export class DigestIndexStore {
  private readonly dir: string;

  constructor(repositoryRoot: string) {
    this.dir = join(repositoryRoot, 'receiver-cache', 'dir-digests');
  }

  async load(hostId: string): Promise<DigestIndex> {
    if (!SAFE_HOST_ID.test(hostId)) return new DigestIndex();
    try {
      return DigestIndex.decode(await readFile(join(this.dir, hostId)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new DigestIndex();
      throw error;
    }
  }

  /** Replaces the host's index (write then rename: a reader sees the old file or the new one, whole). */
  async save(hostId: string, index: DigestIndex, writer: string): Promise<void> {
    if (!SAFE_HOST_ID.test(hostId)) return;
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${hostId}.${writer}.tmp`);
    await writeFile(tmp, index.encode());
    await rename(tmp, join(this.dir, hostId));
  }
}
