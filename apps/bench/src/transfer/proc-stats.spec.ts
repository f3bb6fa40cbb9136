import { diffSamples, sampleProcess } from './proc-stats';

describe('sampleProcess', () => {
  it('counts the page faults of memory touched for the first time', () => {
    const before = sampleProcess('self');
    const fresh = Buffer.allocUnsafeSlow(8 * 1024 * 1024);
    for (let at = 0; at < fresh.length; at += 4096) fresh[at] = 1;
    const spent = diffSamples(sampleProcess('self'), before);
    // 2048 pages of 4 KiB; a kernel backing them with huge pages faults far fewer times, never none.
    expect(spent.minorFaults).toBeGreaterThan(0);
    expect(before.minorFaults).toBeGreaterThan(0);
    expect(spent.cpu).toBeGreaterThanOrEqual(0);
  });

  it('gives zeros for a process that is gone', () => {
    expect(sampleProcess(2 ** 22 + 1)).toMatchObject({ cpu: 0, minorFaults: 0, childMinorFaults: 0 });
  });
});
