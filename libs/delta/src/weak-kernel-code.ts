import { WEAK_HASH_MULTIPLIER } from './rolling-scan';
import { memArg, moduleWithFunctions, Op, signedLeb, simd, SimdOp, v128ConstI16, ValueType, VOID_BLOCK, webAssembly, type WasmModule } from './wasm-module';

/**
 * The two hot loops of the algorithm, in WebAssembly, built at load time from the code below. Both keep the
 * running sums s1, s2 at memory addresses 0 and 4, shared with JavaScript.
 *
 * `sums(start, end)`: s1, s2 of the window memory[start..end) from scratch (signatures, and after a jump).
 *   SIMD, 16 bytes per step: for each 16-byte chunk, s2 += 16 * s1 + sum (16 - j) * b[j], s1 += sum b[j],
 *   with lane-wise accumulators (one dot product per 8 bytes), then the tail byte by byte. 11.9 GB/s here,
 *   against 2.4 GB/s for the best JS loop (32-bit words) and 1.5 GB/s for the byte loop.
 *
 * `blockWeaks(start, end, L, out)`: the packed weak checksum ((s1 & 0xffff) | s2 << 16) of each block of length L
 *   (the last one possibly shorter) of memory[start..end), one 32-bit word per block from `out` on: `sums` per
 *   block without a call from JavaScript per block (signatures).
 *
 * `scan(p, end, L, filterShift, tableShift, tableMask, filter, slotWeak, slotHead)`: the rolling search.
 *   For each position until a hit:
 *     weak = (s1 & 0xffff) | (s2 << 16);  hash = weak * K;  bit = hash >>> filterShift
 *     if (filter bit set) for (slot = hash >>> tableShift; slotHead[slot] != -1; slot = (slot + 1) & tableMask)
 *       if (slotWeak[slot] == weak) return p                       // sums stay at window p
 *     out = mem[p];  s1 += mem[p + L] - out;  s2 += s1 - L * out  // roll to p + 1
 *   unrolled four times, then one at a time up to `end` (returned with the sums of window `end`). 470-490 MB/s
 *   here on unrelated data, against 360 MB/s for the best JS loop, which also had to leave the loop at every set
 *   filter bit (1 position in 64) to probe the table. No bounds checks: V8 guards wasm memory with unmapped pages.
 */

const get = (index: number): number[] => [Op.localGet, index];
const set = (index: number): number[] => [Op.localSet, index];
const tee = (index: number): number[] => [Op.localTee, index];
const i32 = (value: number): number[] => [Op.i32Const, ...signedLeb(value)];
const storeSums = (s1: number, s2: number): number[] => [...i32(0), ...get(s1), Op.i32Store, ...memArg(2, 0), ...i32(0), ...get(s2), Op.i32Store, ...memArg(2, 4)];
const loadSums = (s1: number, s2: number): number[] => [...i32(0), Op.i32Load, ...memArg(2, 0), ...set(s1), ...i32(0), Op.i32Load, ...memArg(2, 4), ...set(s2)];

// sums: parameters start, end; i32 locals s1, s2; v128 locals.
const A = { p: 0, end: 1, s1: 2, s2: 3, chunkSums: 4, priorSums: 5, weighted: 6, chunk: 7 } as const;

const lanesTotal = (local: number): number[] => [
  ...get(local), ...simd(SimdOp.i32x4ExtractLane), 0,
  ...get(local), ...simd(SimdOp.i32x4ExtractLane), 1, Op.i32Add,
  ...get(local), ...simd(SimdOp.i32x4ExtractLane), 2, Op.i32Add,
  ...get(local), ...simd(SimdOp.i32x4ExtractLane), 3, Op.i32Add,
];

