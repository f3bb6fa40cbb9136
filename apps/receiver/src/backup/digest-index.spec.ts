import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestIndex, DigestIndexStore } from './digest-index';

const digest = (n: number): Buffer => Buffer.alloc(32, n);
const tree = (n: number): Buffer => Buffer.alloc(32, 100 + n);

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

  it('never names a file after a host id that could leave its folder', async () => {
    const store = new DigestIndexStore(root);
    await writeFile(join(root, 'secret'), 'x');
    await store.save('../secret', sample(), 'session-1');
    expect(await readFile(join(root, 'secret'), 'utf8')).toBe('x');
    expect((await store.load('../secret')).size).toBe(0);
  });
});
