import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { DeltaFormatError } from './errors';
import { signature } from './signature';
import { decodeSignature, encodeSignature } from './signature-codec';
import { writeVarint } from './varint';

function expectFormatError(action: () => unknown, code: string): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DeltaFormatError);
  expect((caught as DeltaFormatError).code).toBe(code);
}

/** A well-formed header (and check) around hostile lengths, to test what the decoder allocates. */
function forgedSignature(blockLength: number, fileLength: number, body: Uint8Array): Buffer {
  const head = Buffer.alloc(32);
  head.write('BSIG', 'latin1');
  head.set([1, 1, 1, 8], 4);
  const end = writeVarint(head, writeVarint(head, 8, blockLength), fileLength);
  const content = Buffer.concat([head.subarray(0, end), body]);
  return Buffer.concat([content, createHash('sha256').update(content).digest().subarray(0, 16)]);
}

describe('signature encoding', () => {
  it('round-trips every field', async () => {
    const basis = randomBytes(100_003);
    const original = await signature(basis, { blockLength: 1000, strongLength: 13 });
    const decoded = decodeSignature(encodeSignature(original));
    expect(decoded).toEqual(original);
    expect(decoded.blockCount).toBe(101);
  });

  it('is 4 bytes of weak checksum plus the strong length per block, and a small header', async () => {
    const sig = await signature(randomBytes(256 * 700));
    expect(encodeSignature(sig).length).toBeLessThanOrEqual(8 + 2 + 3 + 256 * (4 + sig.strongLength) + 16);
  });

  it('rejects every truncation with a format error', async () => {
    const encoded = encodeSignature(await signature(randomBytes(10_000), { blockLength: 512 }));
    for (let length = 0; length < encoded.length; length++) {
      expect(() => decodeSignature(encoded.subarray(0, length))).toThrow(DeltaFormatError);
    }
  });

  it('rejects any damaged byte', async () => {
    const encoded = encodeSignature(await signature(randomBytes(5_000), { blockLength: 256 }));
    fc.assert(
      fc.property(fc.nat({ max: encoded.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, flip) => {
        const damaged = Buffer.from(encoded);
        damaged[position] = (damaged[position] as number) ^ flip;
        expect(() => decodeSignature(damaged)).toThrow(DeltaFormatError);
      }),
      { numRuns: 500 },
    );
  });

  it('names what is wrong', async () => {
    const encoded = encodeSignature(await signature(randomBytes(3000)));
    expectFormatError(() => decodeSignature(Buffer.from('BDLT\x01')), 'truncated');
    expectFormatError(() => decodeSignature(Buffer.from('nonsense-bytes')), 'bad_magic');
    const future = Buffer.from(encoded);
    future[4] = 2;
    expectFormatError(() => decodeSignature(future), 'unsupported');
    expectFormatError(() => decodeSignature(Buffer.concat([encoded, Buffer.from([0])])), 'trailing_data');
    const damaged = Buffer.from(encoded);
    damaged[20] = (damaged[20] as number) ^ 1;
    expectFormatError(() => decodeSignature(damaged), 'corrupt');
  });

  it('checks the declared block count against the bytes present before allocating', () => {
    // 2^53 - 1 bytes in 700-byte blocks: 1.3e13 blocks, far more than any typed array.
    expectFormatError(() => decodeSignature(forgedSignature(700, Number.MAX_SAFE_INTEGER, Buffer.alloc(0))), 'out_of_range');
    // 1 GiB in 1 KiB blocks declares 1 M blocks (12 MiB of entries) but carries 24 bytes.
    expectFormatError(() => decodeSignature(forgedSignature(1024, 2 ** 30, Buffer.alloc(24))), 'truncated');
    expectFormatError(() => decodeSignature(forgedSignature(0, 10, Buffer.alloc(0))), 'out_of_range');
    expectFormatError(() => decodeSignature(forgedSignature(2 ** 21, 10, Buffer.alloc(12))), 'out_of_range');
  });

  it('rejects overlong varints', () => {
    const overlong = forgedSignature(700, 0, Buffer.alloc(0));
    const bytes = Buffer.concat([overlong.subarray(0, 8), Buffer.from([0xbc, 0x85, 0x00]), overlong.subarray(10)]);
    expectFormatError(() => decodeSignature(bytes), 'out_of_range');
  });
});
