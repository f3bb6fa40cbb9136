import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestIndex, DigestIndexStore } from './digest-index';

const digest = (n: number): Buffer => Buffer.alloc(32, n);
const tree = (n: number): Buffer => Buffer.alloc(32, 100 + n);

/** An index of one directory, told apart from sample() by its digest and tree. */
function single(): DigestIndex {
  const index = new DigestIndex();
  index.set(digest(9), { tree: tree(9), files: 1, dirs: 0, bytes: 1 });
  return index;
}

function sample(): DigestIndex {
  const index = new DigestIndex();
  index.set(digest(1), { tree: tree(1), files: 26_000, dirs: 0, bytes: 110_000_000 });
  index.set(digest(2), { tree: tree(2), files: 30_006, dirs: 246, bytes: Number.MAX_SAFE_INTEGER });
  return index;
}

describe('DigestIndex', () => {
  it('decodes what it encodes', () => {
    const decoded = DigestIndex.decode(sample().encode());
    expect(decoded.size).toBe(2);
    expect(decoded.get(digest(1))).toEqual({ tree: tree(1), files: 26_000, dirs: 0, bytes: 110_000_000 });
    expect(decoded.get(digest(2))).toEqual({ tree: tree(2), files: 30_006, dirs: 246, bytes: Number.MAX_SAFE_INTEGER });
    expect(decoded.get(digest(3))).toBeNull();
  });

  it('keeps the subdirectory digests of each entry, and unknown ones stay unknown', () => {
    const index = sample();
    index.set(digest(3), { tree: tree(3), files: 1, dirs: 2, bytes: 3, children: [digest(1), digest(2)] });
    index.set(digest(4), { tree: tree(4), files: 0, dirs: 0, bytes: 0, children: [] });
    const decoded = DigestIndex.decode(index.encode());
    expect(decoded.get(digest(3))?.children).toEqual([digest(1), digest(2)]);
    expect(decoded.get(digest(4))?.children).toEqual([]);
    expect(decoded.get(digest(1))?.children).toBeUndefined();
  });

  it('reads a format 1 file, whose entries do not know their subdirectories', () => {
    const magic = Buffer.from('berth-dir-digests 1\n');
    const record = Buffer.concat([digest(7), tree(7), Buffer.alloc(24)]);
    record.writeBigUInt64BE(5n, 64);
    const body = Buffer.concat([magic, Buffer.from([0, 0, 0, 1]), record]);
    const decoded = DigestIndex.decode(Buffer.concat([body, createHash('sha256').update(body).digest()]));
    expect(decoded.size).toBe(1);
    expect(decoded.get(digest(7))).toEqual({ tree: tree(7), files: 5, dirs: 0, bytes: 0 });
  });

  it('carries over the entries below the directories it holds, as far as their subdirectories are known', () => {
    const previous = new DigestIndex();
    previous.set(digest(1), { tree: tree(1), files: 3, dirs: 2, bytes: 30, children: [digest(2)] });
    previous.set(digest(2), { tree: tree(2), files: 2, dirs: 1, bytes: 20, children: [digest(3)] });
    previous.set(digest(3), { tree: tree(3), files: 1, dirs: 0, bytes: 10 });
    previous.set(digest(4), { tree: tree(4), files: 1, dirs: 0, bytes: 10, children: [] });
    previous.set(digest(5), { tree: tree(5), files: 9, dirs: 0, bytes: 90, children: [] });
    const next = new DigestIndex();
    next.set(digest(9), { tree: tree(9), files: 4, dirs: 4, bytes: 40, children: [digest(1), digest(4), digest(6)] });
    next.carryOver(previous);
    // 1, 2 and 3 below 9 (3 known from 2's list), 4 too; 6 is in neither; 5 is below nothing held.
    expect([1, 2, 3, 4, 5, 6, 9].filter((n) => next.get(digest(n)) !== null)).toEqual([1, 2, 3, 4, 9]);
    expect(next.get(digest(2))).toEqual(previous.get(digest(2)));
  });

  it('reads a torn, altered or foreign file as empty', () => {
    const encoded = sample().encode();
    for (let length = 0; length < encoded.length; length += 7) expect(DigestIndex.decode(encoded.subarray(0, length)).size).toBe(0);
    const altered = Buffer.from(encoded);
    altered[40] = (altered[40] as number) ^ 1;
    expect(DigestIndex.decode(altered).size).toBe(0);
    expect(DigestIndex.decode(Buffer.from('{"json": true}')).size).toBe(0);
  });
});

describe('DigestIndexStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-digest-index-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps one index per host, replaced whole, and an empty one for a host without a file', async () => {
    const store = new DigestIndexStore(root);
    expect((await store.load('host-a')).size).toBe(0);
    await store.save('host-a', sample(), 'session-1');
    expect((await store.load('host-a')).size).toBe(2);
    expect((await store.load('host-b')).size).toBe(0);
    await store.save('host-a', new DigestIndex(), 'session-2');
    expect((await store.load('host-a')).size).toBe(0);
  });

  it('makes a load of a host wait for the save under way, and saves of one host follow each other', async () => {
    const store = new DigestIndexStore(root);
    const one = single();
    // Neither save is awaited: a session saves after its Done, and the host's next session may start meanwhile.
    const first = store.save('host-a', sample(), 'session-1');
    const second = store.save('host-a', one, 'session-2');
    const loaded = await store.load('host-a');
    expect(loaded.size).toBe(1);
    expect(loaded.get(digest(9))?.tree).toEqual(tree(9));
    await Promise.all([first, second]);
    expect((await store.load('host-a')).size).toBe(1);
  });

  it('lets a failed save fail only its own caller, not the loads and saves queued behind it', async () => {
    const store = new DigestIndexStore(root);
    const one = single();
    // A writer name with a slash names a temporary file in a folder that does not exist: that save fails.
    const failed = store.save('host-a', sample(), 'no/such/folder');
    const next = store.save('host-a', one, 'session-2');
    const loaded = store.load('host-a');
    await expect(failed).rejects.toThrow(/ENOENT/);
    await next;
    expect((await loaded).get(digest(9))?.tree).toEqual(tree(9));
    expect((await loaded).size).toBe(1);
  });

  it('never names a file after a host id that could leave its folder', async () => {
    const store = new DigestIndexStore(root);
    await writeFile(join(root, 'secret'), 'x');
    await store.save('../secret', sample(), 'session-1');
    expect(await readFile(join(root, 'secret'), 'utf8')).toBe('x');
    expect((await store.load('../secret')).size).toBe(0);
  });
});