const sumsBody: number[] = [
  Op.block, VOID_BLOCK,
    Op.loop, VOID_BLOCK,
      ...get(A.p), ...i32(16), Op.i32Add, ...get(A.end), Op.i32GtU, Op.brIf, 1,
      ...get(A.p), ...simd(SimdOp.v128Load), ...memArg(0, 0), ...set(A.chunk),
      // priorSums += chunkSums (the s1 before this chunk, lane-wise), then chunkSums += bytes of this chunk
      ...get(A.priorSums), ...get(A.chunkSums), ...simd(SimdOp.i32x4Add), ...set(A.priorSums),
      ...get(A.chunkSums), ...get(A.chunk), ...simd(SimdOp.i16x8ExtaddPairwiseI8x16U), ...simd(SimdOp.i32x4ExtaddPairwiseI16x8U), ...simd(SimdOp.i32x4Add), ...set(A.chunkSums),
      // weighted += sum (16 - j) * b[j]
      ...get(A.weighted),
      ...get(A.chunk), ...simd(SimdOp.i16x8ExtendLowI8x16U), ...v128ConstI16([16, 15, 14, 13, 12, 11, 10, 9]), ...simd(SimdOp.i32x4DotI16x8S), ...simd(SimdOp.i32x4Add),
      ...get(A.chunk), ...simd(SimdOp.i16x8ExtendHighI8x16U), ...v128ConstI16([8, 7, 6, 5, 4, 3, 2, 1]), ...simd(SimdOp.i32x4DotI16x8S), ...simd(SimdOp.i32x4Add),
      ...set(A.weighted),
      ...get(A.p), ...i32(16), Op.i32Add, ...set(A.p),
      Op.br, 0,
    Op.end,
  Op.end,
  ...lanesTotal(A.chunkSums), ...set(A.s1),
  ...lanesTotal(A.priorSums), ...i32(4), Op.i32Shl, ...lanesTotal(A.weighted), Op.i32Add, ...set(A.s2),
  Op.block, VOID_BLOCK,
    Op.loop, VOID_BLOCK,
      ...get(A.p), ...get(A.end), Op.i32GeU, Op.brIf, 1,
      ...get(A.s1), ...get(A.p), Op.i32Load8U, ...memArg(0, 0), Op.i32Add, ...tee(A.s1), ...get(A.s2), Op.i32Add, ...set(A.s2),
      ...get(A.p), ...i32(1), Op.i32Add, ...set(A.p),
      Op.br, 0,
    Op.end,
  Op.end,
  ...storeSums(A.s1, A.s2),
  ...i32(0),
];

// blockWeaks: parameters start, end, L, out; i32 local next.
const B = { start: 0, end: 1, L: 2, out: 3, next: 4 } as const;

const blockWeaksBody: number[] = [
  Op.block, VOID_BLOCK,
    Op.loop, VOID_BLOCK,
      ...get(B.start), ...get(B.end), Op.i32GeU, Op.brIf, 1,
      // next = min(start + L, end)
      ...get(B.start), ...get(B.L), Op.i32Add, ...tee(B.next), ...get(B.end), ...get(B.end), ...get(B.next), Op.i32GeU, Op.select, ...set(B.next),
      ...get(B.start), ...get(B.next), Op.call, 0, Op.drop,
      // out[i] = (s1 & 0xffff) | (s2 << 16)
      ...get(B.out),
      ...i32(0), Op.i32Load, ...memArg(2, 0), ...i32(0xffff), Op.i32And,
      ...i32(0), Op.i32Load, ...memArg(2, 4), ...i32(16), Op.i32Shl, Op.i32Or,
      Op.i32Store, ...memArg(2, 0),
      ...get(B.out), ...i32(4), Op.i32Add, ...set(B.out),
      ...get(B.next), ...set(B.start),
      Op.br, 0,
    Op.end,
  Op.end,
  ...i32(0),
];

// scan: parameters (positions are byte addresses), then i32 locals.
const P = { p: 0, end: 1, L: 2, filterShift: 3, tableShift: 4, tableMask: 5, filter: 6, slotWeak: 7, slotHead: 8 } as const;
const V = { s1: 9, s2: 10, out: 11, weak: 12, hash: 13, bit: 14, slot: 15 } as const;

