/**
 * A whole directory listed and lstat'ed in one call: `scanDirectory` (native, fstatat against the directory's
 * descriptor) or `scanDirectoryWith` (the same result from Node's readdir, lstat and readlink, for a system
 * without the addon or calls injected by a test). The result is one Buffer of fixed records (native/posix.c
 * writes it, `DirectoryScan` reads it): no object per entry until a caller asks for one, no bigint for a
 * value that fits a double, names sorted by bytes (Buffer.compare's order). A failed lstat or readlink is
 * recorded on its entry; the listing goes on.
 */
import { type BigIntStats } from 'node:fs';
import { getSystemErrorMap } from 'node:util';

/** Byte offsets inside one record (keep in step with the enum in native/posix.c). */
const REC = {
  nameOff: 0,
  nameLen: 4,
  errno: 8,
  mode: 12,
  uid: 16,
  gid: 20,
  nlink: 24,
  linkOff: 28,
  linkLen: 32,
  mtimeNsec: 36,
  ctimeNsec: 40,
  flags: 44,
  mtimeNs: 48,
  ctimeNs: 56,
  mtimeSec: 64,
  ctimeSec: 72,
  ino: 80,
  dev: 88,
  size: 96,
  rdev: 104,
} as const;
const RECORD_BYTES = 112;
const HEADER_BYTES = 8;
const FLAG_MTIME_WIDE = 1;
const FLAG_CTIME_WIDE = 2;
const FLAG_READLINK_FAILED = 4;
const TWO_32 = 2 ** 32;
const NS_PER_SECOND = 1_000_000_000n;

/** The 64-bit fields, read as two 32-bit halves (`low`, `high`) by callers that encode them without a bigint. */
export type ScanField64 = 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev' | 'size' | 'rdev';

export class DirectoryScan {
  readonly length: number;
  private readonly words: Uint32Array;

  constructor(private readonly buffer: Buffer) {
    if (buffer.length < HEADER_BYTES) throw new Error('directory scan: truncated header');
    // Records are read as 32-bit words; a Buffer from Node's pool may start unaligned.
    const aligned = buffer.byteOffset % 4 === 0 ? buffer : Buffer.from(buffer);
    this.buffer = aligned;
    this.words = new Uint32Array(aligned.buffer, aligned.byteOffset, Math.floor(aligned.length / 4));
    this.length = this.words[0]!;
    if (this.words[1] !== RECORD_BYTES || HEADER_BYTES + this.length * RECORD_BYTES > aligned.length) throw new Error('directory scan: bad record layout');
  }

  private word(index: number, offset: number): number {
    return this.words[(HEADER_BYTES + index * RECORD_BYTES + offset) >>> 2]!;
  }

  /** The entry's name (a view into the scan, not a copy). */
  name(index: number): Buffer {
    const at = this.word(index, REC.nameOff);
    return this.buffer.subarray(at, at + this.word(index, REC.nameLen));
  }

  /** The bytes the names are in (see nameStart): one buffer for the whole scan. */
  get bytes(): Buffer {
    return this.buffer;
  }

  /** Where the entry's name starts in `bytes`. */
  nameStart(index: number): number {
    return this.word(index, REC.nameOff);
  }

  nameLength(index: number): number {
    return this.word(index, REC.nameLen);
  }

  /**
   * The 32-bit halves (low first) of mtimeNs, ctimeNs, ino, dev, size and rdev, in that order, into `out` (12
   * words) in one call. A time that does not fit an i64 (timeFitsI64 false) is left as the scan holds it.
   */
  fields64(index: number, out: Uint32Array): void {
    const words = this.words;
    const base = (HEADER_BYTES + index * RECORD_BYTES) >>> 2;
    const times = base + (REC.mtimeNs >>> 2);
    const ids = base + (REC.ino >>> 2);
    out[0] = words[times]!;
    out[1] = words[times + 1]!;
    out[2] = words[times + 2]!;
    out[3] = words[times + 3]!;
    for (let i = 0; i < 8; i++) out[4 + i] = words[ids + i]!;
  }

