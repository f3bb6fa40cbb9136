import { spawn } from 'node:child_process';
import { BERTH_BIN } from '@berth/harness';

describe('berth writing into a pipe whose reader has gone (berth ... | head)', () => {
  it('ends quietly with its own exit code instead of an unhandled EPIPE', async () => {
    const child = spawn(process.execPath, [BERTH_BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away before the CLI has written anything (it takes far longer than this to start).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});
