import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describeError } from '../errors/describe-error';
import { ExitCode } from '../errors/exit-codes';
import { registerDeltaCommands } from './delta.command';

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `berth <argv>` in-process the way the CLI does: commander with exitOverride, errors described in one line. */
async function berth(...argv: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const program = new Command('berth')
    .exitOverride()
    .configureOutput({ writeOut: (text) => (stdout += text), writeErr: (text) => (stderr += text), outputError: (text, write) => write(`berth: ${text.replace(/^error: /, '')}`) });
  registerDeltaCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: ExitCode.Ok, stdout, stderr };
  } catch (error) {
    if (error instanceof CommanderError) return { code: error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage, stdout, stderr };
    const report = describeError(error);
    return { code: report.exitCode, stdout, stderr: stderr + report.text };
  }
}

function expectOneLineFailure(outcome: Outcome, pattern: RegExp): void {
  expect(outcome.code).toBe(ExitCode.Failure);
  expect(outcome.stderr).toMatch(/^berth: [^\n]+\n$/);
  expect(outcome.stderr).toMatch(pattern);
  expect(outcome.stderr).not.toMatch(/unexpected error/);
}

describe('berth delta', () => {
  let dir: string;
  const path = (name: string): string => join(dir, name);
  const basis = randomBytes(1_500_000);
  const newVersion = Buffer.concat([basis.subarray(0, 700_000), randomBytes(4096), basis.subarray(704_096), Buffer.from('appended')]);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-delta-cli-'));
    await writeFile(path('basis'), basis);
    await writeFile(path('new'), newVersion);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('round-trips signature, diff and patch through files, with a small delta', async () => {
    expect(await berth('delta', 'signature', path('basis'), path('sig'))).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await berth('delta', 'diff', path('sig'), path('new'), path('delta'))).code).toBe(0);
    const patched = await berth('delta', 'patch', path('basis'), path('delta'), path('out'), '--stats');
    expect(patched.code).toBe(0);
    expect(patched.stdout).toMatch(/whole-file hash verified/);
    expect((await readFile(path('out'))).equals(newVersion)).toBe(true);
    expect((await readFile(path('delta'))).length).toBeLessThan(4096 + 2 * 1224 + 200);
  });

  it('honours --block-length and reports with --stats', async () => {
    const signed = await berth('delta', 'signature', '--block-length', '4096', '--stats', path('basis'), path('sig'));
    expect(signed.stdout).toMatch(/blocks of 4096/);
    expect((await berth('delta', 'diff', path('sig'), path('new'), path('delta'), '--stats')).stdout).toMatch(/^delta: 1500008 bytes/);
    expect((await berth('delta', 'patch', path('basis'), path('delta'), path('out'))).code).toBe(0);
    expect((await readFile(path('out'))).equals(newVersion)).toBe(true);
  });

  it('fails in one line for a missing file', async () => {
    expectOneLineFailure(await berth('delta', 'signature', path('absent'), path('sig')), /cannot read basis .*absent: no such file or directory/);
    expectOneLineFailure(await berth('delta', 'diff', path('absent'), path('new'), path('delta')), /cannot read signature .*absent: no such file/);
    expectOneLineFailure(await berth('delta', 'patch', path('basis'), path('absent'), path('out')), /cannot read delta .*absent/);
    expectOneLineFailure(await berth('delta', 'signature', path('basis'), join(dir, 'no-dir', 'sig')), /cannot write .*no-dir.*sig: no such file/);
  });

  it('fails in one line for a corrupt or truncated signature', async () => {
    await berth('delta', 'signature', path('basis'), path('sig'));
    const sig = await readFile(path('sig'));
    await writeFile(path('bad-sig'), Buffer.concat([sig.subarray(0, 100), Buffer.from([sig[100]! ^ 0xff]), sig.subarray(101)]));
    expectOneLineFailure(await berth('delta', 'diff', path('bad-sig'), path('new'), path('delta')), /bad-sig is not a valid signature: .*damaged signature/);
    await writeFile(path('short-sig'), sig.subarray(0, sig.length - 1));
    expectOneLineFailure(await berth('delta', 'diff', path('short-sig'), path('new'), path('delta')), /short-sig is not a valid signature: .*needs \d+ bytes/);
    expectOneLineFailure(await berth('delta', 'diff', path('basis'), path('new'), path('delta')), /is not a valid signature: not a Berth signature/);
  });

  it('fails in one line for a corrupt delta or the wrong basis, and leaves no output behind', async () => {
    await berth('delta', 'signature', path('basis'), path('sig'));
    await berth('delta', 'diff', path('sig'), path('new'), path('delta'));
    const encoded = await readFile(path('delta'));
    const damaged = Buffer.from(encoded);
    damaged[encoded.length - 5] = damaged[encoded.length - 5]! ^ 1;
    await writeFile(path('bad-delta'), damaged);
    expectOneLineFailure(await berth('delta', 'patch', path('basis'), path('bad-delta'), path('out')), /cannot patch .*: rebuilt file has BLAKE3 .* \(hash_mismatch\)/);
    await writeFile(path('short-delta'), encoded.subarray(0, encoded.length - 10));
    expectOneLineFailure(await berth('delta', 'patch', path('basis'), path('short-delta'), path('out')), /\(truncated\)$/m);
    expectOneLineFailure(await berth('delta', 'patch', path('new'), path('delta'), path('out')), /\(basis_mismatch\)$/m);
    expect((await readdir(dir)).sort()).toEqual(['bad-delta', 'basis', 'delta', 'new', 'short-delta', 'sig']);
  });

  it('exits 2 on a bad command line', async () => {
    const missing = await berth('delta', 'diff', path('sig'));
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toMatch(/missing required argument/);
    const badLength = await berth('delta', 'signature', '--block-length', 'big', path('basis'), path('sig'));
    expect(badLength.code).toBe(ExitCode.Usage);
    expect(badLength.stderr).toMatch(/expected an integer in 1\.\.1048576/);
  });
});
