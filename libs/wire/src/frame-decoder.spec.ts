import { thrownBy } from '../test/thrown';
import fc from 'fast-check';
import { messageArb } from '../test/arbitraries';
import { encodeMessage } from './codec';
import { type WireError } from './errors';
import { FrameDecoder } from './frame-decoder';
import { ErrorCode, MAX_FRAME_BYTES, MessageType, type Message } from './messages';

const sample: Message[] = [
  { type: MessageType.Hello, protocol: 1, role: 'backup', hostId: 'host-1', runId: 'run-1', credential: 'secret', agentVersion: '0.1.0' },
  { type: MessageType.Heartbeat },
  { type: MessageType.FileData, seq: 3, index: 7, data: Buffer.from('hello world') },
  { type: MessageType.Committed, seq: 3, dir: Buffer.from('/srv/data'), dirComplete: true },
];

describe('FrameDecoder', () => {
  it('decodes the same messages whatever byte the stream is split at', () => {
    const stream = Buffer.concat(sample.map(encodeMessage));
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(out).toEqual(sample);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const stream = Buffer.concat(sample.map(encodeMessage));
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
    const out: Message[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(sample);
  });

  it('decodes random message sequences cut into random pieces', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (messages, cuts) => {
        const stream = Buffer.concat(messages.map(encodeMessage));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const decoder = new FrameDecoder({ maxFrameBytes: MAX_FRAME_BYTES });
        const out: Message[] = [];
        let from = 0;
        for (const point of [...points, stream.length]) {
          out.push(...decoder.push(stream.subarray(from, point)));
          from = point;
        }
        expect(out).toEqual(messages);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects an oversized header as soon as its 4 bytes are in, split or not', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(2000);
    const decoder = new FrameDecoder({ maxFrameBytes: 1999 });
    expect(decoder.push(header.subarray(0, 3))).toEqual([]);
    expect(thrownBy(() => decoder.push(header.subarray(3)))).toMatchObject({ code: ErrorCode.FrameTooLarge });
  });

  it('stays failed after an error', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 100 });
    expect(() => decoder.push(Buffer.from([0, 0, 0, 1, 250]))).toThrow(/unknown message type/);
    let second: WireError | null = null;
    try {
      decoder.push(encodeMessage({ type: MessageType.Heartbeat }));
    } catch (error) {
      second = error as WireError;
    }
    expect(second?.code).toBe(ErrorCode.Protocol);
  });

  it('returns messages decoded before a bad frame only through the error (no partial delivery)', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 100 });
    const good = encodeMessage({ type: MessageType.Wait, position: 1, timers: null });
    expect(() => decoder.push(Buffer.concat([good, Buffer.from([0, 0, 0, 1, 250])]))).toThrow(/unknown message type/);
  });

  it('validates its own limit', () => {
    expect(() => new FrameDecoder({ maxFrameBytes: 0 })).toThrow(RangeError);
    expect(() => new FrameDecoder({ maxFrameBytes: MAX_FRAME_BYTES + 1 })).toThrow(RangeError);
  });
});

