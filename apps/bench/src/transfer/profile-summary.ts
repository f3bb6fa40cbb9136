/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time by area (our apps and
 * libs, node internals, packages, GC, idle) and the hottest functions.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface TimeShare {
  readonly name: string;
  readonly ms: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Idle, and the profiler's own start and stop. */
  readonly idleMs: number;
  readonly gcMs: number;
  readonly areas: readonly TimeShare[];
  readonly functions: readonly TimeShare[];
}

/** Where a frame's code lives: "apps/agent", "libs/wire", "node:fs", "pg", "(gc)", ... */
function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(idle)') return '(idle)';
    // The inspector binding the hook calls: the profiler's own start and stop, not the service's work.
    if (functionName === 'dispatch') return '(profiler)';
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(program)') return '(program: V8/native outside JS)';
    return '(native builtins)';
  }
  const own = /\/(apps|libs)\/([^/]+)\/(?:dist|src)\//.exec(url);
  if (own !== null) return `${own[1]}/${own[2]}`;
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  if (url.startsWith('node:')) {
    const inner = url.slice('node:'.length).replace(/^internal\//, '');
    const top = inner.split('/')[0] ?? inner;
    return `node:${top.replace(/_.*$/, '')}`;
  }
  return url;
}

function functionLabel(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const own = /\/((?:apps|libs)\/.+)$/.exec(frame.url);
  const where = own?.[1]?.replace('/dist/', '/') ?? (frame.url.startsWith('node:') ? frame.url : path.basename(frame.url));
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

function top(map: Map<string, number>, count: number): TimeShare[] {
  return [...map.entries()]
    .map(([name, ms]) => ({ name, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count);
}

export async function summarizeProfile(file: string, topFunctions = 12): Promise<ProfileSummary> {
  const profile = JSON.parse(await fs.readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let idleMs = 0;
  let gcMs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const ms = us / 1000;
    const area = areaOf(node.callFrame);
    if (area === '(idle)' || area === '(profiler)') {
      idleMs += ms;
      continue;
    }
    if (area === '(gc)') gcMs += ms;
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const label = functionLabel(node.callFrame);
    functions.set(label, (functions.get(label) ?? 0) + ms);
  }
  return { file, totalMs: (profile.endTime - profile.startTime) / 1000, idleMs, gcMs, areas: top(areas, 10), functions: top(functions, topFunctions) };
}

export function formatProfile(label: string, summary: ProfileSummary): string {
  const busy = summary.totalMs - summary.idleMs;
  const pct = (ms: number): string => `${((100 * ms) / Math.max(busy, 1)).toFixed(1)}%`;
  const lines = [
    `${label}: ${(summary.totalMs / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(2)} s on CPU (GC ${(summary.gcMs / 1000).toFixed(2)} s)  [${path.basename(summary.file)}]`,
    `  by area:      ${summary.areas.map((a) => `${a.name} ${pct(a.ms)}`).join(', ')}`,
    '  hottest functions (self time):',
    ...summary.functions.map((f) => `    ${(f.ms / 1000).toFixed(3).padStart(7)} s  ${pct(f.ms).padStart(6)}  ${f.name}`),
  ];
  return lines.join('\n');
}
