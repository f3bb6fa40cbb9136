import fs from 'node:fs';
import path from 'node:path';

/** What `berth login` keeps per controller: the token and who it is, for `berth whoami` without a call. */
export interface StoredLogin {
  readonly token: string;
  readonly name: string;
  readonly role: string;
}

interface CredentialsFile {
  /** The controller of the last login: used when neither --controller nor BERTH_CONTROLLER_URL names one. */
  default: string | null;
  controllers: Record<string, StoredLogin>;
}

const EMPTY: CredentialsFile = { default: null, controllers: {} };

/**
 * The CLI's API tokens, one per controller URL, in a JSON file only its owner may read (0600 in a 0700
 * directory), written atomically so a crash never leaves half a file.
 */
export class CredentialsStore {
  constructor(readonly file: string) {}

  read(): CredentialsFile {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...EMPTY, controllers: {} };
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as Partial<CredentialsFile>;
      return { default: typeof parsed.default === 'string' ? parsed.default : null, controllers: typeof parsed.controllers === 'object' && parsed.controllers !== null ? parsed.controllers : {} };
    } catch {
      throw new Error(`${this.file} is not valid JSON; remove it and run \`berth login\` again`);
    }
  }

  loginFor(controllerUrl: string): StoredLogin | null {
    return this.read().controllers[controllerUrl] ?? null;
  }

  save(controllerUrl: string, login: StoredLogin): void {
    const file = this.read();
    file.controllers[controllerUrl] = login;
    file.default = controllerUrl;
    this.write(file);
  }

  /** True when there was a login to forget. */
  remove(controllerUrl: string): boolean {
    const file = this.read();
    if (file.controllers[controllerUrl] === undefined) return false;
    delete file.controllers[controllerUrl];
    if (file.default === controllerUrl) file.default = Object.keys(file.controllers)[0] ?? null;
    this.write(file);
    return true;
  }

  private write(file: CredentialsFile): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(temporary, this.file);
  }
}
