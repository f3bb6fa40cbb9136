import { type EntryColumns, type EntryField64, ENTRY_FIELDS_64 } from '../src/entry-codec';
import { type EntryMeta } from '../src/messages';

/**
 * EntryMeta as columns, the way the agent's scan is read: the names in one shared buffer (found by start and
 * length), the 64-bit fields as two's complement 32-bit halves.
 */
export function columnsOf(list: readonly EntryMeta[]): EntryColumns {
  const starts: number[] = [];
  let at = 7;
  for (const entry of list) {
    starts.push(at);
    at += entry.name.length + 3;
  }
  const names = Buffer.alloc(at, 0x2f);
  list.forEach((entry, i) => entry.name.copy(names, starts[i]));
  const u64 = (index: number, field: EntryField64): bigint => BigInt.asUintN(64, list[index]![field]);
  return {
    nameSource: () => names,
    nameStart: (i) => starts[i]!,
    nameLength: (i) => list[i]!.name.length,
    type: (i) => list[i]!.type,
    permissions: (i) => list[i]!.mode,
    uid: (i) => list[i]!.uid,
    gid: (i) => list[i]!.gid,
    nlink: (i) => list[i]!.nlink,
    linkTarget: (i) => list[i]!.linkTarget,
    fields64: (i, out) =>
      ENTRY_FIELDS_64.forEach((field, at) => {
        out[2 * at] = Number(u64(i, field) & 0xffff_ffffn);
        out[2 * at + 1] = Number(u64(i, field) >> 32n);
      }),
    timeFitsI64: (i, field) => BigInt.asIntN(64, list[i]![field]) === list[i]![field],
    bigint: (i, field) => list[i]![field],
  };
}