  /** 0, or the errno of the entry's failed lstat or readlink (its metadata is then absent). */
  errno(index: number): number {
    return this.word(index, REC.errno);
  }

  /** The failed call of an entry with an errno. */
  failedCall(index: number): 'lstat' | 'readlink' {
    return (this.word(index, REC.flags) & FLAG_READLINK_FAILED) !== 0 ? 'readlink' : 'lstat';
  }

  /** st_mode: file type and permission bits. */
  mode(index: number): number {
    return this.word(index, REC.mode);
  }

  uid(index: number): number {
    return this.word(index, REC.uid);
  }

  gid(index: number): number {
    return this.word(index, REC.gid);
  }

  nlink(index: number): number {
    return this.word(index, REC.nlink);
  }

  /** A symlink's target; null for anything else. */
  linkTarget(index: number): Buffer | null {
    const length = this.word(index, REC.linkLen);
    if (length === 0) return null;
    const at = this.word(index, REC.linkOff);
    return this.buffer.subarray(at, at + length);
  }

  /** Low 32 bits of a 64-bit field (for times: of the nanoseconds as i64, valid when `timeFitsI64`). */
  low(index: number, field: ScanField64): number {
    return this.word(index, REC[field]);
  }

  /** High 32 bits, unsigned (a time's sign is its top bit). */
  high(index: number, field: ScanField64): number {
    return this.word(index, REC[field] + 4);
  }

  /** False for a time past year 2262 or before 1677, whose nanoseconds do not fit an i64 (read it as a bigint). */
  timeFitsI64(index: number, field: 'mtimeNs' | 'ctimeNs'): boolean {
    return (this.word(index, REC.flags) & (field === 'mtimeNs' ? FLAG_MTIME_WIDE : FLAG_CTIME_WIDE)) === 0;
  }

  /** A 64-bit field as a number: exact below 2^53 (sizes, inodes and devices in practice). */
  number(index: number, field: 'ino' | 'dev' | 'size' | 'rdev'): number {
    return this.high(index, field) * TWO_32 + this.low(index, field);
  }

  bigint(index: number, field: ScanField64): bigint {
    if ((field === 'mtimeNs' || field === 'ctimeNs') && !this.timeFitsI64(index, field)) {
      const base = HEADER_BYTES + index * RECORD_BYTES;
      const sec = this.buffer.readBigInt64LE(base + (field === 'mtimeNs' ? REC.mtimeSec : REC.ctimeSec));
      return sec * NS_PER_SECOND + BigInt(this.word(index, field === 'mtimeNs' ? REC.mtimeNsec : REC.ctimeNsec));
    }
    const high = this.high(index, field);
    const low = this.low(index, field);
    if (high < 0x200000) return BigInt(high * TWO_32 + low);
    const value = (BigInt(high) << 32n) | BigInt(low);
    return field === 'mtimeNs' || field === 'ctimeNs' ? BigInt.asIntN(64, value) : value;
  }
}

/** The calls `scanDirectoryWith` builds a scan from (Node's, or a test's). */
export interface ScanCalls {
  readdir(path: Buffer): Promise<Buffer[]>;
  lstat(path: Buffer): BigIntStats;
  readlink(path: Buffer): Buffer;
}

function joinName(dir: Buffer, name: Buffer): Buffer {
  return dir.length > 0 && dir[dir.length - 1] === 0x2f ? Buffer.concat([dir, name]) : Buffer.concat([dir, SLASH, name]);
}
const SLASH = Buffer.from('/');

