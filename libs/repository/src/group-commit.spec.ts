import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('serves every caller that arrived during a commit with one following commit', async () => {
    let commits = 0;
    let release: () => void = () => undefined;
    const group = new GroupCommit(async () => {
      commits++;
      await new Promise<void>((resolve) => (release = resolve));
    });
    const first = group.request();
    const waiting = Array.from({ length: 50 }, () => group.request());
    expect(commits).toBe(1);
    release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(commits).toBe(2);
    release();
    await Promise.all(waiting);
    expect(commits).toBe(2);
  });

  it('passes a failed commit to its callers and recovers for the next', async () => {
    let fail = true;
    const group = new GroupCommit(() => (fail ? Promise.reject(new Error('disk full')) : Promise.resolve()));
    await expect(group.request()).rejects.toThrow('disk full');
    fail = false;
    await expect(group.request()).resolves.toBeUndefined();
  });
});
