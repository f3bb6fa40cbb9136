import { promises as fs } from 'node:fs';

/** A service's log file (stdout and stderr together), read back for readiness checks and failure reports. */
export class LogFile {
  constructor(readonly path: string) {}

  async text(): Promise<string> {
    try {
      return await fs.readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    }
  }

  /** The last `count` lines, for error messages. */
  async tail(count = 20): Promise<string> {
    const lines = (await this.text()).trimEnd().split('\n');
    return lines.slice(-count).join('\n');
  }
}
