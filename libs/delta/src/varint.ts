import { DeltaFormatError } from './errors';

/** Unsigned LEB128 of a safe integer: at most 8 bytes (56 bits hold 2^53). */
export const MAX_VARINT_BYTES = 8;

export function varintLength(value: number): number {
  let length = 1;
  for (let rest = Math.floor(value / 0x80); rest > 0; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

/** Writes `value` at `offset`, returns the offset after it. `value` must be a safe non-negative integer. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  let rest = value;
  while (rest >= 0x80) {
    target[offset++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  target[offset++] = rest;
  return offset;
}

/** Outcome of reading a varint from possibly incomplete input: `end` is -1 when more bytes are needed. */
export interface VarintRead {
  value: number;
  end: number;
}

/**
 * Reads a canonical varint from `source[offset..limit)`. Returns `end = -1` when the input stops in the middle
 * of it; throws when it is overlong, longer than 8 bytes or above `max`.
 */
export function readVarint(source: Uint8Array, offset: number, limit: number, field: string, max: number, out: VarintRead): VarintRead {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (offset + i >= limit) {
      out.end = -1;
      return out;
    }
    const byte = source[offset + i] as number;
    value += (byte & 0x7f) * scale;
    scale *= 0x80;
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new DeltaFormatError('out_of_range', `${field}: overlong varint`);
      if (value > max) throw new DeltaFormatError('out_of_range', `${field}: ${value} exceeds the limit ${max}`);
      out.value = value;
      out.end = offset + i + 1;
      return out;
    }
  }
  throw new DeltaFormatError('out_of_range', `${field}: varint longer than ${MAX_VARINT_BYTES} bytes`);
}
