/**
 * The agent's long-lived credential, kept in `<stateDir>/credential.json` with mode 0600. Written to a
 * temporary file and renamed, so a crash never leaves half a credential behind.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, AgentErrorCode } from '../errors/agent-error';

export interface StoredCredential {
  readonly controllerUrl: string;
  readonly hostId: string;
  readonly hostName: string;
  readonly credential: string;
  readonly enrolledAt: string;
}

export const CREDENTIAL_FILE = 'credential.json';

export class CredentialStore {
  constructor(readonly stateDir: string) {}

  get file(): string {
    return join(this.stateDir, CREDENTIAL_FILE);
  }

  async load(): Promise<StoredCredential | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return parseCredential(text, this.file);
  }

  async save(credential: StoredCredential): Promise<void> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(credential, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await chmod(temp, 0o600);
      await rename(temp, this.file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }
}

function parseCredential(text: string, file: string): StoredCredential {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AgentError(AgentErrorCode.Enrollment, `${file} is not valid JSON; remove it and enroll again`);
  }
  const record = value as Record<string, unknown>;
  for (const field of ['controllerUrl', 'hostId', 'hostName', 'credential', 'enrolledAt']) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new AgentError(AgentErrorCode.Enrollment, `${file} lacks "${field}"; remove it and enroll again`);
    }
  }
  return record as unknown as StoredCredential;
}
