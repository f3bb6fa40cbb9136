import fs from 'node:fs';
import path from 'node:path';

/** The Berth checkout this module runs from (sources or dist): the nearest directory holding nx.json. */
export function repositoryRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'nx.json')) && fs.existsSync(path.join(dir, 'prisma', 'schema.prisma'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No Berth checkout (nx.json and prisma/schema.prisma) above ${from}`);
  }
}

/** Git-ignored directory for local service state: `<repository>/.berth`. */
export function defaultStateDir(): string {
  return path.join(repositoryRoot(), '.berth');
}