/** One position. `exitDepth` is the branch depth, from the enclosing loop's body, of the block that returns. */
function scanStep(exitDepth: number): number[] {
  return [
    ...get(V.s1), ...i32(0xffff), Op.i32And, ...get(V.s2), ...i32(16), Op.i32Shl, Op.i32Or, ...tee(V.weak),
    ...i32(WEAK_HASH_MULTIPLIER | 0), Op.i32Mul, ...tee(V.hash), ...get(P.filterShift), Op.i32ShrU, ...tee(V.bit),
    // filter word >>> bit & 1 (shift counts are taken modulo 32)
    ...i32(5), Op.i32ShrU, ...i32(2), Op.i32Shl, ...get(P.filter), Op.i32Add, Op.i32Load, ...memArg(2, 0),
    ...get(V.bit), Op.i32ShrU, ...i32(1), Op.i32And,
    Op.if, VOID_BLOCK,
      ...get(V.hash), ...get(P.tableShift), Op.i32ShrU, ...set(V.slot),
      Op.block, VOID_BLOCK,
        Op.loop, VOID_BLOCK,
          // an empty slot: not in the table
          ...get(V.slot), ...i32(2), Op.i32Shl, ...get(P.slotHead), Op.i32Add, Op.i32Load, ...memArg(2, 0), ...i32(-1), Op.i32Eq, Op.brIf, 1,
          // the same weak checksum: leave with p at this window (loop, block and if, then the caller's levels)
          ...get(V.slot), ...i32(2), Op.i32Shl, ...get(P.slotWeak), Op.i32Add, Op.i32Load, ...memArg(2, 0), ...get(V.weak), Op.i32Eq, Op.brIf, exitDepth + 3,
          ...get(V.slot), ...i32(1), Op.i32Add, ...get(P.tableMask), Op.i32And, ...set(V.slot),
          Op.br, 0,
        Op.end,
      Op.end,
    Op.end,
    ...get(P.p), Op.i32Load8U, ...memArg(0, 0), ...set(V.out),
    ...get(V.s1), ...get(P.p), ...get(P.L), Op.i32Add, Op.i32Load8U, ...memArg(0, 0), Op.i32Add, ...get(V.out), Op.i32Sub, ...tee(V.s1),
    ...get(V.s2), Op.i32Add, ...get(V.out), ...get(P.L), Op.i32Mul, Op.i32Sub, ...set(V.s2),
    ...get(P.p), ...i32(1), Op.i32Add, ...set(P.p),
  ];
}

const UNROLL = 4;

const scanBody: number[] = [
  ...loadSums(V.s1, V.s2),
  Op.block, VOID_BLOCK, // exit
    Op.block, VOID_BLOCK, // four at a time while p + 4 <= end
      Op.loop, VOID_BLOCK,
        ...get(P.p), ...i32(UNROLL), Op.i32Add, ...get(P.end), Op.i32GtU, Op.brIf, 1,
        ...Array.from({ length: UNROLL }, () => scanStep(2)).flat(),
        Op.br, 0,
      Op.end,
    Op.end,
    Op.loop, VOID_BLOCK, // the rest, one at a time
      ...get(P.p), ...get(P.end), Op.i32GeU, Op.brIf, 1,
      ...scanStep(1),
      Op.br, 0,
    Op.end,
  Op.end,
  ...storeSums(V.s1, V.s2),
  ...get(P.p),
];

export const weakKernelModule: WasmModule = new webAssembly.Module(
  moduleWithFunctions([
    { name: 'sums', params: 2, locals: [{ type: ValueType.i32, count: 2 }, { type: ValueType.v128, count: 4 }], body: sumsBody },
    { name: 'scan', params: 9, locals: [{ type: ValueType.i32, count: 7 }], body: scanBody },
    { name: 'blockWeaks', params: 4, locals: [{ type: ValueType.i32, count: 1 }], body: blockWeaksBody },
  ]),
);
