/** Validates job payloads before anything runs: a bad payload is a bad job, never retried. */
import { JobName, type BackupJobData, type RestoreJobData } from '@berth/contracts';
import { AgentError, AgentErrorCode } from '../errors/agent-error';

export function parseBackupJob(data: unknown, hostId: string): BackupJobData {
  const record = asRecord(data);
  if (record['kind'] !== JobName.Backup) throw bad(`job kind is ${JSON.stringify(record['kind'])}, expected "${JobName.Backup}"`);
  const runId = requireString(record, 'runId');
  requireOwnHost(record, hostId);
  const paths = requireStringArray(record, 'paths');
  if (paths.length === 0) throw bad('backup job has no paths');
  for (const path of paths) {
    if (!path.startsWith('/') || path.includes('\0')) throw bad(`backup path ${JSON.stringify(path)} is not an absolute path`);
  }
  return { kind: JobName.Backup, runId, hostId, paths, excludes: requireStringArray(record, 'excludes') };
}

export function parseRestoreJob(data: unknown, hostId: string): RestoreJobData {
  const record = asRecord(data);
  if (record['kind'] !== JobName.Restore) throw bad(`job kind is ${JSON.stringify(record['kind'])}, expected "${JobName.Restore}"`);
  const runId = requireString(record, 'runId');
  requireOwnHost(record, hostId);
  const snapshotId = requireString(record, 'snapshotId');
  const targetDir = requireString(record, 'targetDir');
  if (!targetDir.startsWith('/') || targetDir.includes('\0')) throw bad(`restore targetDir ${JSON.stringify(targetDir)} is not an absolute path`);
  const subPath = record['subPath'];
  if (subPath !== null && subPath !== undefined && (typeof subPath !== 'string' || !subPath.startsWith('/') || subPath.includes('\0'))) {
    throw bad(`restore subPath ${JSON.stringify(subPath)} is not an absolute path`);
  }
  return { kind: JobName.Restore, runId, hostId, snapshotId, targetDir, subPath: typeof subPath === 'string' ? subPath : null };
}

function asRecord(data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw bad('job data is not an object');
  return data as Record<string, unknown>;
}

function requireString(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (typeof value !== 'string' || value === '') throw bad(`job data field "${field}" must be a non-empty string`);
  return value;
}

function requireStringArray(record: Record<string, unknown>, field: string): string[] {
  const value = record[field];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    throw bad(`job data field "${field}" must be an array of strings`);
  }
  return value;
}

function requireOwnHost(record: Record<string, unknown>, hostId: string): void {
  const jobHost = requireString(record, 'hostId');
  if (jobHost !== hostId) throw bad(`job is for host ${jobHost}, this agent is host ${hostId}`);
}

function bad(message: string): AgentError {
  return new AgentError(AgentErrorCode.BadJob, message);
}
