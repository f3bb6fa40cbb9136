import { bucketBytes, kernelHz, LARGEST_PACKET_BYTES, parseHz, shareOfLink } from './link';

describe('the test link token bucket', () => {
  it('holds the largest packet and one timer tick of bytes at the rate, as tc-tbf(8) requires', () => {
    // 100 Mbit/s is 12,500,000 bytes a second: 50,000 a tick at HZ=250, 125,000 at HZ=100, 12,500 at HZ=1000.
    expect(bucketBytes(100, 250)).toBe(128 * 1024);
    expect(bucketBytes(100, 100)).toBe(256 * 1024);
    expect(bucketBytes(100, 1000)).toBe(128 * 1024);
    expect(bucketBytes(10, 1000)).toBe(128 * 1024);
    expect(bucketBytes(1000, 250)).toBe(1024 * 1024);
  });

  it('is the smallest power of two that holds them, whatever the rate', () => {
    for (const rate of [1, 10, 33, 100, 250, 1000]) {
      for (const hz of [100, 250, 300, 1000]) {
        const needed = LARGEST_PACKET_BYTES + (rate * 1e6) / 8 / hz;
        const bucket = bucketBytes(rate, hz);
        expect(bucket).toBeGreaterThanOrEqual(needed);
        expect(bucket / 2).toBeLessThan(needed);
      }
    }
  });

  it("reads CONFIG_HZ from a kernel's build configuration, and nothing from one without it", () => {
    expect(parseHz('CONFIG_HZ_250=y\nCONFIG_HZ=250\nCONFIG_SCHED_HRTICK=y\n')).toBe(250);
    expect(parseHz('# CONFIG_HZ_PERIODIC is not set\nCONFIG_HZ=1000')).toBe(1000);
    expect(parseHz('CONFIG_HZ_250=y\n# CONFIG_HZ is not set\n')).toBeNull();
    expect(parseHz('')).toBeNull();
  });

  it('reads a kernel tick rate this machine can have, or none', () => {
    expect([100, 250, 300, 1000, null]).toContain(kernelHz());
  });
});

describe('shareOfLink', () => {
  it('measures against the rate over the time plus the bucket the link starts with', () => {
    // 12.5 MB/s for 10 s is 125,000,000 bytes, and the bucket 131,072 more.
    expect(shareOfLink(125_131_072, 10, 100, 131_072)).toBeCloseTo(100, 10);
    expect(shareOfLink(118_750_000, 10, 100, 0)).toBeCloseTo(95, 10);
    expect(shareOfLink(118_750_000, 10, 100, 131_072)).toBeLessThan(95);
  });
});
