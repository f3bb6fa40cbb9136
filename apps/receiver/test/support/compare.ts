import { TreeEntryType, type RepositoryApi, type TreeEntry } from '@berth/repository';
import { EntryType } from '@berth/wire';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readEntries } from './local-tree';

export interface SnapshotView {
  readonly path: string;
  readonly type: number;
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly size: bigint;
  readonly linkTarget: string | null;
  readonly content: string | null;
}

async function contentOf(repo: RepositoryApi, entry: TreeEntry): Promise<string | null> {
  if (entry.type !== TreeEntryType.File || entry.content === null) return null;
  const parts: Buffer[] = [];
  for await (const part of repo.readFileContent(entry.content)) parts.push(part);
  return Buffer.concat(parts).toString('latin1');
}

/** Every entry of a stored snapshot tree, with its content, in pre-order. */
export async function viewSnapshot(repo: RepositoryApi, rootTreeHex: string): Promise<SnapshotView[]> {
  const out: SnapshotView[] = [];
  for await (const item of repo.walkTree(Buffer.from(rootTreeHex, 'hex'))) {
    const e = item.entry;
    out.push({
      path: item.path.toString('latin1'),
      type: e.type,
      mode: e.mode,
      mtimeNs: e.mtimeNs,
      size: e.type === TreeEntryType.File ? e.size : 0n,
      linkTarget: e.linkTarget === null ? null : e.linkTarget.toString('latin1'),
      content: await contentOf(repo, e),
    });
  }
  return out;
}

/** The same view built from the local directory, for comparison. */
export async function viewLocal(root: string, prefix = ''): Promise<SnapshotView[]> {
  const out: SnapshotView[] = [];
  for (const entry of await readEntries(Buffer.from(root))) {
    const name = entry.name.toString('latin1');
    const path = prefix === '' ? name : `${prefix}/${name}`;
    const local = join(root, entry.name.toString());
    out.push({
      path,
      type: entry.type,
      mode: entry.mode,
      mtimeNs: entry.mtimeNs,
      size: entry.size,
      linkTarget: entry.linkTarget === null ? null : entry.linkTarget.toString('latin1'),
      content: entry.type === EntryType.File ? (await readFile(local)).toString('latin1') : null,
    });
    if (entry.type === EntryType.Dir) out.push(...(await viewLocal(local, path)));
  }
  return out;
}
