import { createHash } from 'node:crypto';
import { DeltaError, DeltaFormatError } from './errors';
import { blockCountOf, DEFAULT_DELTA_FRAME_BYTES, MAX_BLOCK_COUNT, MAX_BLOCK_LENGTH, MAX_DECODED_LITERAL_BYTES, MAX_FILE_LENGTH } from './parameters';
import { BORROW_LITERALS, type BorrowingSource } from './delta';
import { copyRange, type DeltaHeader, type DeltaToken } from './tokens';
import { WHOLE_FILE_DIGEST_BYTES, type WholeFileHash } from './whole-file-hash';
import { readVarint, varintLength, writeVarint, type VarintRead } from './varint';

/**
 * Encoded delta, versions 1 and 2: a byte stream of tokens.
 *
 *   header  "BDLT" | u8 version | (version 2: u8 whole-file hash, 1 SHA-256, 2 BLAKE3, 3 content hash) | varint block length
 *           | varint basis length | 4-byte check (first bytes of SHA-256 of the header bytes before it)
 *   literal 0x01 | varint length (1 .. 1 MiB) | bytes
 *   copy    0x02 | varint first block | varint block count (>= 1)
 *   end     0x03 | varint new length | 32-byte digest of the new version (SHA-256 in version 1, else the
 *           header's hash)
 *
 * Version 1 has no hash byte and means SHA-256: a SHA-256 delta is still written as version 1, byte for byte
 * what earlier encoders wrote and decoders read, so agents and receivers of either age understand each other.
 * Version 2 exists for the other hashes (BLAKE3, the default; Berth's content hash); an older decoder refuses it
 * as `unsupported`, and one that knows version 2 but not a hash code refuses that code the same way.
 *
 * The check guards the header, whose damage the final SHA-256 would not reveal when the delta has no copy;
 * damage elsewhere fails decoding or the SHA-256 after patch. The encoder cuts the stream into frames of at most
 * `maxFrameBytes` holding whole tokens (literals are split to fit), so each frame can travel as one message;
 * the decoder accepts any chunking.
 */
export const DELTA_MAGIC = Buffer.from('BDLT', 'latin1');
/** Newest version written (for BLAKE3); SHA-256 deltas are written as `DELTA_FORMAT_VERSION_SHA256`. */
export const DELTA_FORMAT_VERSION = 2;
export const DELTA_FORMAT_VERSION_SHA256 = 1;
const HASH_CODES: Readonly<Record<WholeFileHash, number>> = { sha256: 1, blake3: 2, content: 3 };
const HASH_BY_CODE: ReadonlyMap<number, WholeFileHash> = new Map([
  [1, 'sha256'],
  [2, 'blake3'],
  [3, 'content'],
]);
const TAG_LITERAL = 0x01;
const TAG_COPY = 0x02;
const TAG_END = 0x03;
const HEADER_CHECK_BYTES = 4;
const DIGEST_BYTES = WHOLE_FILE_DIGEST_BYTES;
/** Longest encoding of anything but literal bytes: an end token is 1 + 8 + 32 bytes. */
const MAX_TOKEN_HEAD_BYTES = 64;
/** Smallest frame: one token head and a literal byte always fit. */
export const MIN_DELTA_FRAME_BYTES = MAX_TOKEN_HEAD_BYTES;

export interface EncodeDeltaOptions {
  /** Largest frame yielded (default 1 MiB, at least 64 bytes). */
  readonly maxFrameBytes?: number;
}

/**
 * Encodes a token stream into frames of at most `maxFrameBytes`. Frames are fresh buffers.
 * @throws DeltaError `invalid_argument` when the frame size is below 64 bytes.
 */
export async function* encodeDelta(tokens: AsyncIterable<DeltaToken> | Iterable<DeltaToken>, options: EncodeDeltaOptions = {}): AsyncGenerator<Buffer> {
  const maxFrame = options.maxFrameBytes ?? DEFAULT_DELTA_FRAME_BYTES;
  if (!Number.isInteger(maxFrame) || maxFrame < MIN_DELTA_FRAME_BYTES) {
    throw new DeltaError('invalid_argument', `maxFrameBytes must be an integer of at least ${MIN_DELTA_FRAME_BYTES}`);
  }
  const frame = new FrameBuilder(maxFrame);
  // Tokens straight from `delta` may lend their literal bytes: the frame copies them before the next token.
  const borrowed = (tokens as Partial<BorrowingSource>)[BORROW_LITERALS];
  const source: AsyncIterable<DeltaToken> | Iterable<DeltaToken> = borrowed !== undefined ? { [Symbol.asyncIterator]: () => borrowed.call(tokens) } : tokens;
  for await (const token of source) {
    if (token.kind === 'literal') {
      for (let offset = 0; offset < token.data.length; ) {
        if (frame.free < MAX_TOKEN_HEAD_BYTES) yield frame.take();
        const room = Math.min(frame.free - 1 - varintLength(frame.free), MAX_DECODED_LITERAL_BYTES);
        const piece = Math.min(room, token.data.length - offset);
        frame.add(encodeHead(TAG_LITERAL, piece));
        frame.add(token.data.subarray(offset, offset + piece));
        offset += piece;
      }
    } else {
      const encoded = encodeFixedToken(token);
      if (frame.free < encoded.length) yield frame.take();
      frame.add(encoded);
    }
  }
  if (frame.used > 0) yield frame.take();
}

