/**
 * Case 4's slow link: a network namespace of our own joined to the root namespace by a veth pair, both ends
 * shaped by a token bucket (`tc qdisc ... tbf rate 100mbit`). The receiver and the rsync daemon run inside the
 * namespace; agent and rsync client reach them across the link. Only addresses on the pair are used (a /30
 * in 10.213.0.0/16 that no interface here has yet). Everything is removed by destroy(), also at process exit.
 *
 * The bucket (`burst`) holds what tc-tbf(8) asks of it: the largest packet the qdisc is handed plus one timer
 * tick's worth of bytes at the rate, rounded up to a power of two. The veth hands over TCP's segmentation-offload
 * packets of up to 64 KiB whole, so at 100 Mbit/s on a HZ=250 kernel that is 64 KiB + 50,000 bytes: 128 KiB.
 * A smaller bucket loses tokens whenever the qdisc's timer fires late, as it does on a loaded machine, and the
 * link then carries less than its rate: with 32 KiB, a bare TCP stream of 134 MB that took 11.23 s on an idle
 * machine took 11.9-12.0 s with one core busy and the disk being written (11.23 s with 128 KiB).
 * A full bucket lets its bytes through at once, so what the link can carry in t seconds is rate * t + bucket;
 * shareOfLink() measures against that, which leaves no gain from the bucket's size.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';

export interface Link {
  readonly namespace: string;
  /** The veth end in the root namespace (where agent and rsync client live) and the one inside ours. */
  readonly hostDevice: string;
  readonly hostAddress: string;
  readonly namespaceAddress: string;
  readonly rateMbit: number;
  /** The token bucket's size in bytes, and the kernel tick rate it was computed from (null: unknown, ASSUMED_HZ used). */
  readonly burstBytes: number;
  readonly hz: number | null;
  /** Bytes the host end sent (towards the namespace) and received, as the kernel counts them (frames). */
  counters(): { readonly sent: number; readonly received: number };
  destroy(): void;
}

export type LinkOutcome = { readonly link: Link } | { readonly skipped: string };

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim()}`);
}

function available(command: string, args: readonly string[]): boolean {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.error === undefined && result.status === 0;
}

/** A /30 of 10.213.0.0/16 that no address of this namespace falls in. */
function freeSubnet(): number {
  const used = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  for (let i = 0; i < 256; i++) {
    const third = (process.pid + i) % 256;
    if (!used.includes(`10.213.${third}.`)) return third;
  }
  throw new Error('no free 10.213.x.0/30 subnet for the test link');
}

function readCounter(device: string, name: 'tx_bytes' | 'rx_bytes'): number {
  return Number(readFileSync(`/sys/class/net/${device}/statistics/${name}`, 'utf8').trim());
}

/** CONFIG_HZ in a kernel's build configuration, or null when the text does not set it. */
export function parseHz(config: string): number | null {
  const hz = /^CONFIG_HZ=(\d+)$/m.exec(config)?.[1];
  return hz === undefined ? null : Number(hz);
}

/** The running kernel's tick rate (CONFIG_HZ), or null when its build configuration cannot be read. */
export function kernelHz(): number | null {
  let config = '';
  try {
    config = readFileSync(`/boot/config-${release()}`, 'utf8');
  } catch {
    config = spawnSync('sh', ['-c', 'zcat /proc/config.gz 2>/dev/null'], { encoding: 'utf8' }).stdout ?? '';
  }
  return parseHz(config);
}

/** The tick rate assumed when the kernel's is unknown: the lowest usual one, which gives the largest bucket. */
export const ASSUMED_HZ = 100;

/** The largest packet the veth hands the qdisc: a TCP segmentation-offload packet (the kernel's default gso_max_size). */
export const LARGEST_PACKET_BYTES = 64 * 1024;

/** The bucket tc-tbf(8) asks for at `rateMbit` and `hz` ticks a second: the largest packet and a tick's bytes, rounded up to a power of two. */
export function bucketBytes(rateMbit: number, hz: number): number {
  const needed = LARGEST_PACKET_BYTES + (rateMbit * 1_000_000) / 8 / hz;
  let bucket = LARGEST_PACKET_BYTES;
  while (bucket < needed) bucket *= 2;
  return bucket;
}

/** `contentBytes` sent in `seconds`, in percent of what the link can carry in that time: its rate, and the bucket it starts with. */
export function shareOfLink(contentBytes: number, seconds: number, rateMbit: number, bucket: number): number {
  return (100 * contentBytes * 8) / (seconds * rateMbit * 1_000_000 + bucket * 8);
}

/** Creates the link, or says why this machine does not allow it. */
export function createLink(rateMbit: number): LinkOutcome {
  if (process.platform !== 'linux') return { skipped: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { skipped: 'network namespaces and tc need root (run the benchmark as root)' };
  if (!available('ip', ['-V'])) return { skipped: '`ip` (iproute2) is not installed' };
  if (!available('tc', ['-V'])) return { skipped: '`tc` (iproute2) is not installed' };

  const tag = `${process.pid % 100_000}`;
  const namespace = `berth-bench-${tag}`;
  const hostDevice = `bbh${tag}`;
  const namespaceDevice = `bbn${tag}`;
  let created = false;
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed || !created) return;
    destroyed = true;
    // Deleting one end of a veth pair deletes both; the namespace goes with what is left in it.
    spawnSync('ip', ['link', 'del', hostDevice]);
    spawnSync('ip', ['netns', 'del', namespace]);
  };
  try {
    const third = freeSubnet();
    const hostAddress = `10.213.${third}.1`;
    const namespaceAddress = `10.213.${third}.2`;
    run('ip', ['netns', 'add', namespace]);
    created = true;
    process.once('exit', destroy);
    run('ip', ['link', 'add', hostDevice, 'type', 'veth', 'peer', 'name', namespaceDevice]);
    run('ip', ['link', 'set', namespaceDevice, 'netns', namespace]);
    run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostDevice]);
    run('ip', ['link', 'set', hostDevice, 'up']);
    run('ip', ['-n', namespace, 'addr', 'add', `${namespaceAddress}/30`, 'dev', namespaceDevice]);
    run('ip', ['-n', namespace, 'link', 'set', namespaceDevice, 'up']);
    run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
    // Both directions shaped, as a real link is: data one way, acknowledgements the other.
    const hz = kernelHz();
    const burstBytes = bucketBytes(rateMbit, hz ?? ASSUMED_HZ);
    const tbf = ['root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', `${burstBytes}b`, 'latency', '50ms'];
    run('tc', ['qdisc', 'add', 'dev', hostDevice, ...tbf]);
    run('tc', ['-n', namespace, 'qdisc', 'add', 'dev', namespaceDevice, ...tbf]);
    return {
      link: {
        namespace,
        hostDevice,
        hostAddress,
        namespaceAddress,
        rateMbit,
        burstBytes,
        hz,
        counters: () => ({ sent: readCounter(hostDevice, 'tx_bytes'), received: readCounter(hostDevice, 'rx_bytes') }),
        destroy,
      },
    };
  } catch (error) {
    destroy();
    return { skipped: `could not set up the namespace and shaped veth pair: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Command and arguments that run `command` inside the link's namespace. */
export function inNamespace(link: Link, command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: 'ip', args: ['netns', 'exec', link.namespace, command, ...args] };
}
