import { type VerifySessionResponse } from '@berth/contracts';
import { findEntry, type ObjectId, type RepositoryApi, type TreeEntry, TreeEntryType } from '@berth/repository';
import { chunkListHash } from '@berth/delta';
import { CONTENT_HASH_PROTOCOL_VERSION, ErrorCode, MessageType, WireError, pathComponents, type FramedConnection, type Message, type RestoreRequestMessage } from '@berth/wire';
import { createHash } from 'node:crypto';
import { toEntryMeta } from '../backup/entries';
import { protocolError } from '../session/errors';
import { nextMessage, showPath } from '../session/session-context';

export interface RestoreOutcome {
  readonly snapshotId: string;
  readonly entries: number;
  readonly bytes: number;
}

type RestoreGrant = NonNullable<VerifySessionResponse['restore']>;

const SLASH = Buffer.from('/');

/**
 * Streams one snapshot (or a sub-path of it) to a restoring agent: entries in pre-order with the ancestors
 * of the sub-path first, file contents right after their entry, hard links as references to the first entry
 * of their (dev, ino) group. Every send waits for the socket, so a slow agent slows the stream.
 */
export class RestoreSession {
  private ordinal = 0;
  private bytes = 0;
  private readonly linkGroups = new Map<string, number>();

  constructor(
    private readonly conn: FramedConnection,
    private readonly inbox: AsyncIterator<Message>,
    private readonly repo: RepositoryApi,
    private readonly grant: RestoreGrant,
    /** The agent's protocol version: before 7 it checks a file's SHA-256 of its bytes, not its content hash. */
    private readonly protocol: number,
  ) {}

  async run(): Promise<RestoreOutcome> {
    const first = await nextMessage(this.inbox);
    if (first.type !== MessageType.RestoreRequest) throw protocolError(`expected RestoreRequest, got message type ${first.type}`);
    const rootId = await this.authorize(first);
    const parts = pathComponents(first.subPath.length === 0 ? SLASH : first.subPath);
    let tree = await this.repo.readTree(rootId);
    let prefix: Buffer | null = null;
    for (const [i, name] of parts.entries()) {
      const entry = findEntry(tree, name);
      if (entry === null) throw new WireError(ErrorCode.NotFound, `${showPath(first.subPath)} is not in snapshot ${first.snapshotId}`);
      prefix = prefix === null ? name : Buffer.concat([prefix, SLASH, name]);
      await this.sendEntry(prefix, entry);
      if (i === parts.length - 1) break;
      if (entry.type !== TreeEntryType.Dir || entry.subtree === null) throw new WireError(ErrorCode.NotFound, `${showPath(first.subPath)} is not in snapshot ${first.snapshotId}`);
      tree = await this.repo.readTree(entry.subtree);
    }
    const below = parts.length === 0 ? rootId : this.subtreeOf(tree, parts);
    if (below !== null) {
      for await (const item of this.repo.walkTree(below)) {
        await this.sendEntry(prefix === null ? item.path : Buffer.concat([prefix, SLASH, item.path]), item.entry);
      }
    }
    await this.conn.send({ type: MessageType.RestoreDone, entries: this.ordinal, bytes: this.bytes });
    return { snapshotId: first.snapshotId, entries: this.ordinal, bytes: this.bytes };
  }

  /** The run may read only the snapshot the controller granted, within the granted sub-path, of the granted host. */
  private async authorize(request: RestoreRequestMessage): Promise<ObjectId> {
    if (request.snapshotId !== this.grant.snapshotId) throw new WireError(ErrorCode.Forbidden, `this run may not read snapshot ${request.snapshotId}`);
    const granted = normalizeGrantedPath(this.grant.subPath);
    if (granted !== null) {
      const allowed = Buffer.from(granted, 'utf8');
      const requested = request.subPath;
      const within = requested.equals(allowed) || (requested.length > allowed.length && requested.subarray(0, allowed.length).equals(allowed) && requested[allowed.length] === 0x2f);
      if (!within) throw new WireError(ErrorCode.Forbidden, `this run may read only ${JSON.stringify(this.grant.subPath)}`);
    }
    const snapshot = await this.repo.findSnapshot(request.snapshotId);
    if (snapshot === null) throw new WireError(ErrorCode.NotFound, `snapshot ${request.snapshotId} is not in the repository`);
    if (snapshot.hostId !== this.grant.sourceHostId) throw new WireError(ErrorCode.Forbidden, `snapshot ${request.snapshotId} does not belong to the granted host`);
    return Buffer.from(snapshot.rootTree, 'hex');
  }

  /** The tree to walk below the last sub-path component, or null when it is not a directory. */
  private subtreeOf(parentTree: { entries: readonly TreeEntry[] }, parts: Buffer[]): ObjectId | null {
    const last = parts[parts.length - 1] as Buffer;
    const entry = findEntry(parentTree, last);
    return entry !== null && entry.type === TreeEntryType.Dir ? entry.subtree : null;
  }

  private async sendEntry(path: Buffer, entry: TreeEntry): Promise<void> {
    const ordinal = this.ordinal++;
    let hardlinkOf: number | null = null;
    if (entry.type === TreeEntryType.File && entry.nlink > 1) {
      const group = `${entry.dev}:${entry.ino}`;
      const firstOrdinal = this.linkGroups.get(group);
      if (firstOrdinal === undefined) this.linkGroups.set(group, ordinal);
      else hardlinkOf = firstOrdinal;
    }
    await this.conn.send({ type: MessageType.RestoreEntry, ordinal, path, entry: toEntryMeta(entry), hardlinkOf });
    if (entry.type !== TreeEntryType.File || hardlinkOf !== null) return;
    const content = entry.content;
    if (content === null) throw new WireError(ErrorCode.Internal, `file ${showPath(path)} has no content in the repository`);
    // Each chunk is read verified against its id, so content named by its chunk-list hash needs no further hashing.
    // Content stored under the SHA-256 of its bytes (before protocol 7), or an agent that checks that, has it hashed.
    const named = chunkListHash(content.chunks, entry.size);
    const chunkList = named.equals(content.sha256);
    const legacyAgent = this.protocol < CONTENT_HASH_PROTOCOL_VERSION;
    const whole = !chunkList || (legacyAgent && content.chunks.length > 1) ? createHash('sha256') : null;
    let size = 0;
    for await (const data of this.repo.readFileContent(content)) {
      whole?.update(data);
      size += data.length;
      await this.conn.send({ type: MessageType.FileData, seq: 0, index: ordinal, data });
    }
    const wholeDigest = whole?.digest() ?? null;
    if (BigInt(size) !== entry.size || (!chunkList && wholeDigest?.equals(content.sha256) !== true)) {
      throw new WireError(ErrorCode.Internal, `stored content of ${showPath(path)} does not match its hash`);
    }
    this.bytes += size;
    const sha256 = legacyAgent ? (wholeDigest ?? content.sha256) : named;
    await this.conn.send({ type: MessageType.FileEnd, seq: 0, index: ordinal, size: BigInt(size), sha256, error: null });
  }
}

/** The controller's sub-path as an absolute path without a trailing "/"; null when the whole snapshot is granted. */
function normalizeGrantedPath(subPath: string | null): string | null {
  if (subPath === null) return null;
  const trimmed = subPath.replace(/\/+$/, '');
  if (trimmed === '') return null;
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}
