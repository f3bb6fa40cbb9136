import { type HostResponse, type RunResponse } from '@berth/contracts';

/** API objects as the controller sends them, for formatter specs. */
export function sampleRun(overrides: Partial<RunResponse> = {}, counters: Partial<RunResponse['counters']> = {}): RunResponse {
  return {
    id: '0b7c54b4-6f7e-4a53-9a57-1f6f0d1c2e3f',
    hostId: '5d1c1f52-0a43-4c38-9d0a-3c7a2c9d8e11',
    hostName: 'web-1',
    kind: 'backup',
    status: 'running',
    attempts: 1,
    createdAt: '2026-11-25T10:00:00.000Z',
    startedAt: '2026-11-25T10:00:01.000Z',
    finishedAt: null,
    counters: { filesTotal: 2000, filesDone: 500, bytesTotal: 4 * 1024 * 1024, bytesDone: 1024 * 1024, bytesSent: 900_000, bytesStored: 800_000, filesSkipped: 0, fileErrors: 0, ...counters },
    error: null,
    checkpoint: null,
    cancelRequestedAt: null,
    snapshotId: null,
    restore: null,
    fileErrors: [],
    attemptHistory: [{ number: 1, startedAt: '2026-11-25T10:00:01.000Z', endedAt: null, outcome: null, endReason: null, resumedFrom: null, bytesSent: 900_000, bytesResent: null, phases: [] }],
    ...overrides,
  };
}

export function sampleHost(overrides: Partial<HostResponse> = {}): HostResponse {
  return {
    id: '5d1c1f52-0a43-4c38-9d0a-3c7a2c9d8e11',
    name: 'web-1',
    paths: ['/srv/www', '/etc'],
    excludes: ['*.tmp'],
    status: 'online',
    enrolled: true,
    lastSeenAt: null,
    createdAt: '2026-11-25T10:00:00.000Z',
    group: null,
    paused: false,
    schedule: null,
    effective: { paths: ['/srv/www', '/etc'], excludes: ['*.tmp'], schedule: null, scheduleFrom: null, paused: false },
    ...overrides,
  };
}
