/**
 * The restore's target directory. It must be new or empty; while a restore writes into it, a marker
 * file names the run, so a retry of the same run may clear what the failed attempt left and start over,
 * while any other non-empty directory is refused.
 */
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { AgentError, AgentErrorCode } from '../errors/agent-error';

export function markerName(runId: string): string {
  return `.berth-restore-${runId}.inprogress`;
}

/** Creates or checks the target; returns its normalised absolute path. */
export async function prepareTarget(targetDir: string, runId: string): Promise<string> {
  if (!isAbsolute(targetDir)) throw targetError(`restore target "${targetDir}" is not an absolute path`);
  const target = normalize(targetDir).replace(/(.)\/+$/, '$1');
  const marker = markerName(runId);
  let stats;
  try {
    stats = await lstat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(target, { recursive: true, mode: 0o700 });
    await writeFile(join(target, marker), `${runId}\n`, { flag: 'wx', mode: 0o600 });
    return target;
  }
  if (!stats.isDirectory()) throw targetError(`restore target "${target}" exists and is not a directory`);
  const names = await readdir(target, { encoding: 'buffer' });
  if (names.length > 0) {
    const markerBytes = Buffer.from(marker);
    const ours = names.some((name) => name.equals(markerBytes)) && (await readFile(join(target, marker), 'utf8')).trim() === runId;
    if (!ours) throw targetError(`restore target "${target}" exists and is not empty; choose a new or empty directory`);
    // A failed attempt of this same run left this behind: clear it (rm never follows symlinks).
    const targetBytes = Buffer.from(`${target}/`);
    for (const name of names) {
      if (!name.equals(markerBytes)) await rm(Buffer.concat([targetBytes, name]), { recursive: true, force: true });
    }
    return target;
  }
  await writeFile(join(target, marker), `${runId}\n`, { flag: 'wx', mode: 0o600 });
  return target;
}

export async function removeMarker(target: string, runId: string): Promise<void> {
  await rm(join(target, markerName(runId)), { force: true });
}

function targetError(message: string): AgentError {
  return new AgentError(AgentErrorCode.RestoreTarget, message);
}
