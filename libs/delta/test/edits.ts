import fc from 'fast-check';

/** One edit of a file, positions given as fractions so they scale with the file. */
export type Edit =
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'overwrite'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'move'; readonly from: number; readonly length: number; readonly to: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'append'; readonly bytes: Uint8Array }
  | { readonly op: 'boundary'; readonly block: number; readonly bytes: Uint8Array };

const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const smallBytes = fc.uint8Array({ minLength: 1, maxLength: 300 });

export const editArbitrary: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fraction, bytes: smallBytes }),
  fc.record({ op: fc.constant('delete' as const), at: fraction, length: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ op: fc.constant('overwrite' as const), at: fraction, bytes: smallBytes }),
  fc.record({ op: fc.constant('move' as const), from: fraction, length: fc.integer({ min: 1, max: 600 }), to: fraction }),
  fc.record({ op: fc.constant('truncate' as const), at: fraction }),
  fc.record({ op: fc.constant('append' as const), bytes: smallBytes }),
  fc.record({ op: fc.constant('boundary' as const), block: fc.nat({ max: 64 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 3 }) }),
);

/** Applies edits in order; `blockLength` places the boundary edits exactly on block boundaries. */
export function applyEdits(base: Uint8Array, edits: readonly Edit[], blockLength: number): Buffer {
  let data = Buffer.from(base);
  for (const edit of edits) {
    const at = (f: number): number => Math.floor(f * data.length);
    switch (edit.op) {
      case 'insert':
        data = Buffer.concat([data.subarray(0, at(edit.at)), edit.bytes, data.subarray(at(edit.at))]);
        break;
      case 'delete':
        data = Buffer.concat([data.subarray(0, at(edit.at)), data.subarray(at(edit.at) + edit.length)]);
        break;
      case 'overwrite': {
        const start = at(edit.at);
        data = Buffer.concat([data.subarray(0, start), edit.bytes, data.subarray(start + edit.bytes.length)]);
        break;
      }
      case 'move': {
        const from = at(edit.from);
        const piece = Buffer.from(data.subarray(from, from + edit.length));
        const rest = Buffer.concat([data.subarray(0, from), data.subarray(from + piece.length)]);
        const to = Math.floor(edit.to * rest.length);
        data = Buffer.concat([rest.subarray(0, to), piece, rest.subarray(to)]);
        break;
      }
      case 'truncate':
        data = data.subarray(0, at(edit.at));
        break;
      case 'append':
        data = Buffer.concat([data, edit.bytes]);
        break;
      case 'boundary': {
        const start = Math.min(edit.block * blockLength, data.length);
        data = Buffer.concat([data.subarray(0, start), edit.bytes, data.subarray(start + edit.bytes.length)]);
        break;
      }
    }
  }
  return data;
}

/** Bases that compress (repeated phrases) and that do not (random), both with realistic matching behaviour. */
export const basisArbitrary = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength }),
    fc
      .tuple(fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }), fc.nat({ max: maxLength }), fc.integer())
      .map(([phrases, length, seed]) => {
        const out = Buffer.alloc(length);
        let state = seed >>> 0;
        for (let offset = 0; offset < length; ) {
          state = (Math.imul(state, 1103515245) + 12345) >>> 0;
          const phrase = phrases[state % phrases.length] as Uint8Array;
          out.set(phrase.subarray(0, length - offset), offset);
          offset += phrase.length;
        }
        return out;
      }),
  );
