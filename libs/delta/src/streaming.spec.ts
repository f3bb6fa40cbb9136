import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { delta } from './delta';
import { encodeDelta } from './delta-codec';
import { DeltaError } from './errors';
import { patch, patchInto } from './patch';
import { OFFLOAD_BYTES, Sha256Stream } from './sha256-stream';
import { signature } from './signature';
import { blake3 } from 'hash-wasm';
import { chunked, collectBytes, collectTokens, roundTrip } from '../test/round-trip';
import { type DeltaToken } from './tokens';
import { type ByteSource } from './sources';

const describeTokens = (tokens: DeltaToken[]): string[] =>
  tokens.map((token) => (token.kind === 'literal' ? `literal ${Buffer.from(token.data).toString('hex')}` : JSON.stringify({ ...token, digest: undefined })));

describe('streaming', () => {
  it('yields the same tokens whatever the chunking of the new version', async () => {
    const basis = randomBytes(30_000);
    const newVersion = Buffer.concat([basis.subarray(5000, 20_000), randomBytes(2000), basis.subarray(0, 4000), randomBytes(10)]);
    const sig = await signature(basis, { blockLength: 256 });
    const reference = describeTokens(await collectTokens(delta(sig, newVersion, { maxLiteralBytes: 700 })));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 4 }), async (sizes) => {
        const tokens = await collectTokens(delta(sig, chunked(newVersion, sizes), { maxLiteralBytes: 700 }));
        expect(describeTokens(tokens)).toEqual(reference);
      }),
      { numRuns: 40 },
    );
  });

  it("reads a caller's ByteSource straight into its buffer, in pieces of any size, and closes it at the end", async () => {
    const basis = randomBytes(9 * 1024 * 1024);
    const newVersion = Buffer.concat([basis.subarray(0, 3_000_000), randomBytes(5000), basis.subarray(3_000_000)]);
    const sig = await signature(basis);
    const reference = describeTokens(await collectTokens(delta(sig, newVersion, { hash: 'sha256' })));
    let position = 0;
    let closed = 0;
    const lengths: number[] = [];
    const source: ByteSource = {
      knownLength: undefined,
      read: (target, offset, length) => {
        // Short reads, as a file or a pipe may give.
        const count = Math.min(length, 700_001, newVersion.length - position);
        lengths.push(length);
        target.set(newVersion.subarray(position, position + count), offset);
        position += count;
        return Promise.resolve(count);
      },
      close: () => {
        closed += 1;
        return Promise.resolve();
      },
    };
    const stream = delta(sig, source, { hash: 'sha256' });
    expect(describeTokens(await collectTokens(stream))).toEqual(reference);
    expect(Buffer.from(stream.end?.digest ?? [])).toEqual(createHash('sha256').update(newVersion).digest());
    expect(closed).toBe(1);
    expect(lengths.length).toBeGreaterThan(newVersion.length / 700_001);
  });

  it('signs a stream like the same bytes in memory, given the expected length', async () => {
    const basis = randomBytes(1_000_000);
    const fromBuffer = await signature(basis);
    const fromStream = await signature(chunked(basis, [65_536, 1000, 7]), { expectedLength: basis.length });
    expect(fromStream).toEqual(fromBuffer);
    await expect(signature(chunked(basis, [1000]))).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('keeps the end token on the stream, also when encodeDelta consumes it directly', async () => {
    const data = randomBytes(200_000);
    const stream = delta(await signature(data.subarray(1000)), data);
    expect(stream.end).toBeUndefined();
    let bytes = 0;
    for await (const frame of encodeDelta(stream)) bytes += frame.length;
    expect(bytes).toBeGreaterThan(1000);
    expect(stream.end?.length).toBe(data.length);
    // BLAKE3 by default; hash-wasm's implementation is the reference for the native one.
    expect(Buffer.from(stream.end?.digest ?? []).toString('hex')).toBe(await blake3(data));
  });

  it('keeps literal tokens at or below the requested size', async () => {
    const stream = delta(await signature(Buffer.alloc(0)), randomBytes(100_000), { maxLiteralBytes: 4096 });
    const literals = (await collectTokens(stream)).filter((token) => token.kind === 'literal');
    expect(literals.length).toBe(Math.ceil(100_000 / 4096));
    for (const literal of literals) expect(literal.data.length).toBeLessThanOrEqual(4096);
    expect(() => delta({ blockLength: 700, fileLength: 0, strongLength: 8, blockCount: 0, weak: new Uint32Array(0), strong: new Uint8Array(0) }, Buffer.alloc(0), { maxLiteralBytes: 0 })).toThrow(DeltaError);
  });

  it('skips blocks overwritten in place without the rolling search, with the tokens the search would give', async () => {
    const basis = randomBytes(100_000);
    const newVersion = Buffer.from(basis);
    // An overwrite inside block 5, one across the boundary of blocks 20 and 21, one inside the last full block.
    randomBytes(10).copy(newVersion, 5_300);
    randomBytes(40).copy(newVersion, 20_980);
    randomBytes(1).copy(newVersion, 98_500);
    const sig = await signature(basis, { blockLength: 1000 });
    const stream = delta(sig, newVersion);
    const tokens = describeTokens(await collectTokens(stream));
    const literal = (from: number, to: number): string => `literal ${newVersion.subarray(from, to).toString('hex')}`;
    expect(tokens.slice(1, -1)).toEqual([
      JSON.stringify({ kind: 'copy', start: 0, count: 5 }),
      literal(5_000, 6_000),
      JSON.stringify({ kind: 'copy', start: 6, count: 14 }),
      literal(20_000, 22_000),
      JSON.stringify({ kind: 'copy', start: 22, count: 76 }),
      literal(98_000, 99_000),
      JSON.stringify({ kind: 'copy', start: 99, count: 1 }),
    ]);
    expect(stream.stats.weakHits).toBe(0);
    // With literals capped below a block, the skip is not allowed: the rolling search finds the same matches.
    const capped = delta(sig, newVersion, { maxLiteralBytes: 600 });
    const cappedTokens = await collectTokens(capped);
    expect(capped.stats.weakHits).toBeGreaterThan(0);
    expect(cappedTokens.filter((token) => token.kind === 'copy')).toEqual((await collectTokens(delta(sig, newVersion))).filter((token) => token.kind === 'copy'));
  });

  it('works from files: signature and delta read paths, patch reads a path or an open handle', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-delta-'));
    try {
      const basis = randomBytes(3_000_000);
      const newVersion = Buffer.concat([basis.subarray(0, 2_000_000), randomBytes(1000), basis.subarray(2_000_500)]);
      await writeFile(join(dir, 'basis'), basis);
      await writeFile(join(dir, 'new'), newVersion);
      const tokens = await collectTokens(delta(await signature(join(dir, 'basis')), join(dir, 'new')));
      expect((await collectBytes(patch(join(dir, 'basis'), tokens))).equals(newVersion)).toBe(true);
      const handle = await open(join(dir, 'basis'), 'r');
      try {
        expect((await collectBytes(patch(handle, tokens, { readBytes: 4096 }))).equals(newVersion)).toBe(true);
      } finally {
        await handle.close();
      }
      // patchInto reuses one read buffer: the sink copies what it keeps.
      const parts: Buffer[] = [];
      const written = await patchInto(join(dir, 'basis'), tokens, (chunk) => void parts.push(Buffer.from(chunk)), { readBytes: 64 * 1024 });
      expect(written).toBe(newVersion.length);
      expect(Buffer.concat(parts).equals(newVersion)).toBe(true);
      await expect(signature(dir)).rejects.toMatchObject({ code: 'invalid_argument' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('patchInto from a file basis: full staging buffers in order, one sink call at a time, errors of the sink and of the data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-delta-'));
    try {
      const basis = randomBytes(400_000);
      // Literals longer than a staging buffer, copies straddling buffer boundaries, a short last block.
      const newVersion = Buffer.concat([randomBytes(25_000), basis.subarray(0, 150_000), randomBytes(3), basis.subarray(200_000), basis.subarray(10_000, 20_000)]);
      await writeFile(join(dir, 'basis'), basis);
      const tokens = await collectTokens(delta(await signature(basis, { blockLength: 1000 }), newVersion));
      const readBytes = 9_999;
      const parts: Buffer[] = [];
      let inSink = 0;
      let overlapped = false;
      const written = await patchInto(
        join(dir, 'basis'),
        tokens,
        async (chunk) => {
          overlapped ||= inSink > 0;
          inSink++;
          parts.push(Buffer.from(chunk));
          await new Promise((resolve) => setImmediate(resolve));
          inSink--;
        },
        { readBytes },
      );
      expect(written).toBe(newVersion.length);
      expect(Buffer.concat(parts).equals(newVersion)).toBe(true);
      expect(overlapped).toBe(false);
      // Every chunk but the last fills its buffer.
      expect(parts.slice(0, -1).every((part) => part.length === readBytes)).toBe(true);

      const failing = patchInto(join(dir, 'basis'), tokens, (chunk) => (chunk.length > 0 && parts.length > 0 ? Promise.reject(new Error('disk full')) : undefined), { readBytes });
      await expect(failing).rejects.toThrow('disk full');
      const throwing = patchInto(join(dir, 'basis'), tokens, () => {
        throw new Error('sink broke');
      });
      await expect(throwing).rejects.toThrow('sink broke');

      const other = Buffer.from(basis);
      other[100_000] = (other[100_000] as number) ^ 1;
      await writeFile(join(dir, 'other'), other);
      await expect(patchInto(join(dir, 'other'), tokens, () => undefined, { readBytes })).rejects.toMatchObject({ code: 'hash_mismatch' });
      await expect(patchInto(join(dir, 'basis'), tokens.slice(0, -1), () => undefined)).rejects.toMatchObject({ code: 'truncated' });
      await writeFile(join(dir, 'short'), basis.subarray(0, 399_000));
      await expect(patchInto(join(dir, 'short'), tokens, () => undefined)).rejects.toMatchObject({ code: 'basis_mismatch' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads large files ahead in pieces without changing the result (delta slides its buffer, patch reads runs in pieces)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-delta-'));
    try {
      const MiB = 1024 * 1024;
      const basis = randomBytes(10 * MiB + 123);
      // Edits of a few bytes to a few hundred KiB, some on block boundaries, a moved range, an append.
      const newVersion = Buffer.concat([
        basis.subarray(0, 3 * MiB),
        randomBytes(300_000),
        basis.subarray(3 * MiB + 4096, 7 * MiB),
        basis.subarray(9 * MiB, 10 * MiB),
        randomBytes(5),
        basis.subarray(7 * MiB, 10 * MiB + 123),
        randomBytes(70_000),
      ]);
      await writeFile(join(dir, 'basis'), basis);
      await writeFile(join(dir, 'new'), newVersion);
      const sig = await signature(join(dir, 'basis'));
      expect(sig).toEqual(await signature(basis));
      const fromFile = await collectTokens(delta(sig, join(dir, 'new')));
      expect(describeTokens(fromFile)).toEqual(describeTokens(await collectTokens(delta(sig, newVersion))));
      expect(describeTokens(fromFile)).toEqual(describeTokens(await collectTokens(delta(sig, chunked(newVersion, [MiB + 17, 300_001, 4096])))));
      const parts: Buffer[] = [];
      await patchInto(join(dir, 'basis'), fromFile, (chunk) => void parts.push(Buffer.from(chunk)), { readBytes: 100_000 });
      expect(Buffer.concat(parts).equals(newVersion)).toBe(true);
      // A consumer that stops while a read is in flight, then another delta reusing pooled memory.
      for await (const token of delta(sig, join(dir, 'new'))) if (token.kind === 'copy') break;
      const again = await roundTrip(basis.subarray(0, 2 * MiB), newVersion.subarray(0, 2 * MiB));
      expect(again.rebuilt.equals(newVersion.subarray(0, 2 * MiB))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Several passes over 10 MiB: seconds on a busy machine, more than Jest's default allowance.
  }, 60_000);

  it('lets a consumer stop while a read ahead waits on a stream that has stalled', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    let closed = false;
    async function* stalling(): AsyncGenerator<Uint8Array> {
      try {
        for (let offset = 0; offset < data.length; offset += 1024 * 1024) yield data.subarray(offset, offset + 1024 * 1024);
        await new Promise(() => undefined);
      } finally {
        closed = true;
      }
    }
    const stream = delta(await signature(Buffer.alloc(0)), stalling());
    const literals: Buffer[] = [];
    let afterAllRead = 0;
    for await (const token of stream) {
      if (token.kind === 'literal') literals.push(Buffer.from(token.data));
      // Once the whole input is in, the next read waits on the stalled generator; stop two literals later.
      if (stream.stats.newLength === data.length && ++afterAllRead === 2) break;
    }
    const received = Buffer.concat(literals);
    expect(received.length).toBeGreaterThan(0);
    expect(received.equals(data.subarray(0, received.length))).toBe(true);
    expect(closed).toBe(false);
  });

  it('runs concurrent signatures and deltas on separate buffers (kernel memories are pooled)', async () => {
    const cases = Array.from({ length: 6 }, (_, i) => {
      const basis = randomBytes(50_000 + i * 70_000);
      return { basis, newVersion: Buffer.concat([randomBytes(i * 100), basis.subarray(i * 1000), randomBytes(333)]) };
    });
    const results = await Promise.all(cases.map(({ basis, newVersion }) => roundTrip(basis, newVersion, { newChunks: [4096, 1000] })));
    results.forEach((result, i) => expect(result.rebuilt.equals(cases[i]!.newVersion)).toBe(true));
  });

  it('stops cleanly when the consumer stops early', async () => {
    const stream = delta(await signature(Buffer.alloc(0)), randomBytes(4 * OFFLOAD_BYTES));
    for await (const token of stream) {
      if (token.kind === 'literal') break;
    }
    expect(stream.stats.literalTokens).toBe(1);
  });
});

describe('SHA-256 of a stream', () => {
  it('equals node:crypto on small and large inputs, inline or on the helper thread', async () => {
    for (const length of [0, 1, OFFLOAD_BYTES - 1, OFFLOAD_BYTES, 5 * OFFLOAD_BYTES + 3]) {
      const data = randomBytes(length);
      const stream = new Sha256Stream();
      for (let offset = 0; offset < length; offset += 300_000) await stream.update(data.subarray(offset, offset + 300_000));
      expect((await stream.digest()).equals(createHash('sha256').update(data).digest())).toBe(true);
    }
  });

  it('keeps concurrent streams apart', async () => {
    const inputs = [randomBytes(3 * OFFLOAD_BYTES), randomBytes(2 * OFFLOAD_BYTES + 1), randomBytes(10)];
    const digests = await Promise.all(
      inputs.map(async (data) => {
        const stream = new Sha256Stream();
        for (let offset = 0; offset < data.length; offset += 65_536) await stream.update(data.subarray(offset, offset + 65_536));
        return stream.digest();
      }),
    );
    digests.forEach((digest, i) => expect(digest.equals(createHash('sha256').update(inputs[i] as Buffer).digest())).toBe(true));
  });

  it('runs on the helper started ahead, which a process starts once, even while streams are under way', async () => {
    await jest.isolateModulesAsync(async () => {
      const fresh = await import('./sha256-stream');
      expect(fresh.hashHelperThreadId()).toBeNull();
      await fresh.startHashHelper();
      const started = fresh.hashHelperThreadId();
      expect(started).toEqual(expect.any(Number));
      const data = randomBytes(3 * fresh.OFFLOAD_BYTES + 5);
      const stream = new fresh.Sha256Stream();
      await stream.update(data.subarray(0, 2 * fresh.OFFLOAD_BYTES));
      // Started again while the stream's bytes are with the helper: the same thread, and they are not touched.
      await fresh.startHashHelper();
      await stream.update(data.subarray(2 * fresh.OFFLOAD_BYTES));
      expect((await stream.digest()).equals(createHash('sha256').update(data).digest())).toBe(true);
      expect(fresh.hashHelperThreadId()).toBe(started);
    });
  });

  it('does not see later changes to the caller buffer', async () => {
    const data = randomBytes(2 * OFFLOAD_BYTES);
    const expected = createHash('sha256').update(data).digest();
    const stream = new Sha256Stream();
    await stream.update(data);
    data.fill(0);
    expect((await stream.digest()).equals(expected)).toBe(true);
  });
});
