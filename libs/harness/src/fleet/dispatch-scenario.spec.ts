import { summarize } from './dispatch-scenario';

describe('summarize', () => {
  it('gives nearest-rank percentiles', () => {
    const values = Array.from({ length: 1000 }, (_, index) => 1000 - index);
    expect(summarize(values)).toEqual({ count: 1000, p50: 500, p95: 950, p99: 990, max: 1000 });
  });

  it('takes the largest value as p99 of a small sample', () => {
    expect(summarize([30, 10, 20])).toEqual({ count: 3, p50: 20, p95: 30, p99: 30, max: 30 });
  });
});
