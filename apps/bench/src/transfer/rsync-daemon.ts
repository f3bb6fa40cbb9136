/**
 * Stock rsync as the issue asks: a daemon with one writable module, pushed to with
 * `rsync -a --delete --numeric-ids --stats SRC/ rsync://HOST:PORT/bench/`. `--delete` makes the destination the
 * mirror of the source, so each case starts from the same basis for rsync as Berth's last snapshot is for Berth.
 * rsync does not fsync by default (Berth does): `syncSeconds` is what a `sync -f` of the destination took after
 * the push, shown beside the figures, never added to them.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort } from '@berth/harness';
import { type Link, inNamespace } from './link';
import { childrenOf, diffSamples, machineBusySeconds, otherLoad, sampleProcess } from './proc-stats';

const execFileAsync = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RsyncDaemon {
  readonly url: string;
  readonly destination: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface RsyncPush {
  readonly seconds: number;
  /** "Total bytes sent" (client to daemon) and "Total bytes received", from --stats. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly literalBytes: number;
  readonly matchedBytes: number;
  readonly filesTransferred: number;
  readonly regularFiles: number;
  readonly totalFileBytes: number;
  /** CPU seconds of the client and of the daemon's forks (generator and receiver). */
  readonly clientCpu: number;
  readonly daemonCpu: number;
  /** Minor page faults of the client and of the daemon with its forks. */
  readonly clientFaults: number;
  readonly daemonFaults: number;
  readonly syncSeconds: number;
  /** CPUs busy with other work meanwhile (see otherLoad). */
  readonly otherLoad: number;
}

export async function startRsyncDaemon(workDir: string, destination: string, link: Link | null): Promise<RsyncDaemon> {
  await fs.mkdir(workDir, { recursive: true });
  await fs.mkdir(destination, { recursive: true });
  const config = path.join(workDir, 'rsyncd.conf');
  await fs.writeFile(
    config,
    [
      `pid file = ${path.join(workDir, 'rsyncd.pid')}`,
      `log file = ${path.join(workDir, 'rsyncd.log')}`,
      // Without a chroot rsyncd rewrites symlink targets (munged, or the leading "/" of absolute ones dropped);
      // a backup keeps them as they are. Only root can chroot.
      `use chroot = ${process.getuid?.() === 0 ? 'yes' : 'no'}`,
      'munge symlinks = no',
      '[bench]',
      `  path = ${destination}`,
      '  read only = no',
      '  uid = 0',
      '  gid = 0',
      '  numeric ids = yes',
      '',
    ].join('\n'),
  );
  const host = link === null ? '127.0.0.1' : link.namespaceAddress;
  const port = link === null ? await freePort(host) : 8730;
  const daemonArgs = ['--daemon', '--no-detach', `--config=${config}`, `--port=${port}`, `--address=${host}`];
  const { command, args } = link === null ? { command: 'rsync', args: daemonArgs } : inNamespace(link, 'rsync', daemonArgs);
  const logFd = openSync(path.join(workDir, 'rsyncd.out'), 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async (): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  process.once('exit', () => {
    if (!exited) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(host, port, 500))) {
    if (exited || Date.now() > deadline) {
      await stop();
      const out = await fs.readFile(path.join(workDir, 'rsyncd.out'), 'utf8').catch(() => '');
      throw new Error(`the rsync daemon did not accept connections on ${host}:${port}${exited ? ' (it exited)' : ''}: ${out.trim().slice(-500)}`);
    }
    await sleep(50);
  }
  return { url: `rsync://${host}:${port}/bench/`, destination, pid: child.pid ?? 0, stop };
}

/** One push of `source` into the daemon's module; the client is our child, so its CPU shows in our cutime. */
export async function pushWithRsync(source: string, daemon: RsyncDaemon): Promise<RsyncPush> {
  const selfBefore = sampleProcess('self');
  const daemonBefore = sampleProcess(daemon.pid);
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const { stdout } = await execFileAsync('rsync', ['-a', '--delete', '--numeric-ids', '--stats', `${source}/`, daemon.url], { maxBuffer: 16 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  const selfAfter = sampleProcess('self');
  const busyAfter = machineBusySeconds();
  // The daemon reaps its forks once they are done: wait for that so their CPU is counted.
  for (let i = 0; i < 40 && childrenOf(daemon.pid).length > 0; i++) await sleep(50);
  const daemonDelta = diffSamples(sampleProcess(daemon.pid), daemonBefore);
  const clientCpu = diffSamples(selfAfter, selfBefore).childCpu;
  // The daemon's forks may still be reaped after busyAfter was read: their CPU is counted all the same.
  const daemonCpu = daemonDelta.cpu + daemonDelta.childCpu;
  const syncStarted = performance.now();
  await execFileAsync('sync', ['-f', daemon.destination]);
  const syncSeconds = (performance.now() - syncStarted) / 1000;
  return {
    seconds,
    bytesSent: statNumber(stdout, 'Total bytes sent'),
    bytesReceived: statNumber(stdout, 'Total bytes received'),
    literalBytes: statNumber(stdout, 'Literal data'),
    matchedBytes: statNumber(stdout, 'Matched data'),
    filesTransferred: statNumber(stdout, 'Number of regular files transferred'),
    regularFiles: statNumber(stdout, 'Number of files', /reg: ([\d,]+)/),
    totalFileBytes: statNumber(stdout, 'Total file size'),
    clientCpu,
    daemonCpu,
    clientFaults: diffSamples(selfAfter, selfBefore).childMinorFaults,
    daemonFaults: daemonDelta.minorFaults + daemonDelta.childMinorFaults,
    syncSeconds,
    otherLoad: otherLoad(busyBefore, busyAfter, clientCpu + daemonCpu, seconds),
  };
}

function statNumber(stats: string, label: string, inner?: RegExp): number {
  const line = new RegExp(`^${label}: (.*)$`, 'm').exec(stats)?.[1];
  const match = line === undefined ? null : (inner ?? /^([\d,]+)/).exec(line);
  if (match?.[1] === undefined) {
    if (inner !== undefined && line !== undefined) return 0;
    throw new Error(`rsync --stats printed no "${label}" line:\n${stats}`);
  }
  return Number(match[1].replace(/,/g, ''));
}
