import { createBLAKE3 } from 'hash-wasm';
import { Sha256Stream } from './sha256-stream';

/**
 * Cryptographic hash of the whole new version, carried by a delta's end token and checked by patch. It is what
 * catches a crafted xxh128 collision between blocks, so it must be collision resistant.
 *
 * - `blake3` (the default): about 3 GB/s here through the native BLAKE3 (@napi-rs/blake-hash, AVX2), inline on
 *   the calling thread; 0.55 GB/s through hash-wasm where the native binding cannot load (same digests).
 * - `sha256`: about 1.5-1.8 GB/s (node:crypto, SHA extensions), on a helper thread for streams over 1 MiB
 *   (see sha256-stream.ts). The agent uses it because the wire's FileEnd and the repository name content by
 *   SHA-256: the end token then doubles as the file's content hash.
 */
export type WholeFileHash = 'sha256' | 'blake3' | 'content';
export const WHOLE_FILE_HASHES: readonly WholeFileHash[] = ['blake3', 'sha256', 'content'];
export const DEFAULT_WHOLE_FILE_HASH: WholeFileHash = 'blake3';
export const WHOLE_FILE_DIGEST_BYTES = 32;

/** Name used in messages. */
export function wholeFileHashName(hash: WholeFileHash): string {
  return hash === 'sha256' ? 'SHA-256' : hash === 'content' ? 'content hash' : 'BLAKE3';
}

/** A hash of a byte stream; `update` copies nothing it must keep (the caller may reuse its buffer at once). */
export interface WholeFileHasher {
  /** Returns a promise only when it must wait (a busy helper thread); await it before the next update. */
  update(data: Uint8Array): Promise<void> | undefined;
  digest(): Promise<Buffer>;
  /** Frees the state of a stream abandoned before `digest`. */
  abort(): void;
  /**
   * The content hash made with `chunkIds` only: the id of content chunk `index` once all its bytes went through
   * `update`, or undefined when it cannot tell (see Sha256Stream.chunkId).
   */
  chunkId?(index: number): Promise<Buffer | undefined> | undefined;
}

/** `chunkIds`: with the content hash, a hasher whose `chunkId` answers for that many first chunks (32 bytes each kept). */
export async function wholeFileHasher(hash: WholeFileHash, chunkIds = 0): Promise<WholeFileHasher> {
  if (hash === 'sha256') return new Sha256Stream();
  if (hash === 'content') return new Sha256Stream(true, chunkIds);
  const native = await nativeBlake3();
  return native !== undefined ? new NativeBlake3(new native.Blake3Hasher()) : new WasmBlake3(await createBLAKE3());
}

interface NativeBlake3Module {
  readonly Blake3Hasher: new () => NativeBlake3State;
}

/** The binding (1.3.4: its platform packages are all published) takes Buffers only. */
interface NativeBlake3State {
  update(input: Buffer): unknown;
  digestBuffer(): Buffer;
}

let nativeModule: Promise<NativeBlake3Module | undefined> | undefined;

/** The native binding, or undefined where its prebuilt binary is missing (another OS, libc or CPU). */
function nativeBlake3(): Promise<NativeBlake3Module | undefined> {
  nativeModule ??= import('@napi-rs/blake-hash').then(
    (loaded): NativeBlake3Module | undefined => (typeof loaded.Blake3Hasher === 'function' ? loaded : undefined),
    () => undefined,
  );
  return nativeModule;
}

/** Whether BLAKE3 runs natively in this process (else through WebAssembly, about 5x slower). */
export async function blake3IsNative(): Promise<boolean> {
  return (await nativeBlake3()) !== undefined;
}

class NativeBlake3 implements WholeFileHasher {
  constructor(private readonly hasher: NativeBlake3State) {}

  update(data: Uint8Array): undefined {
    // A view, not a copy.
    if (data.length > 0) this.hasher.update(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return undefined;
  }

  digest(): Promise<Buffer> {
    return Promise.resolve(this.hasher.digestBuffer());
  }

  abort(): void {
    // Nothing held outside the hasher object, which the GC frees.
  }
}

class WasmBlake3 implements WholeFileHasher {
  constructor(private readonly hasher: Awaited<ReturnType<typeof createBLAKE3>>) {}

  update(data: Uint8Array): undefined {
    if (data.length > 0) this.hasher.update(data);
    return undefined;
  }

  digest(): Promise<Buffer> {
    return Promise.resolve(Buffer.from(this.hasher.digest('binary')));
  }

  abort(): void {
    // As above.
  }
}
