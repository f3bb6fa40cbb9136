import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RecordingController } from './recording-controller';
import { ScriptedReceiver } from './scripted-receiver';

jest.setTimeout(60_000);

const NOBODY = 65534;
const REPO_ROOT = join(__dirname, '..', '..', '..');

describe('a backup run by an unprivileged user', () => {
  let base: string;
  let controller: RecordingController;
  let receiver: ScriptedReceiver;

  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'berth-nobody-'));
    await chmod(base, 0o755);
    controller = await new RecordingController().start();
    receiver = await new ScriptedReceiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
    await controller.stop();
    await rm(base, { recursive: true, force: true });
  });

  it('records unreadable files and directories as file errors, backs up the rest, and ends partial', async () => {
    const src = join(base, 'src');
    await mkdir(join(src, 'locked-dir/inner'), { recursive: true });
    await mkdir(join(src, 'open'));
    await writeFile(join(src, 'open/readable'), 'readable');
    await writeFile(join(src, 'secret'), 'secret');
    await writeFile(join(src, 'locked-dir/inner/x'), 'x');
    await chmod(join(src, 'secret'), 0o000);
    await chmod(join(src, 'locked-dir'), 0o000);
    for (const dir of [src, join(src, 'open')]) await chmod(dir, 0o755);
    await chmod(join(src, 'open/readable'), 0o644);

    // setpriv: a real process of user "nobody", for whom mode 000 means EACCES (root would read anyway).
    const { stdout } = await promisify(execFile)(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-r', '@swc-node/register', join(__dirname, 'fixtures', 'backup-as-user.ts')],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          CONTROLLER_URL: controller.url,
          CREDENTIAL: controller.credential,
          HOST_ID: controller.hostId,
          RECEIVER_PORT: String(receiver.port),
          RUN_ID: 'run-nobody',
          BACKUP_PATH: src,
          SWC_NODE_PROJECT: join(REPO_ROOT, 'tsconfig.json'),
        },
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { uid: number; status: string; fileErrors: Array<{ path: string; message: string }> };
    expect(result.uid).toBe(NOBODY);
    expect(result.status).toBe('partial');
    const errors = new Map(result.fileErrors.map((error) => [error.path, error.message]));
    expect([...errors.keys()].sort()).toEqual([join(src, 'locked-dir'), join(src, 'secret')]);
    expect(errors.get(join(src, 'locked-dir'))).toMatch(/^cannot read directory: EACCES/);
    expect(errors.get(join(src, 'secret'))).toMatch(/^cannot read: EACCES/);
    expect(receiver.files.get(join(src, 'open/readable'))?.content.toString()).toBe('readable');
    expect(receiver.files.get(join(src, 'secret'))?.error).toMatch(/EACCES/);
    const top = receiver.chunks.find((chunk) => chunk.dir.toString() === src);
    expect(top?.entries.map((entry) => entry.name.toString())).toEqual(['open', 'secret']);
    expect(controller.finishes('run-nobody')[0]).toMatchObject({ status: 'partial', counters: { fileErrors: 2 } });
  });
});
