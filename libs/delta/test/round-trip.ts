import { decodeDelta, encodeDelta } from '../src/delta-codec';
import { delta, type DeltaOptions, type DeltaStats } from '../src/delta';
import { patch } from '../src/patch';
import { signature, type SignatureOptions } from '../src/signature';
import { decodeSignature, encodeSignature } from '../src/signature-codec';
import { type DeltaToken } from '../src/tokens';

export async function collectBytes(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

export async function collectTokens(tokens: AsyncIterable<DeltaToken>): Promise<DeltaToken[]> {
  const all: DeltaToken[] = [];
  for await (const token of tokens) all.push(token);
  return all;
}

/** Splits a buffer into chunks of the given sizes (cycled), as a stream would deliver it. */
export async function* chunked(data: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    // Each chunk arrives in a later turn, as from a socket or a file stream.
    yield await Promise.resolve(data.subarray(offset, offset + size));
    offset += size;
  }
}

export interface RoundTrip {
  readonly rebuilt: Buffer;
  readonly stats: DeltaStats;
  readonly encodedDelta: Buffer;
  readonly encodedSignature: Buffer;
  readonly frames: Buffer[];
}

/** The whole path a transfer takes: signature, its encoding, delta, frames, decoding, patch. */
export async function roundTrip(
  basis: Uint8Array,
  newVersion: Uint8Array,
  options: { signature?: SignatureOptions; delta?: DeltaOptions; maxFrameBytes?: number; newChunks?: readonly number[] } = {},
): Promise<RoundTrip> {
  const encodedSignature = encodeSignature(await signature(basis, options.signature));
  const stream = delta(decodeSignature(encodedSignature), options.newChunks ? chunked(newVersion, options.newChunks) : newVersion, options.delta);
  const frames: Buffer[] = [];
  for await (const frame of encodeDelta(stream, options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes })) frames.push(frame);
  const rebuilt = await collectBytes(patch(basis, decodeDelta(frames)));
  return { rebuilt, stats: stream.stats, encodedDelta: Buffer.concat(frames), encodedSignature, frames };
}
