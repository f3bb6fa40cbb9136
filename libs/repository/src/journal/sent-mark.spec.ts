import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryInputError } from '../errors';
import { type SentMark } from '../model';
import { Repository } from '../repository';
import { RUN_1, tempDirs } from '../../test/support';
import { decodeSentMark, encodeSentMark } from './sent-mark';

const temp = tempDirs();
afterEach(() => temp.cleanup());

const mark: SentMark = { dir: Buffer.from('/srv/data'), name: Buffer.from('disk.img'), offset: 125_829_120n };

describe('sent marks', () => {
  it('round-trips a mark with an offset and one without (a delta)', () => {
    expect(decodeSentMark(encodeSentMark(mark))).toEqual(mark);
    expect(decodeSentMark(encodeSentMark({ ...mark, offset: null }))).toEqual({ ...mark, offset: null });
    expect(decodeSentMark(encodeSentMark({ ...mark, offset: 0n }))).toEqual({ ...mark, offset: 0n });
  });

  it('reads anything but an intact version-1 mark as unknown (null), whatever the damage', () => {
    const good = encodeSentMark(mark);
    for (let end = 0; end < good.length; end++) expect(decodeSentMark(good.subarray(0, end))).toBeNull();
    for (let at = 0; at < good.length; at++) {
      const flipped = Buffer.from(good);
      flipped[at] = (flipped[at] as number) ^ 0x01;
      expect(decodeSentMark(flipped)).toBeNull();
    }
    expect(decodeSentMark(Buffer.concat([good, Buffer.from([0])]))).toBeNull();
    expect(decodeSentMark(Buffer.alloc(4096, 0xff))).toBeNull();
  });

  it('refuses to write an empty or oversized dir or name, or a negative offset', () => {
    expect(() => encodeSentMark({ ...mark, dir: Buffer.alloc(0) })).toThrow(RepositoryInputError);
    expect(() => encodeSentMark({ ...mark, name: Buffer.alloc(256, 0x61) })).toThrow(RepositoryInputError);
    expect(() => encodeSentMark({ ...mark, offset: -1n })).toThrow(RepositoryInputError);
  });

  it('is stored beside the run journal, replaced whole, survives a reopen and goes with the journal', async () => {
    const repo = await Repository.open(await temp.make());
    expect(await repo.readSentMark(RUN_1)).toBeNull();
    await repo.writeSentMark(RUN_1, { ...mark, offset: 1n });
    await repo.writeSentMark(RUN_1, mark);
    await repo.close();
    const again = await Repository.open(repo.root);
    expect(await again.readSentMark(RUN_1)).toEqual(mark);
    const file = join(repo.root, 'runs', `${RUN_1}.sent`);
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 3));
    expect(await again.readSentMark(RUN_1)).toBeNull();
    await again.writeSentMark(RUN_1, mark);
    await again.removeJournal(RUN_1);
    expect(await again.readSentMark(RUN_1)).toBeNull();
    expect(await readdir(join(repo.root, 'runs'))).toEqual([]);
    await expect(again.readSentMark('not-a-uuid')).rejects.toThrow(RepositoryInputError);
    await again.close();
  });
});
