import { Injectable } from '@nestjs/common';
import { type HostStatus, type RunStatus } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

/** One host with its newest snapshot, the run that published it, its latest backup run and its snapshot totals. */
export interface FleetHostRow {
  hostId: string;
  hostName: string;
  hostStatus: HostStatus;
  lastSeenAt: Date | null;
  snapshotId: string | null;
  snapshotRunId: string | null;
  publishedAt: Date | null;
  files: bigint | null;
  bytes: bigint | null;
  bytesSent: bigint | null;
  bytesStored: bigint | null;
  successStatus: RunStatus | null;
  successStartedAt: Date | null;
  successFinishedAt: Date | null;
  lastRunId: string | null;
  lastRunStatus: RunStatus | null;
  lastRunCreatedAt: Date | null;
  lastRunFinishedAt: Date | null;
  lastRunError: string | null;
  snapshotCount: bigint;
  bytesStoredTotal: bigint;
}

export interface HistoryRow {
  id: string;
  status: RunStatus;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  filesDone: bigint;
  bytesDone: bigint;
  bytesSent: bigint;
  bytesStored: bigint;
  fileErrorCount: bigint;
  snapshot: { id: string } | null;
}

export interface RunStatusCount {
  kind: string;
  status: RunStatus;
  runs: number;
  files: bigint;
  bytesSent: bigint;
  bytesStored: bigint;
}

@Injectable()
export class ReportRepository {
  constructor(private readonly database: DatabaseRepository) {}

  /**
   * The whole fleet in one statement. Each host's newest snapshot and latest backup run come from LATERAL
   * subqueries with LIMIT 1, which walk the (host_id, published_at) and (host_id, created_at) indexes backwards:
   * one index probe per host instead of a query per host, and no scan of all runs.
   */
  fleet(): Promise<FleetHostRow[]> {
    return this.database.client.$queryRaw<FleetHostRow[]>`
      SELECT h.id AS "hostId", h.name AS "hostName", h.status::text AS "hostStatus", h.last_seen_at AS "lastSeenAt",
             s.id AS "snapshotId", s.run_id AS "snapshotRunId", s.published_at AS "publishedAt",
             s.files, s.bytes, s.bytes_sent AS "bytesSent", s.bytes_stored AS "bytesStored",
             sr.status::text AS "successStatus", sr.started_at AS "successStartedAt", sr.finished_at AS "successFinishedAt",
             lr.id AS "lastRunId", lr.status::text AS "lastRunStatus", lr.created_at AS "lastRunCreatedAt",
             lr.finished_at AS "lastRunFinishedAt", lr.error AS "lastRunError",
             COALESCE(agg.snapshot_count, 0)::bigint AS "snapshotCount",
             COALESCE(agg.bytes_stored_total, 0)::bigint AS "bytesStoredTotal"
      FROM hosts h
      LEFT JOIN LATERAL (
        SELECT id, run_id, published_at, files, bytes, bytes_sent, bytes_stored FROM snapshots
        WHERE host_id = h.id ORDER BY published_at DESC, id DESC LIMIT 1
      ) s ON true
      LEFT JOIN runs sr ON sr.id = s.run_id
      LEFT JOIN LATERAL (
        SELECT id, status, created_at, finished_at, error FROM runs
        WHERE host_id = h.id AND kind = 'backup' ORDER BY created_at DESC, id DESC LIMIT 1
      ) lr ON true
      LEFT JOIN (
        SELECT host_id, count(*) AS snapshot_count, sum(bytes_stored) AS bytes_stored_total FROM snapshots GROUP BY host_id
      ) agg ON agg.host_id = h.id
      ORDER BY h.name`;
  }

  /** A host's latest backup runs, newest first. */
  history(hostId: string, limit: number): Promise<HistoryRow[]> {
    return this.database.client.run.findMany({
      where: { hostId, kind: 'backup' },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      select: {
        id: true,
        status: true,
        attempts: true,
        createdAt: true,
        startedAt: true,
        finishedAt: true,
        filesDone: true,
        bytesDone: true,
        bytesSent: true,
        bytesStored: true,
        fileErrorCount: true,
        snapshot: { select: { id: true } },
      },
    });
  }

  /** Runs counted by kind and status, with their summed counters: one grouped query. */
  async runsByStatus(): Promise<RunStatusCount[]> {
    const groups = await this.database.client.run.groupBy({
      by: ['kind', 'status'],
      _count: { _all: true },
      _sum: { filesDone: true, bytesSent: true, bytesStored: true },
    });
    return groups.map((group) => ({
      kind: group.kind,
      status: group.status,
      runs: group._count._all,
      files: group._sum.filesDone ?? 0n,
      bytesSent: group._sum.bytesSent ?? 0n,
      bytesStored: group._sum.bytesStored ?? 0n,
    }));
  }
}