/** Encodes a whole token stream into one buffer (for files and tests; the wire uses `encodeDelta`). */
export async function encodeDeltaToBuffer(tokens: AsyncIterable<DeltaToken> | Iterable<DeltaToken>): Promise<Buffer> {
  const frames: Buffer[] = [];
  for await (const frame of encodeDelta(tokens)) frames.push(frame);
  return Buffer.concat(frames);
}

/** Bytes of the frame being filled; parts are copied in at once (a literal may be a borrowed view). */
class FrameBuilder {
  private frame: Buffer | undefined;
  used = 0;
  /** Frames start at the size the previous one reached: small for copy-only deltas, full for literal streams. */
  private nextCapacity = 4096;

  constructor(private readonly size: number) {}

  get free(): number {
    return this.size - this.used;
  }

  add(part: Uint8Array): void {
    const needed = this.used + part.length;
    if (this.frame === undefined || needed > this.frame.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.size, Math.max(needed, 2 * (this.frame?.length ?? this.nextCapacity / 2))));
      if (this.frame !== undefined) this.frame.copy(grown, 0, 0, this.used);
      this.frame = grown;
    }
    this.frame.set(part, this.used);
    this.used = needed;
  }

  take(): Buffer {
    const frame = (this.frame as Buffer).subarray(0, this.used);
    this.nextCapacity = (this.frame as Buffer).length;
    this.frame = undefined;
    this.used = 0;
    return frame;
  }
}

function encodeHead(tag: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(1 + varintLength(value));
  out[0] = tag;
  writeVarint(out, 1, value);
  return out;
}

function encodeFixedToken(token: Exclude<DeltaToken, { kind: 'literal' }>): Buffer {
  switch (token.kind) {
    case 'header': {
      const hashCode = HASH_CODES[token.hash] as number | undefined;
      if (hashCode === undefined) throw new DeltaError('invalid_argument', `unknown whole-file hash "${String(token.hash)}"`);
      const sha256 = token.hash === 'sha256';
      const fixed = sha256 ? 5 : 6;
      const out = Buffer.allocUnsafe(fixed + varintLength(token.blockLength) + varintLength(token.basisLength) + HEADER_CHECK_BYTES);
      DELTA_MAGIC.copy(out, 0);
      out[4] = sha256 ? DELTA_FORMAT_VERSION_SHA256 : DELTA_FORMAT_VERSION;
      if (!sha256) out[5] = hashCode;
      let offset = writeVarint(out, fixed, token.blockLength);
      offset = writeVarint(out, offset, token.basisLength);
      createHash('sha256').update(out.subarray(0, offset)).digest().copy(out, offset, 0, HEADER_CHECK_BYTES);
      return out;
    }
    case 'copy': {
      const out = Buffer.allocUnsafe(1 + varintLength(token.start) + varintLength(token.count));
      out[0] = TAG_COPY;
      writeVarint(out, writeVarint(out, 1, token.start), token.count);
      return out;
    }
    case 'end': {
      if (token.digest.length !== DIGEST_BYTES) throw new DeltaError('invalid_argument', `end token needs a ${DIGEST_BYTES}-byte digest`);
      const out = Buffer.allocUnsafe(1 + varintLength(token.length) + DIGEST_BYTES);
      out[0] = TAG_END;
      out.set(token.digest, writeVarint(out, 1, token.length));
      return out;
    }
  }
}

/** The hash a version 2 header names (after its check passed: a damaged byte is reported as such first). */
function hashOfCode(code: number): WholeFileHash {
  const hash = HASH_BY_CODE.get(code);
  if (hash === undefined) throw new DeltaFormatError('unsupported', `delta names whole-file hash ${code}, which this decoder does not know`);
  // SHA-256 has its own version (1); one meaning, one encoding.
  if (hash === 'sha256') throw new DeltaFormatError('corrupt', 'a SHA-256 delta must be written as version 1');
  return hash;
}

/**
 * Decodes an encoded delta from chunks of any size, yielding tokens as soon as they are complete. Memory stays
 * at one literal (at most 1 MiB) plus a few bytes; literal data may alias the input chunks.
 * @throws DeltaFormatError for a truncated, damaged or hostile input.
 */
