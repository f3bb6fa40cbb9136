import { createHash } from 'node:crypto';
import { isChunkListHash } from '@berth/delta';
import { RepositoryCorruptError, RepositoryNotFoundError } from './errors';
import { objectIdHex } from './ids';
import { CONTENT_CHUNK_BYTES, type FileContent, type ObjectId, type Tree, TreeEntryType } from './model';
import { showBytes } from './tree/names';

export interface VerifyReader {
  readObject(id: ObjectId): Promise<Buffer>;
  decodeTree(data: Buffer, id: ObjectId): Tree;
}

export interface VerifyResult {
  /** Distinct objects (trees and blobs) read and checked. */
  objects: number;
  /** Their stored bytes. */
  bytes: number;
  problems: string[];
}

/**
 * Reads every tree and blob reachable from `rootId`, each once, checking it against its id; checks each
 * distinct file content's whole-file SHA-256 and its size. A damaged or missing object is reported with the
 * path where it was met and the walk goes on, so one run lists every problem.
 */
export async function verifyTree(reader: VerifyReader, rootId: ObjectId): Promise<VerifyResult> {
  const result: VerifyResult = { objects: 0, bytes: 0, problems: [] };
  const seenTrees = new Set<string>();
  const seenBlobs = new Set<string>();
  /** Outcome per distinct content: a damaged blob shared by many files is reported for each of them. */
  const checkedContents = new Map<string, string | null>();
  const stack: { id: ObjectId; path: string }[] = [{ id: rootId, path: '/' }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const hex = objectIdHex(item.id);
    if (seenTrees.has(hex)) continue;
    seenTrees.add(hex);
    let tree: Tree;
    try {
      const data = await reader.readObject(item.id);
      result.objects++;
      result.bytes += data.length;
      tree = reader.decodeTree(data, item.id);
    } catch (error) {
      result.problems.push(`tree ${hex} of ${item.path}: ${problemOf(error)}`);
      continue;
    }
    for (const entry of tree.entries) {
      const path = `${item.path === '/' ? '' : item.path}/${showBytes(entry.name).slice(1, -1)}`;
      if (entry.type === TreeEntryType.Dir && entry.subtree) stack.push({ id: entry.subtree, path });
      if (entry.type !== TreeEntryType.File || !entry.content) continue;
      const key = `${contentKey(entry.content)}:${entry.size}`;
      let problem = checkedContents.get(key);
      if (problem === undefined) {
        problem = await checkContent(reader, entry.content, entry.size, seenBlobs, result);
        checkedContents.set(key, problem);
      }
      if (problem !== null) result.problems.push(`file ${path}: ${problem}`);
    }
  }
  return result;
}

async function checkContent(reader: VerifyReader, content: FileContent, size: bigint, seenBlobs: Set<string>, result: VerifyResult): Promise<string | null> {
  // Each chunk is checked against its id as it is read; the content hash is then a hash of the ids. Content stored
  // before protocol 7 (named by the SHA-256 of its bytes) is hashed whole.
  const whole = isChunkListHash(content.sha256, content.chunks, size) ? null : createHash('sha256');
  let total = 0n;
  for (const [index, chunk] of content.chunks.entries()) {
    const hex = objectIdHex(chunk);
    let data: Buffer;
    try {
      data = await reader.readObject(chunk);
    } catch (error) {
      return `chunk ${hex}: ${problemOf(error)}`;
    }
    if (!seenBlobs.has(hex)) {
      seenBlobs.add(hex);
      result.objects++;
      result.bytes += data.length;
    }
    // A chunk-list name stands for the 1 MiB cut; content named by its bytes (before protocol 7) was never checked for it.
    const last = index === content.chunks.length - 1;
    if (whole === null && (data.length === 0 || data.length > CONTENT_CHUNK_BYTES || (!last && data.length !== CONTENT_CHUNK_BYTES))) {
      return `chunk ${hex} is ${data.length} bytes, not a chunk of the content's cut`;
    }
    whole?.update(data);
    total += BigInt(data.length);
  }
  if (total !== size) return `content is ${total} bytes but the entry says ${size}`;
  if (whole !== null && !whole.digest().equals(content.sha256)) return `content does not match its hash ${content.sha256.toString('hex')}`;
  return null;
}

function contentKey(content: FileContent): string {
  return `${content.sha256.toString('hex')}:${content.chunks.map((c) => c.toString('hex')).join(',')}`;
}

function problemOf(error: unknown): string {
  if (error instanceof RepositoryCorruptError || error instanceof RepositoryNotFoundError) return error.message;
  throw error;
}
