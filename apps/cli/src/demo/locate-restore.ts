import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Where a restore of the backed-up directory `sourcePath` landed inside `targetDir`: snapshots hold absolute
 * client paths, and a restore recreates them under the target (target + source path).
 */
export async function locateRestoredTree(targetDir: string, sourcePath: string): Promise<string> {
  const candidate = path.join(targetDir, sourcePath);
  const stat = await fs.stat(candidate).catch(() => null);
  if (stat?.isDirectory() === true) return candidate;
  const found = (await fs.readdir(targetDir).catch(() => [])).slice(0, 5).join(', ');
  throw new Error(`the restore did not create ${candidate} (top of ${targetDir}: ${found || 'empty'})`);
}
