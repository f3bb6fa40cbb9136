import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { blake3 } from 'hash-wasm';
import { decodeDelta, DeltaDecoder, encodeDelta } from './delta-codec';
import { delta } from './delta';
import { DeltaError, DeltaFormatError } from './errors';
import { MAX_DECODED_LITERAL_BYTES } from './parameters';
import { patch } from './patch';
import { signature } from './signature';
import { chunked, collectBytes, collectTokens, roundTrip } from '../test/round-trip';
import { type DeltaToken } from './tokens';
import { type WholeFileHash } from './whole-file-hash';

async function encodedDelta(basis: Buffer, newVersion: Buffer, blockLength: number): Promise<Buffer> {
  const frames: Buffer[] = [];
  for await (const frame of encodeDelta(delta(await signature(basis, { blockLength }), newVersion))) frames.push(frame);
  return Buffer.concat(frames);
}

async function failureOf(promise: Promise<unknown>): Promise<DeltaError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DeltaError) return error;
    throw error;
  }
  throw new Error('expected a DeltaError, got success');
}

function header(blockLength: number, basisLength: number, hash: WholeFileHash = 'blake3'): DeltaToken {
  return { kind: 'header', blockLength, basisLength, hash };
}

const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

describe('delta encoding', () => {
  const basis = randomBytes(20_000);
  const newVersion = Buffer.concat([basis.subarray(0, 7000), randomBytes(3000), basis.subarray(9000), randomBytes(500)]);

  it('decodes to the same tokens whatever the chunking', async () => {
    const tokens = await collectTokens(delta(await signature(basis, { blockLength: 500 }), newVersion));
    const encoded = await encodedDelta(basis, newVersion, 500);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 5 }), async (sizes) => {
        const decoded = await collectTokens(decodeDelta(chunked(encoded, sizes)));
        expect(decoded.map(normalize)).toEqual(tokens.map(normalize));
      }),
      { numRuns: 60 },
    );
  });

  it('cuts frames no larger than asked, holding whole tokens', async () => {
    for (const maxFrameBytes of [64, 100, 1000, 4096]) {
      const result = await roundTrip(basis, newVersion, { signature: { blockLength: 500 }, maxFrameBytes });
      expect(result.rebuilt.equals(newVersion)).toBe(true);
      for (const frame of result.frames) expect(frame.length).toBeLessThanOrEqual(maxFrameBytes);
      // Each frame decodes on its own once the header has been seen: no token straddles two frames.
      const decoder = new DeltaDecoder();
      for (const frame of result.frames) {
        decoder.push(frame);
        expect((decoder as unknown as { carry: Buffer }).carry.length).toBe(0);
      }
      decoder.finish();
    }
  });

  it('keeps frames of a 3 MiB literal-only delta within 1 MiB', async () => {
    const result = await roundTrip(Buffer.alloc(0), randomBytes(3 * 2 ** 20 + 5));
    expect(result.frames.length).toBe(4);
    for (const frame of result.frames) expect(frame.length).toBeLessThanOrEqual(2 ** 20);
  });

  it('rejects every truncation', async () => {
    const encoded = await encodedDelta(basis, newVersion, 500);
    const cuts = [0, 1, 3, 4, 5, 8, 12, 20, 40, encoded.length - 33, encoded.length - 1];
    for (let i = 0; i < 60; i++) cuts.push(Math.floor(Math.random() * encoded.length));
    for (const cut of cuts) {
      const error = await failureOf(collectBytes(patch(basis, decodeDelta([encoded.subarray(0, cut)]))));
      expect(error).toBeInstanceOf(DeltaFormatError);
      expect(error.code).toBe('truncated');
    }
  });

  it('rejects any damaged byte, when decoding or when the rebuilt file is checked', async () => {
    const encoded = await encodedDelta(basis, newVersion, 500);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: encoded.length - 1 }), fc.integer({ min: 1, max: 255 }), async (position, flip) => {
        const damaged = Buffer.from(encoded);
        damaged[position] = (damaged[position] as number) ^ flip;
        const error = await failureOf(collectBytes(patch(basis, decodeDelta([damaged]))));
        expect(['bad_magic', 'unsupported', 'corrupt', 'out_of_range', 'truncated', 'trailing_data', 'length_mismatch', 'hash_mismatch', 'basis_mismatch']).toContain(
          error.code,
        );
      }),
      { numRuns: 400 },
    );
  });

  it('names what is wrong', async () => {
    const encoded = await encodedDelta(basis, newVersion, 500);
    const decodeAll = (bytes: Uint8Array): Promise<DeltaToken[]> => collectTokens(decodeDelta([bytes]));
    expect((await failureOf(decodeAll(Buffer.from('BSIG....')))).code).toBe('bad_magic');
    expect((await failureOf(decodeAll(Buffer.alloc(0)))).code).toBe('truncated');
    expect((await failureOf(decodeAll(Buffer.concat([encoded, Buffer.from([1])])))).code).toBe('trailing_data');
    const future = Buffer.from(encoded);
    future[4] = 9;
    expect((await failureOf(decodeAll(future))).code).toBe('unsupported');
    const damagedHeader = Buffer.from(encoded);
    damagedHeader[6] = (damagedHeader[6] as number) ^ 0x10;
    expect((await failureOf(decodeAll(damagedHeader))).code).toBe('corrupt');
  });

  it('writes BLAKE3 deltas as version 2 and SHA-256 deltas as version 1, byte for byte what version 1 was', async () => {
    const data = Buffer.from('hello, delta');
    const blake = await collectFrames([header(700, 0), { kind: 'literal', data }, { kind: 'end', length: data.length, digest: Buffer.from(await blake3(data), 'hex') }]);
    expect([...blake.subarray(0, 6)]).toEqual([...Buffer.from('BDLT'), 2, 2]);
    // Version 1 as earlier encoders wrote it: magic, version, varint 700, varint 0, 4 check bytes, tokens.
    const v1Head = Buffer.from([...Buffer.from('BDLT'), 1, 0xbc, 0x05, 0x00]);
    const golden = Buffer.concat([v1Head, sha256(v1Head).subarray(0, 4), Buffer.from([0x01, data.length]), data, Buffer.from([0x03, data.length]), sha256(data)]);
    const sha = await collectFrames([header(700, 0, 'sha256'), { kind: 'literal', data }, { kind: 'end', length: data.length, digest: sha256(data) }]);
    expect(sha.equals(golden)).toBe(true);
    for (const [encoded, hash] of [
      [blake, 'blake3'],
      [golden, 'sha256'],
    ] as const) {
      const tokens = await collectTokens(decodeDelta([encoded]));
      expect(tokens[0]).toEqual(header(700, 0, hash));
      expect((await collectBytes(patch(Buffer.alloc(0), tokens))).equals(data)).toBe(true);
    }
  });

  it('checks the rebuilt file with the hash its header names', async () => {
    for (const hash of ['blake3', 'sha256'] as const) {
      const result = await roundTrip(basis, newVersion, { signature: { blockLength: 500 }, delta: { hash } });
      expect(result.rebuilt.equals(newVersion)).toBe(true);
      expect(result.encodedDelta[4]).toBe(hash === 'sha256' ? 1 : 2);
      const tokens = await collectTokens(decodeDelta([result.encodedDelta]));
      const end = tokens.at(-1) as Extract<DeltaToken, { kind: 'end' }>;
      expect(Buffer.from(end.digest).toString('hex')).toBe(hash === 'sha256' ? sha256(newVersion).toString('hex') : await blake3(newVersion));
      // The same end digest under the other algorithm's name is refused.
      const relabelled = tokens.map((token) => (token.kind === 'header' ? { ...token, hash: hash === 'sha256' ? ('blake3' as const) : ('sha256' as const) } : token));
      const error = await failureOf(collectBytes(patch(basis, relabelled)));
      expect(error.code).toBe('hash_mismatch');
      expect(error.message).toContain(hash === 'sha256' ? 'BLAKE3' : 'SHA-256');
    }
    expect(() => delta({ blockLength: 700, fileLength: 0, strongLength: 8, blockCount: 0, weak: new Uint32Array(0), strong: new Uint8Array(0) }, Buffer.alloc(0), { hash: 'md5' as WholeFileHash })).toThrow(DeltaError);
  });

  it('refuses an unknown whole-file hash with a clear error, and a damaged hash byte as damage', async () => {
    const withHashByte = (code: number): Buffer => {
      const head = Buffer.from([...Buffer.from('BDLT'), 2, code, 0xbc, 0x05, 0x00]);
      return Buffer.concat([head, sha256(head).subarray(0, 4), Buffer.from([0x03, 0x00]), Buffer.alloc(32)]);
    };
    const decodeAll = (bytes: Uint8Array): Promise<DeltaToken[]> => collectTokens(decodeDelta([bytes]));
    let error = await failureOf(decodeAll(withHashByte(9)));
    expect(error.code).toBe('unsupported');
    expect(error.message).toMatch(/whole-file hash 9/);
    // SHA-256 has version 1: version 2 naming it is not canonical.
    expect((await failureOf(decodeAll(withHashByte(1)))).code).toBe('corrupt');
    const damaged = withHashByte(2);
    damaged[5] = 9;
    error = await failureOf(decodeAll(damaged));
    expect(error.code).toBe('corrupt');
    const unknown = { kind: 'header', blockLength: 700, basisLength: 0, hash: 'md5' } as unknown as DeltaToken;
    expect((await failureOf(collectFrames([unknown]))).code).toBe('invalid_argument');
    expect((await failureOf(collectBytes(patch(Buffer.alloc(0), [unknown])))).code).toBe('unsupported');
  });

  it('refuses hostile sizes before allocating them', async () => {
    const head = await collectFrames([header(700, 7000)]);
    const hugeLiteral = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const decodeAll = (bytes: Uint8Array): Promise<DeltaToken[]> => collectTokens(decodeDelta([head, bytes]));
    let error = await failureOf(decodeAll(hugeLiteral));
    expect(error.code).toBe('out_of_range');
    expect(error.message).toContain(String(MAX_DECODED_LITERAL_BYTES));
    error = await failureOf(decodeAll(Buffer.from([0x02, 0x09, 0x02]))); // blocks 9..10 of a 10-block basis
    expect(error.code).toBe('out_of_range');
    error = await failureOf(decodeAll(Buffer.from([0x02, 0x00, 0x00])));
    expect(error.code).toBe('out_of_range');
    error = await failureOf(decodeAll(Buffer.from([0x07])));
    expect(error.code).toBe('corrupt');
    error = await failureOf(decodeAll(Buffer.concat([Buffer.from([0x03, 0x05]), Buffer.alloc(32)])));
    expect(error.code).toBe('length_mismatch');
    const hugeBasis = await failureOf(collectFrames([header(1, Number.MAX_SAFE_INTEGER)]).then((bytes) => collectTokens(decodeDelta([bytes]))));
    expect(hugeBasis.code).toBe('out_of_range');
  });
});

