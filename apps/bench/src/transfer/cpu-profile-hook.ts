/**
 * Preloaded into agent and receiver in `--profile` mode (NODE_OPTIONS=--require this file; Node 20 refuses
 * --cpu-prof in NODE_OPTIONS). SIGUSR2 starts sampling the process' CPU with the inspector; the next SIGUSR2
 * stops and writes `<service>-<pid>-<n>.cpuprofile` into BERTH_BENCH_PROFILE_DIR (written aside, then renamed,
 * so a complete file is all the benchmark ever sees). The benchmark signals around each case, so a profile
 * covers the case and nothing of the process' boot.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env['BERTH_BENCH_PROFILE_DIR'];
if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  let running = false;
  let written = 0;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.start');
      return;
    }
    running = false;
    session.post('Profiler.stop', (error, result) => {
      if (error !== null) return;
      written += 1;
      const file = path.join(dir, `${process.argv[2] ?? 'node'}-${process.pid}-${written}.cpuprofile`);
      writeFileSync(`${file}.partial`, JSON.stringify(result.profile));
      renameSync(`${file}.partial`, file);
    });
  });
}
