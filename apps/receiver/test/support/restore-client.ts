import { CONTENT_HASH_PROTOCOL_VERSION, MessageType, PROTOCOL_VERSION, type WireError, type EntryMeta, type RestoreDoneMessage, type WelcomeMessage } from '@berth/wire';
import { ContentHasher } from '@berth/delta';
import { createHash } from 'node:crypto';
import { connectAgent, type AgentIdentity } from './test-agent';

export interface RestoredEntry {
  readonly ordinal: number;
  readonly path: string;
  readonly entry: EntryMeta;
  readonly hardlinkOf: number | null;
  content: Buffer | null;
  sha256: Buffer | null;
}

export interface RestoreResult {
  readonly welcome: WelcomeMessage | null;
  readonly entries: RestoredEntry[];
  readonly done: RestoreDoneMessage | null;
  readonly closeReason: WireError | null;
}

/** Runs a restore session and collects everything the receiver streams, checking each file's content hash. */
export async function runRestore(options: AgentIdentity & { snapshotId: string; subPath?: string; protocol?: number }): Promise<RestoreResult> {
  // Before protocol 7 a file's hash is the SHA-256 of its bytes.
  const legacyHash = (options.protocol ?? PROTOCOL_VERSION) < CONTENT_HASH_PROTOCOL_VERSION;
  const conn = await connectAgent(options.port, options.tlsCa);
  let welcome: WelcomeMessage | null = null;
  let done: RestoreDoneMessage | null = null;
  const entries: RestoredEntry[] = [];
  const parts = new Map<number, Buffer[]>();
  conn.on('message', (msg) => {
    switch (msg.type) {
      case MessageType.Welcome:
        welcome = msg;
        void conn.send({ type: MessageType.RestoreRequest, snapshotId: options.snapshotId, subPath: Buffer.from(options.subPath ?? '') });
        break;
      case MessageType.RestoreEntry:
        entries.push({ ordinal: msg.ordinal, path: msg.path.toString('latin1'), entry: msg.entry, hardlinkOf: msg.hardlinkOf, content: null, sha256: null });
        break;
      case MessageType.FileData:
        parts.set(msg.index, [...(parts.get(msg.index) ?? []), Buffer.from(msg.data)]);
        break;
      case MessageType.FileEnd: {
        const target = entries.find((e) => e.ordinal === msg.index);
        if (target === undefined) throw new Error(`FileEnd for unknown ordinal ${msg.index}`);
        target.content = Buffer.concat(parts.get(msg.index) ?? []);
        target.sha256 = msg.sha256;
        const expected = legacyHash ? createHash('sha256').update(target.content).digest() : new ContentHasher().update(target.content).digest();
        if (!expected.equals(msg.sha256)) throw new Error(`content hash mismatch for ${target.path}`);
        break;
      }
      case MessageType.RestoreDone:
        done = msg;
        conn.close();
        break;
      default:
        break;
    }
  });
  await conn.send({ type: MessageType.Hello, protocol: options.protocol ?? PROTOCOL_VERSION, role: 'restore', hostId: options.hostId, runId: options.runId, credential: options.credential, agentVersion: 'test' });
  const reason = await conn.whenClosed();
  return { welcome, entries, done, closeReason: reason };
}
