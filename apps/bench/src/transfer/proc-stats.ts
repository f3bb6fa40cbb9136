/**
 * CPU seconds, page faults and I/O counters of processes from /proc: what each side spent, read beside the wall
 * clock on a machine other people share. Minor page faults are mostly memory touched for the first time (fresh
 * buffers), also pages of files already cached and copy-on-write after a fork: on the VMs measured one costs 3-40 µs,
 * and unlike time the count hardly moves with other people's load.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcSample {
  /** utime + stime of all the process' threads, seconds. */
  readonly cpu: number;
  /** cutime + cstime: CPU of children the process has reaped (an rsync daemon's forks). */
  readonly childCpu: number;
  /** minflt: pages first touched by the process (all threads); cminflt: by children it has reaped. */
  readonly minorFaults: number;
  readonly childMinorFaults: number;
  /** Bytes the process asked to read and write (files and sockets), and bytes that reached the block layer. */
  readonly rchar: number;
  readonly wchar: number;
  readonly syscr: number;
  readonly syscw: number;
  readonly writeBytes: number;
}

let ticks: number | null = null;

function clockTicks(): number {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

const ZERO: ProcSample = { cpu: 0, childCpu: 0, minorFaults: 0, childMinorFaults: 0, rchar: 0, wchar: 0, syscr: 0, syscw: 0, writeBytes: 0 };

/** A sample of `pid` ("self" for this process); zeros when it is gone. */
export function sampleProcess(pid: number | 'self'): ProcSample {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const field = (n: number): number => Number(fields[n - 3] ?? 0);
    const hz = clockTicks();
    const io = readIo(pid);
    return { cpu: (field(14) + field(15)) / hz, childCpu: (field(16) + field(17)) / hz, minorFaults: field(10), childMinorFaults: field(11), ...io };
  } catch {
    return ZERO;
  }
}

function readIo(pid: number | 'self'): Omit<ProcSample, 'cpu' | 'childCpu' | 'minorFaults' | 'childMinorFaults'> {
  try {
    const values = new Map<string, number>();
    for (const line of readFileSync(`/proc/${pid}/io`, 'utf8').split('\n')) {
      const [key, value] = line.split(':');
      if (key !== undefined && value !== undefined) values.set(key.trim(), Number(value.trim()));
    }
    const get = (key: string): number => values.get(key) ?? 0;
    return { rchar: get('rchar'), wchar: get('wchar'), syscr: get('syscr'), syscw: get('syscw'), writeBytes: get('write_bytes') };
  } catch {
    return { rchar: 0, wchar: 0, syscr: 0, syscw: 0, writeBytes: 0 };
  }
}

export function diffSamples(after: ProcSample, before: ProcSample): ProcSample {
  return {
    cpu: after.cpu - before.cpu,
    childCpu: after.childCpu - before.childCpu,
    minorFaults: after.minorFaults - before.minorFaults,
    childMinorFaults: after.childMinorFaults - before.childMinorFaults,
    rchar: after.rchar - before.rchar,
    wchar: after.wchar - before.wchar,
    syscr: after.syscr - before.syscr,
    syscw: after.syscw - before.syscw,
    writeBytes: after.writeBytes - before.writeBytes,
  };
}

/** The machine's 1-minute load average (other people's work included). */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/** Direct children of `pid` (e.g. the process `ip netns exec` became). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** Busy CPU seconds of the whole machine so far (all CPUs: user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/**
 * CPUs kept busy by everything else while a system ran: the machine's busy CPU seconds over the interval,
 * minus the system's own, per second of wall clock (PostgreSQL and Redis count as "else").
 */
export function otherLoad(busyBefore: number, busyAfter: number, ownCpuSeconds: number, wallSeconds: number): number {
  return Math.max(0, (busyAfter - busyBefore - ownCpuSeconds) / Math.max(wallSeconds, 1e-3));
}
