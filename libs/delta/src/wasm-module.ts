/**
 * The few pieces of the WebAssembly binary format (core spec 1.0) needed to build the search kernel at load
 * time from readable code, instead of shipping an opaque binary: LEB128 numbers, opcodes, and a module with one
 * imported memory and one exported function whose parameters and locals are all i32.
 */

export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Eq: 0x46,
  i32GeU: 0x4f,
  i32GtU: 0x4b,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32ShrU: 0x76,
} as const;

/** Block type of a block, loop or if that leaves nothing on the stack. */
export const VOID_BLOCK = 0x40;
export const ValueType = { i32: 0x7f, v128: 0x7b } as const;

/** SIMD instructions (prefix 0xfd, then the LEB128 opcode) used by the kernels. */
export const SimdOp = {
  v128Load: 0x00,
  v128Const: 0x0c,
  i32x4ExtractLane: 0x1b,
  i16x8ExtaddPairwiseI8x16U: 0x7d,
  i32x4ExtaddPairwiseI16x8U: 0x7f,
  i16x8ExtendLowI8x16U: 0x89,
  i16x8ExtendHighI8x16U: 0x8a,
  i32x4Add: 0xae,
  i32x4DotI16x8S: 0xba,
} as const;

export function simd(op: number): number[] {
  return [0xfd, ...unsignedLeb(op)];
}

/** v128.const of eight 16-bit lanes. */
export function v128ConstI16(lanes: readonly number[]): number[] {
  return [...simd(SimdOp.v128Const), ...lanes.flatMap((lane) => [lane & 0xff, (lane >> 8) & 0xff])];
}

export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let rest = value >>> 0;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    out.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return out;
}

export function signedLeb(value: number): number[] {
  const out: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Memory access immediate: alignment exponent and constant offset. */
export function memArg(alignLog2: number, offset: number): number[] {
  return [alignLog2, ...unsignedLeb(offset)];
}

const section = (id: number, content: number[]): number[] => [id, ...unsignedLeb(content.length), ...content];
const vector = (items: number[][]): number[] => [...unsignedLeb(items.length), ...items.flat()];
const name = (text: string): number[] => [...unsignedLeb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];

/** A function taking `params` i32 parameters and returning an i32, with extra locals by type. */
export interface FunctionSpec {
  readonly name: string;
  readonly params: number;
  readonly locals: readonly { readonly type: number; readonly count: number }[];
  /** Instructions, without the final `end`. */
  readonly body: readonly number[];
}

/** A module importing memory `env.memory` and exporting the given functions. */
export function moduleWithFunctions(functions: readonly FunctionSpec[]): Uint8Array {
  const types = functions.map((fn) => [0x60, ...vector(Array.from({ length: fn.params }, () => [ValueType.i32])), ...vector([[ValueType.i32]])]);
  const codes = functions.map((fn) => {
    const code = [...vector(fn.locals.map((local) => [...unsignedLeb(local.count), local.type])), ...fn.body, Op.end];
    return [...unsignedLeb(code.length), ...code];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vector(functions.map((_, index) => unsignedLeb(index)))),
    ...section(7, vector(functions.map((fn, index) => [...name(fn.name), 0x00, ...unsignedLeb(index)]))),
    ...section(10, vector(codes)),
  ]);
}

/** A compiled module (opaque). */
export interface WasmModule {
  readonly compiled: unique symbol;
}
/** The slice of the WebAssembly JavaScript API used here: it is neither in the ES lib nor in @types/node 20. */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  readonly Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
}

export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
