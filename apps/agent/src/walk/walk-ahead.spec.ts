import { MetaEntryList } from './entry-list';
import { type DirectoryListing, type WalkProblem } from './tree-walker';
import { WalkAhead } from './walk-ahead';

function listing(name: string, entryCount: number): DirectoryListing {
  return { path: Buffer.from(`/${name}`), list: new MetaEntryList([]), digest: null, entryCount, regularFiles: () => ({ files: 0, bytes: 0 }), lastName: () => null };
}

const problem = (name: string): WalkProblem => ({ path: Buffer.from(`/${name}`), message: 'cannot stat', skipped: false });

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A walk that records how far it was pulled, reporting a problem with each listing. */
function fakeWalk(names: string[], entries: number, pulled: string[], failAfter: number | null = null) {
  return async function* (onProblem: (problem: WalkProblem) => void): AsyncGenerator<DirectoryListing> {
    for (const [i, name] of names.entries()) {
      if (failAfter !== null && i === failAfter) throw new Error('walk broke');
      await Promise.resolve();
      pulled.push(name);
      onProblem(problem(name));
      yield listing(name, entries);
    }
  };
}

async function collect(listings: AsyncIterable<DirectoryListing>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of listings) out.push(l.path.toString());
  return out;
}

describe('WalkAhead', () => {
  it('walks before it is taken, then yields every listing in order and hands over the problems found meanwhile', async () => {
    const pulled: string[] = [];
    const ahead = new WalkAhead(fakeWalk(['a', 'b', 'c'], 1, pulled), 100);
    await settle();
    expect(pulled).toEqual(['a', 'b', 'c']);
    const problems: string[] = [];
    const listings = ahead.take((p) => problems.push(p.path.toString()));
    expect(problems).toEqual(['/a', '/b', '/c']);
    expect(await collect(listings)).toEqual(['/a', '/b', '/c']);
  });

  it('runs at most maxEntries entries ahead of its consumer', async () => {
    const pulled: string[] = [];
    const ahead = new WalkAhead(fakeWalk(['a', 'b', 'c', 'd', 'e', 'f'], 10, pulled), 25);
    await settle();
    expect(pulled).toEqual(['a', 'b', 'c']);
    const iterator = ahead.take(() => undefined)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done === true ? null : first.value.path.toString()).toBe('/a');
    await settle();
    expect(pulled).toEqual(['a', 'b', 'c', 'd']);
    const rest: string[] = [];
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) rest.push(next.value.path.toString());
    expect(rest).toEqual(['/b', '/c', '/d', '/e', '/f']);
  });

  it('stops walking when stopped unused, and cannot be taken then', async () => {
    const pulled: string[] = [];
    const ahead = new WalkAhead(fakeWalk(['a', 'b', 'c', 'd'], 10, pulled), 15);
    await settle();
    expect(pulled).toEqual(['a', 'b']);
    ahead.stop();
    await settle();
    expect(pulled).toEqual(['a', 'b']);
    expect(() => ahead.take(() => undefined)).toThrow(/stopped/);
  });

  it('gives the walk\'s failure to its consumer after the listings before it', async () => {
    const ahead = new WalkAhead(fakeWalk(['a', 'b', 'c'], 1, [], 2), 100);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const l of ahead.take(() => undefined)) seen.push(l.path.toString());
      })(),
    ).rejects.toThrow('walk broke');
    expect(seen).toEqual(['/a', '/b']);
  });
});
