import fc from 'fast-check';
import { Fifo } from './fifo';

describe('Fifo', () => {
  it('gives items back in the order they came, as an array used as a queue does, through compactions', () => {
    // Each step pushes (a number) or shifts (null); runs long enough to compact many times.
    const step = fc.oneof(fc.integer(), fc.constant(null));
    fc.assert(
      fc.property(fc.array(step, { minLength: 0, maxLength: 6000 }), (steps) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        for (const value of steps) {
          if (value === null) {
            expect(fifo.shift()).toBe(model.shift());
          } else {
            fifo.push(value);
            model.push(value);
          }
          expect(fifo.length).toBe(model.length);
          expect(fifo.peek()).toBe(model[0]);
        }
        const even = (n: number): boolean => n % 2 === 0;
        expect(fifo.find(even)).toBe(model.find(even));
      }),
      { numRuns: 200 },
    );
  });

  it('drains a queue longer than V8 shifts cheaply as an array, in order, to empty', () => {
    // 60,000 items then 60,000 shifts (an array would copy the queue at each shift).
    const fifo = new Fifo<{ n: number }>();
    for (let n = 0; n < 60_000; n++) fifo.push({ n });
    let sum = 0;
    for (let n = 0; n < 60_000; n++) sum += (fifo.shift() as { n: number }).n;
    expect(sum).toBe((60_000 * 59_999) / 2);
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
  });
});
