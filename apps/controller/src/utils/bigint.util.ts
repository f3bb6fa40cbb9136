/** Counters are BigInt columns; the API speaks numbers (exact up to 2^53, about 8 PiB of bytes). */
export function toNumber(value: bigint): number {
  return Number(value);
}

export function toBigInt(value: number): bigint {
  return BigInt(value);
}