describe('patch', () => {
  const basis = randomBytes(10_000);
  const newVersion = Buffer.concat([basis.subarray(0, 6000), Buffer.from('changed'), basis.subarray(6000)]);

  it('refuses a basis of another length', async () => {
    const tokens = await collectTokens(delta(await signature(basis), newVersion));
    const error = await failureOf(collectBytes(patch(basis.subarray(1), tokens)));
    expect(error.code).toBe('basis_mismatch');
  });

  it('fails with hash_mismatch when the basis content differs', async () => {
    const tokens = await collectTokens(delta(await signature(basis), newVersion));
    const other = Buffer.from(basis);
    other[10] = (other[10] as number) ^ 1;
    const error = await failureOf(collectBytes(patch(other, tokens)));
    expect(error.code).toBe('hash_mismatch');
  });

  it('enforces the token grammar', async () => {
    const end = { kind: 'end', length: 0, digest: sha256(Buffer.alloc(0)) } as const;
    expect((await failureOf(collectBytes(patch(basis, [end])))).code).toBe('bad_sequence');
    expect((await failureOf(collectBytes(patch(basis, [header(700, basis.length), header(700, basis.length)])))).code).toBe('bad_sequence');
    expect((await failureOf(collectBytes(patch(basis, [header(700, basis.length, 'sha256'), end, end])))).code).toBe('bad_sequence');
    expect((await failureOf(collectBytes(patch(basis, [header(700, basis.length), { kind: 'copy', start: 14, count: 2 }])))).code).toBe('out_of_range');
    expect((await failureOf(collectBytes(patch(basis, [header(700, basis.length)])))).code).toBe('truncated');
    const wrongLength = { kind: 'end', length: 3, digest: sha256(Buffer.alloc(0)) } as const;
    expect((await failureOf(collectBytes(patch(basis, [header(700, basis.length), wrongLength])))).code).toBe('length_mismatch');
  });

  it('reads a basis through a reader, a file path or a file handle alike', async () => {
    const tokens = await collectTokens(delta(await signature(basis), newVersion));
    const reader = { length: basis.length, read: (offset: number, length: number) => Promise.resolve(basis.subarray(offset, offset + length)) };
    expect((await collectBytes(patch(reader, tokens, { readBytes: 333 }))).equals(newVersion)).toBe(true);
  });
});

async function collectFrames(tokens: DeltaToken[]): Promise<Buffer> {
  const frames: Buffer[] = [];
  for await (const frame of encodeDelta(tokens)) frames.push(frame);
  return Buffer.concat(frames);
}

function normalize(token: DeltaToken): unknown {
  return token.kind === 'literal' ? { kind: 'literal', data: Buffer.from(token.data).toString('hex') } : token.kind === 'end' ? { ...token, digest: Buffer.from(token.digest).toString('hex') } : token;
}