/** errno of a Node error (its `errno` is negative), or EIO when it has none. */
function errnoOf(error: unknown): number {
  const errno = (error as NodeJS.ErrnoException).errno;
  return typeof errno === 'number' && errno !== 0 ? Math.abs(errno) : 5;
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** The scan `scanDirectory` returns, from readdir, lstat and readlink calls (slower; same records). */
export async function scanDirectoryWith(calls: ScanCalls, path: Buffer): Promise<Buffer> {
  const names = (await calls.readdir(path)).sort((a, b) => Buffer.compare(a, b));
  const found = names.map((name) => {
    const full = joinName(path, name);
    try {
      const stats = calls.lstat(full);
      if ((Number(stats.mode) & 0o170000) !== 0o120000) return { name, stats, link: null, errno: 0, readlinkFailed: false };
      try {
        return { name, stats, link: calls.readlink(full), errno: 0, readlinkFailed: false };
      } catch (error) {
        return { name, stats: null, link: null, errno: errnoOf(error), readlinkFailed: true };
      }
    } catch (error) {
      return { name, stats: null, link: null, errno: errnoOf(error), readlinkFailed: false };
    }
  });
  let tail = 0;
  for (const entry of found) tail += entry.name.length + (entry.link?.length ?? 0);
  const out = Buffer.alloc(HEADER_BYTES + found.length * RECORD_BYTES + tail);
  out.writeUInt32LE(found.length, 0);
  out.writeUInt32LE(RECORD_BYTES, 4);
  let at = HEADER_BYTES + found.length * RECORD_BYTES;
  found.forEach((entry, index) => {
    const base = HEADER_BYTES + index * RECORD_BYTES;
    entry.name.copy(out, at);
    out.writeUInt32LE(at, base + REC.nameOff);
    out.writeUInt32LE(entry.name.length, base + REC.nameLen);
    at += entry.name.length;
    if (entry.stats === null) {
      out.writeUInt32LE(entry.errno, base + REC.errno);
      out.writeUInt32LE(entry.readlinkFailed ? FLAG_READLINK_FAILED : 0, base + REC.flags);
      return;
    }
    const s = entry.stats;
    let flags = 0;
    const times = [
      { ns: s.mtimeNs, at: REC.mtimeNs, sec: REC.mtimeSec, nsec: REC.mtimeNsec, wide: FLAG_MTIME_WIDE },
      { ns: s.ctimeNs, at: REC.ctimeNs, sec: REC.ctimeSec, nsec: REC.ctimeNsec, wide: FLAG_CTIME_WIDE },
    ];
    for (const time of times) {
      const nsec = ((time.ns % NS_PER_SECOND) + NS_PER_SECOND) % NS_PER_SECOND;
      out.writeBigInt64LE((time.ns - nsec) / NS_PER_SECOND, base + time.sec);
      out.writeUInt32LE(Number(nsec), base + time.nsec);
      if (time.ns < I64_MIN || time.ns > I64_MAX) flags |= time.wide;
      else out.writeBigInt64LE(time.ns, base + time.at);
    }
    out.writeUInt32LE(Number(s.mode), base + REC.mode);
    out.writeUInt32LE(Number(s.uid), base + REC.uid);
    out.writeUInt32LE(Number(s.gid), base + REC.gid);
    out.writeUInt32LE(Math.min(Number(s.nlink), 0xffff_ffff), base + REC.nlink);
    out.writeUInt32LE(flags, base + REC.flags);
    out.writeBigUInt64LE(BigInt.asUintN(64, s.ino), base + REC.ino);
    out.writeBigUInt64LE(BigInt.asUintN(64, s.dev), base + REC.dev);
    out.writeBigUInt64LE(BigInt.asUintN(64, s.size), base + REC.size);
    out.writeBigUInt64LE(BigInt.asUintN(64, s.rdev), base + REC.rdev);
    if (entry.link !== null) {
      entry.link.copy(out, at);
      out.writeUInt32LE(at, base + REC.linkOff);
      out.writeUInt32LE(entry.link.length, base + REC.linkLen);
      at += entry.link.length;
    }
  });
  return out;
}

/** "ENOENT: no such file or directory, lstat '/a/b'": the message Node gives for the same failure. */
export function systemErrorMessage(errno: number, syscall: string, path: Buffer): string {
  const [code, description] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
  return `${code}: ${description}, ${syscall} '${path.toString()}'`;
}

/** A Node-style error (code, errno, syscall, path) for a failed call. */
export function systemError(errno: number, syscall: string, path: Buffer): NodeJS.ErrnoException {
  const [code] = getSystemErrorMap().get(-errno) ?? [`E${errno}`];
  return Object.assign(new Error(systemErrorMessage(errno, syscall, path)), { code, errno: -errno, syscall, path: path.toString() });
}
