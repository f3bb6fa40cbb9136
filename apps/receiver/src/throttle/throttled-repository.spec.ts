import { Repository } from '@berth/repository';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThrottledRepository } from './throttled-repository';
import { type BucketClock, TokenBucket } from './token-bucket';

/** A clock that moves only when someone sleeps: total sleep is the time the throttle imposed. */
function fakeClock(): BucketClock & { time: number; slept: number } {
  const clock = {
    time: 0,
    slept: 0,
    now: () => clock.time,
    sleep: (ms: number) => {
      clock.time += ms;
      clock.slept += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

describe('TokenBucket', () => {
  it('lets the burst through, then makes takers wait for the rate, in call order', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(100, 10, clock);
    expect(bucket.reserve(10)).toBe(0);
    expect(bucket.reserve(50)).toBe(500);
    expect(bucket.reserve(50)).toBe(1000);
    clock.time += 1000;
    expect(bucket.reserve(0)).toBe(0);
  });

  it('never holds more than the burst however long it idles', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(100, 10, clock);
    clock.time += 60_000;
    expect(bucket.reserve(110)).toBe(1000);
  });

  it('rejects a rate or burst that is not positive', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(/rate must be positive/);
    expect(() => new TokenBucket(1, 0)).toThrow(/burst must be positive/);
  });
});

describe('ThrottledRepository', () => {
  let dir: string;
  let repository: Repository;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-throttle-'));
    repository = await Repository.open(join(dir, 'repo'));
  });

  afterEach(async () => {
    await repository.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('paces content bytes to the byte rate and still stores them intact', async () => {
    const clock = fakeClock();
    const throttled = new ThrottledRepository(repository, { bytesPerSecond: 1024 * 1024, opsPerSecond: null }, clock);
    const data = randomBytes(3 * 1024 * 1024);
    const writer = throttled.createContentWriter();
    for (let offset = 0; offset < data.length; offset += 256 * 1024) await writer.write(data.subarray(offset, offset + 256 * 1024));
    const written = await writer.finish();
    await throttled.flush();
    // 3 MiB at 1 MiB/s less the 0.1 s burst.
    expect(clock.slept).toBeGreaterThanOrEqual(2850);
    expect(clock.slept).toBeLessThanOrEqual(2950);
    const chunks: Buffer[] = [];
    for await (const chunk of throttled.readFileContent(written.content)) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('paces file operations (finished files, trees, journal appends) to the operation rate', async () => {
    const clock = fakeClock();
    const throttled = new ThrottledRepository(repository, { bytesPerSecond: null, opsPerSecond: 10 }, clock);
    for (let i = 0; i < 11; i++) {
      const writer = throttled.createContentWriter();
      await writer.write(Buffer.from(`file ${i}`));
      await writer.finish();
    }
    await throttled.putTree({ entries: [] });
    expect(clock.slept).toBeGreaterThanOrEqual(1100);
    expect(clock.slept).toBeLessThanOrEqual(1200);
  });

  it('does not slow reads or writes it has no limit for', async () => {
    const clock = fakeClock();
    const throttled = new ThrottledRepository(repository, { bytesPerSecond: null, opsPerSecond: 1 }, clock);
    const { id } = await throttled.putBlob(randomBytes(1024 * 1024));
    await throttled.flush();
    expect((await throttled.readBlob(id)).length).toBe(1024 * 1024);
    expect(clock.slept).toBe(0);
    expect(throttled.root).toBe(repository.root);
  });
});