export async function* decodeDelta(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<DeltaToken> {
  const decoder = new DeltaDecoder();
  for await (const chunk of chunks) yield* decoder.push(chunk);
  decoder.finish();
}

const Parsed = { Incomplete: 0, Token: 1, LiteralHead: 2 } as const;
type Parsed = (typeof Parsed)[keyof typeof Parsed];

/**
 * Incremental decoder: push chunks as they arrive, get the tokens completed so far, call `finish` at the end.
 * Validates as it goes: header first with a correct check, copies inside the basis, literal sizes, the end
 * token's length against the bytes the tokens add up to, nothing after the end.
 */
export class DeltaDecoder {
  private carry: Buffer = Buffer.alloc(0);
  private literal: Buffer | undefined;
  private literalFilled = 0;
  private header: DeltaHeader | undefined;
  private blockCount = 0;
  private written = 0;
  private ended = false;
  private readonly varint: VarintRead = { value: 0, end: 0 };
  /** Results of the last `parse`. */
  private token: DeltaToken | undefined;
  private parsedEnd = 0;

  /** Tokens completed by this chunk, in order. */
  push(chunk: Uint8Array): DeltaToken[] {
    const tokens: DeltaToken[] = [];
    let offset = 0;
    if (this.literal !== undefined) offset = this.fillLiteral(chunk, 0, tokens);
    if (this.carry.length > 0 && offset < chunk.length) {
      // A token head was cut: join the few bytes kept with the start of this chunk only.
      const joined = Buffer.concat([this.carry, chunk.subarray(offset, offset + MAX_TOKEN_HEAD_BYTES)]);
      const status = this.parse(joined, 0);
      if (status === Parsed.Incomplete) {
        this.carry = joined;
        return tokens;
      }
      offset += this.parsedEnd - this.carry.length;
      this.carry = Buffer.alloc(0);
      if (status === Parsed.Token) tokens.push(this.accept());
      else offset = this.startLiteral(chunk, offset, tokens);
    }
    while (offset < chunk.length) {
      const status = this.parse(chunk, offset);
      if (status === Parsed.Incomplete) {
        this.carry = Buffer.from(chunk.subarray(offset));
        break;
      }
      offset = this.parsedEnd;
      if (status === Parsed.Token) tokens.push(this.accept());
      else offset = this.startLiteral(chunk, offset, tokens);
    }
    return tokens;
  }

  /** @throws DeltaFormatError `truncated` when the input stopped before the end token. */
  finish(): void {
    if (this.literal !== undefined || this.carry.length > 0) throw new DeltaFormatError('truncated', 'delta ends inside a token');
    if (!this.ended) throw new DeltaFormatError('truncated', this.header === undefined ? 'delta is empty' : 'delta ends before its end token');
  }

  /** Parses one token head at `offset`; literal bodies are handled by the caller. */
  private parse(data: Uint8Array, offset: number): Parsed {
    if (this.ended) throw new DeltaFormatError('trailing_data', 'bytes follow the end of the delta');
    if (this.header === undefined) return this.parseHeader(data, offset);
    const tag = data[offset] as number;
    const v = this.varint;
    switch (tag) {
      case TAG_LITERAL: {
        if (readVarint(data, offset + 1, data.length, 'literal length', MAX_DECODED_LITERAL_BYTES, v).end < 0) return Parsed.Incomplete;
        if (v.value === 0) throw new DeltaFormatError('out_of_range', 'literal of 0 bytes');
        this.parsedEnd = v.end;
        return Parsed.LiteralHead;
      }
      case TAG_COPY: {
        if (readVarint(data, offset + 1, data.length, 'copy start', MAX_BLOCK_COUNT, v).end < 0) return Parsed.Incomplete;
        const start = v.value;
        if (readVarint(data, v.end, data.length, 'copy count', MAX_BLOCK_COUNT, v).end < 0) return Parsed.Incomplete;
        const count = v.value;
        if (count === 0 || start + count > this.blockCount) {
          throw new DeltaFormatError('out_of_range', `copy of blocks ${start}+${count} outside the basis's ${this.blockCount} blocks`);
        }
        this.parsedEnd = v.end;
        this.token = { kind: 'copy', start, count };
        return Parsed.Token;
      }
      case TAG_END: {
        if (readVarint(data, offset + 1, data.length, 'new length', MAX_FILE_LENGTH, v).end < 0) return Parsed.Incomplete;
        if (v.end + DIGEST_BYTES > data.length) return Parsed.Incomplete;
        this.parsedEnd = v.end + DIGEST_BYTES;
        this.token = { kind: 'end', length: v.value, digest: Buffer.from(data.subarray(v.end, v.end + DIGEST_BYTES)) };
        return Parsed.Token;
      }
      default:
        throw new DeltaFormatError('corrupt', `unknown delta token tag 0x${tag.toString(16).padStart(2, '0')}`);
    }
  }

  private parseHeader(data: Uint8Array, offset: number): Parsed {
    const available = Math.min(4, data.length - offset);
    if (!DELTA_MAGIC.subarray(0, available).equals(data.subarray(offset, offset + available))) {
      throw new DeltaFormatError('bad_magic', 'not a Berth delta (magic is not "BDLT")');
    }
    if (data.length - offset < 5) return Parsed.Incomplete;
    const version = data[offset + 4] as number;
    if (version !== DELTA_FORMAT_VERSION_SHA256 && version !== DELTA_FORMAT_VERSION) {
      throw new DeltaFormatError('unsupported', `delta format version ${version} is not supported (this decoder reads ${DELTA_FORMAT_VERSION_SHA256} and ${DELTA_FORMAT_VERSION})`);
    }
    const fixed = version === DELTA_FORMAT_VERSION_SHA256 ? 5 : 6;
    const v = this.varint;
    if (readVarint(data, offset + fixed, data.length, 'block length', MAX_BLOCK_LENGTH, v).end < 0) return Parsed.Incomplete;
    const blockLength = v.value;
    if (readVarint(data, v.end, data.length, 'basis length', MAX_FILE_LENGTH, v).end < 0) return Parsed.Incomplete;
    const basisLength = v.value;
    const checkAt = v.end;
    if (checkAt + HEADER_CHECK_BYTES > data.length) return Parsed.Incomplete;
    const check = createHash('sha256').update(data.subarray(offset, checkAt)).digest();
    if (!check.subarray(0, HEADER_CHECK_BYTES).equals(data.subarray(checkAt, checkAt + HEADER_CHECK_BYTES))) {
      throw new DeltaFormatError('corrupt', 'delta header check bytes do not match (damaged header)');
    }
    const hash = version === DELTA_FORMAT_VERSION_SHA256 ? 'sha256' : hashOfCode(data[offset + 5] as number);
    if (blockLength === 0) throw new DeltaFormatError('out_of_range', 'block length is 0');
    const blockCount = blockCountOf(basisLength, blockLength);
    if (blockCount > MAX_BLOCK_COUNT) throw new DeltaFormatError('out_of_range', `basis of ${blockCount} blocks, more than ${MAX_BLOCK_COUNT}`);
    this.parsedEnd = checkAt + HEADER_CHECK_BYTES;
    this.token = { kind: 'header', blockLength, basisLength, hash };
    return Parsed.Token;
  }

  /** Applies the stream grammar to the token just parsed and returns it. */
  private accept(): DeltaToken {
    const token = this.token as DeltaToken;
    switch (token.kind) {
      case 'header':
        this.header = token;
        this.blockCount = blockCountOf(token.basisLength, token.blockLength);
        break;
      case 'copy':
        this.addWritten(copyRange(this.header as DeltaHeader, token).length);
        break;
      case 'end':
        if (token.length !== this.written) {
          throw new DeltaFormatError('length_mismatch', `delta tokens add up to ${this.written} bytes, its end announces ${token.length}`);
        }
        this.ended = true;
        break;
      case 'literal':
        this.addWritten(token.data.length);
        break;
    }
    return token;
  }

  /** The literal whose head ends at `offset`: whole from this chunk when it fits, else gathered over chunks. */
  private startLiteral(chunk: Uint8Array, offset: number, tokens: DeltaToken[]): number {
    const length = this.varint.value;
    if (offset + length <= chunk.length) {
      this.token = { kind: 'literal', data: chunk.subarray(offset, offset + length) };
      tokens.push(this.accept());
      return offset + length;
    }
    this.literal = Buffer.allocUnsafe(length);
    this.literalFilled = 0;
    return this.fillLiteral(chunk, offset, tokens);
  }

  private fillLiteral(chunk: Uint8Array, offset: number, tokens: DeltaToken[]): number {
    const literal = this.literal as Buffer;
    const count = Math.min(literal.length - this.literalFilled, chunk.length - offset);
    literal.set(chunk.subarray(offset, offset + count), this.literalFilled);
    this.literalFilled += count;
    if (this.literalFilled === literal.length) {
      this.literal = undefined;
      this.token = { kind: 'literal', data: literal };
      tokens.push(this.accept());
    }
    return offset + count;
  }

  private addWritten(bytes: number): void {
    this.written += bytes;
    if (this.written > MAX_FILE_LENGTH) throw new DeltaFormatError('out_of_range', 'delta rebuilds more than 2^53 - 1 bytes');
  }
}
