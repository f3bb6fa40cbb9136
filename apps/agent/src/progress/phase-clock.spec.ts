import { PhaseClock } from './phase-clock';

describe('PhaseClock', () => {
  it('ends each phase when the next starts and reports the current one as ending now', () => {
    let ms = Date.UTC(2026, 10, 25, 10, 0, 0);
    const clock = new PhaseClock(() => new Date(ms));
    expect(clock.phases()).toEqual([]);
    clock.enter('prepare');
    ms += 50;
    clock.enter('connect');
    ms += 20;
    clock.enter('admission');
    clock.enter('admission');
    ms += 3_000;
    clock.enter('transfer');
    ms += 10_000;
    expect(clock.phases()).toEqual([
      { name: 'prepare', startedAt: '2026-11-25T10:00:00.000Z', endedAt: '2026-11-25T10:00:00.050Z' },
      { name: 'connect', startedAt: '2026-11-25T10:00:00.050Z', endedAt: '2026-11-25T10:00:00.070Z' },
      { name: 'admission', startedAt: '2026-11-25T10:00:00.070Z', endedAt: '2026-11-25T10:00:03.070Z' },
      { name: 'transfer', startedAt: '2026-11-25T10:00:03.070Z', endedAt: '2026-11-25T10:00:13.070Z' },
    ]);
  });
});
