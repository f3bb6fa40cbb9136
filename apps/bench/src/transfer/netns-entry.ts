/**
 * Entry script the harness starts instead of bin/berth.js for a service that must live inside case 4's network
 * namespace: `node netns-entry.js receiver ...` runs `ip netns exec NS node bin/berth.js receiver ...` (the
 * namespace named by BERTH_BENCH_NETNS), forwards stop signals to it and exits with its status. The service
 * gets the orphan guard too, watching this process, so nothing outlives the benchmark.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
const namespace = process.env['BERTH_BENCH_NETNS'];
if (namespace === undefined || namespace === '') {
  process.stderr.write('netns-entry: BERTH_BENCH_NETNS is not set\n');
  process.exit(2);
}

const child = spawn(
  'ip',
  ['netns', 'exec', namespace, process.execPath, '--require', path.join(repoRoot, 'libs', 'harness', 'assets', 'orphan-guard.cjs'), path.join(repoRoot, 'bin', 'berth.js'), ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, BERTH_HARNESS_PARENT_PID: String(process.pid) } },
);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  process.stderr.write(`netns-entry: could not run ip netns exec: ${error.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGKILL' ? 137 : 143)));
