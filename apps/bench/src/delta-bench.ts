/**
 * `npm run bench:delta`: Berth's delta engine against stock rsync on the same files, in one run.
 *
 *   cases   256 MiB identical | 256 MiB with 1% changed in scattered 4 KiB pieces | 256 MiB with no block in
 *           common | 64 MiB with one 4 KiB overwrite in the middle
 *   ours    signature, delta (1 MiB frames written to a delta file), patch (reading it) into an output file; MB/s = 10^6 bytes/s; the
 *           library's default whole-file hash (BLAKE3), and for the 1% case also SHA-256; for the identical and 64 MiB
 *           cases also what an agent sends: the content hash, without (protocol 7) and with (8) the basis's chunk ids
 *   rsync   local transfer onto the basis, forced to delta mode (--no-whole-file --ignore-times --stats)
 *
 * Options: --rounds N (default 3: each case runs N times, ours and rsync back to back, which goes first
 * alternating; every timing is reported as its median over the rounds), --json (one JSON object on the last
 * line), --big (adds the 4 GiB sparse file memory check, run in a child process; about a minute), --only-big. Files live in os.tmpdir() and are removed at the end.
 * Figures are wall-clock on whatever else the machine is running: read them with the CPU seconds beside them.
 */
import { blake3IsNative, DEFAULT_WHOLE_FILE_HASH } from '@berth/delta';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIG_FILE_BYTES, type BigFileResult, prepareBigFiles, runBigFile } from './delta/big-file';
import { contentChunkIds, MiB, scatteredOffsets, writeEditedCopy, writeRandomFile } from './delta/inputs';
import { runOurs } from './delta/ours';
import { checkTargets, formatTable, summarize, type CaseResult, type CaseSummary } from './delta/report';
import { ensureRsync, rsyncVersion, runRsync } from './delta/rsync';

const PIECE = 4096;
const MEMORY_LIMIT_MIB = 128;

interface BenchCase {
  readonly name: string;
  readonly description: string;
  readonly basis: string;
  readonly newVersion: string;
  readonly fileBytes: number;
  /** Also run ours with SHA-256 as the whole-file hash, against the same rsync run. */
  readonly alsoSha256?: boolean;
  /** Also run ours as agents do: the content hash, without and with the basis's chunk ids, against the same rsync run. */
  readonly alsoAgent?: boolean;
}

const argv = process.argv.slice(2);
const args = new Set(argv);
const json = args.has('--json');
const DEFAULT_ROUNDS = 3;

/** `--rounds N`, a whole number from 1 to 20. */
function roundsOption(): number {
  const at = argv.indexOf('--rounds');
  if (at < 0) return DEFAULT_ROUNDS;
  const raw = argv[at + 1] ?? '';
  const rounds = Number(raw);
  if (!/^\d+$/.test(raw) || rounds < 1 || rounds > 20) throw new Error(`--rounds takes a whole number from 1 to 20, got "${raw}"`);
  return rounds;
}
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function prepareCases(dir: string): Promise<BenchCase[]> {
  const size = 256 * MiB;
  const basis = join(dir, 'basis-256');
  log('writing inputs (256 MiB basis, its variants, 64 MiB basis)...');
  await writeRandomFile(basis, size);
  const onePercent = join(dir, 'new-1pct');
  const pieces = Math.round((0.01 * size) / PIECE);
  await writeEditedCopy(basis, onePercent, scatteredOffsets(size, PIECE, pieces, 3), PIECE);
  const unrelated = join(dir, 'new-unrelated');
  await writeRandomFile(unrelated, size);
  const identical = join(dir, 'new-identical');
  await writeEditedCopy(basis, identical, [], PIECE);
  const basis64 = join(dir, 'basis-64');
  await writeRandomFile(basis64, 64 * MiB);
  const middle = join(dir, 'new-64-middle');
  await writeEditedCopy(basis64, middle, [32 * MiB], PIECE);
  return [
    { name: '256MiB-identical', description: '256 MiB, no edits', basis, newVersion: identical, fileBytes: size, alsoAgent: true },
    { name: '256MiB-1pct-scattered', description: `256 MiB, ${pieces} scattered 4 KiB pieces overwritten (1%)`, basis, newVersion: onePercent, fileBytes: size, alsoSha256: true },
    { name: '256MiB-no-common', description: '256 MiB, unrelated content', basis, newVersion: unrelated, fileBytes: size },
    { name: '64MiB-4KiB-middle', description: '64 MiB, one 4 KiB overwrite in the middle', basis: basis64, newVersion: middle, fileBytes: 64 * MiB, alsoAgent: true },
  ];
}

async function runCases(dir: string, rounds: number): Promise<CaseSummary[]> {
  ensureRsync(log);
  log(`comparing with ${rsyncVersion()}; ${rounds} round${rounds === 1 ? '' : 's'} per case`);
  const cases = await prepareCases(dir);
  const summaries: CaseSummary[] = [];
  const out = join(dir, 'ours-out');
  for (const c of cases) {
    const results: CaseResult['rounds'][number][] = [];
    const sha256: CaseResult['rounds'][number][] = [];
    const agent7: CaseResult['rounds'][number][] = [];
    const agent8: CaseResult['rounds'][number][] = [];
    // Known to the receiver from the repository: not timed.
    const basisChunks = c.alsoAgent === true ? await contentChunkIds(c.basis) : undefined;
    for (let round = 0; round < rounds; round++) {
      log(`${c.name}: round ${round + 1} of ${rounds}...`);
      // Which system goes first alternates, so neither always runs on a page cache the other just warmed.
      const oursThenRsync = round % 2 === 0;
      const rsyncFirst = oursThenRsync ? undefined : await runRsync(c.basis, c.newVersion, dir);
      const ours = await runOurs(c.basis, c.newVersion, out);
      await rm(out, { force: true });
      const rsync = rsyncFirst ?? (await runRsync(c.basis, c.newVersion, dir));
      results.push({ ours, rsync });
      if (c.alsoSha256 === true) {
        sha256.push({ ours: await runOurs(c.basis, c.newVersion, out, 'sha256'), rsync });
        await rm(out, { force: true });
      }
      if (basisChunks !== undefined) {
        agent7.push({ ours: await runOurs(c.basis, c.newVersion, out, 'content'), rsync });
        await rm(out, { force: true });
        agent8.push({ ours: await runOurs(c.basis, c.newVersion, out, 'content', basisChunks), rsync });
        await rm(out, { force: true });
      }
    }
    const result: CaseResult = { name: c.name, description: c.description, fileBytes: c.fileBytes, rounds: results };
    summaries.push(summarize(result));
    if (sha256.length > 0) summaries.push(summarize({ ...result, name: `${c.name}-sha256`, description: `${c.description}, SHA-256 whole-file hash`, rounds: sha256 }));
    if (agent7.length > 0) summaries.push(summarize({ ...result, name: `${c.name}-content`, description: `${c.description}, content hash (a protocol 7 agent)`, rounds: agent7 }));
    if (agent8.length > 0) summaries.push(summarize({ ...result, name: `${c.name}-ids`, description: `${c.description}, content hash and the basis's chunk ids (a protocol 8 agent)`, rounds: agent8 }));
  }
  return summaries;
}

/** Runs the 4 GiB check in a child process so that its peak RSS is the pipeline's alone. */
async function runBigFileChild(dir: string): Promise<BigFileResult> {
  const { basisPath, newPath } = await prepareBigFiles(dir);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--big-child', basisPath, newPath, join(dir, 'big-delta')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = output.trim().split('\n').pop() ?? '';
      if (code === 0) resolve(JSON.parse(last) as BigFileResult);
      else reject(new Error(`4 GiB check failed (exit ${code}): ${last}`));
    });
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === '--big-child') {
    const [basisPath, newPath, deltaPath] = process.argv.slice(3) as [string, string, string];
    process.stdout.write(`${JSON.stringify(await runBigFile(basisPath, newPath, deltaPath))}\n`);
    return;
  }
  const rounds = roundsOption();
  const loadAtStart = loadavg();
  const wholeFileHash = `${DEFAULT_WHOLE_FILE_HASH}${DEFAULT_WHOLE_FILE_HASH === 'blake3' ? ((await blake3IsNative()) ? ' (native)' : ' (WebAssembly fallback)') : ''}`;
  const dir = await mkdtemp(join(tmpdir(), 'berth-delta-bench-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const cases = args.has('--only-big') ? [] : await runCases(dir, rounds);
    const targets = cases.length > 0 ? checkTargets(cases) : [];
    let big: BigFileResult | undefined;
    if (args.has('--big') || args.has('--only-big')) {
      log(`4 GiB sparse file: signature, delta, patch in a child process (peak RSS limit ${MEMORY_LIMIT_MIB} MiB)...`);
      big = await runBigFileChild(dir);
      targets.push({ what: `peak RSS, ${BIG_FILE_BYTES / MiB / 1024} GiB signed, diffed, patched`, goal: `< ${MEMORY_LIMIT_MIB} MiB`, measured: `${big.peakRssMiB.toFixed(0)} MiB`, met: big.peakRssMiB < MEMORY_LIMIT_MIB });
    }
    process.stdout.write(`${formatTable(cases, targets)}\n`);
    if (big !== undefined) {
      process.stdout.write(
        `4 GiB sparse: signature ${big.signatureSeconds.toFixed(1)} s, delta ${big.deltaSeconds.toFixed(1)} s (${big.deltaBytes} bytes, ${big.literalBytes} literal), patch ${big.patchSeconds.toFixed(1)} s, peak RSS ${big.peakRssMiB.toFixed(0)} MiB\n`,
      );
    }
    process.stdout.write(`(medians of ${rounds} round${rounds === 1 ? '' : 's'} per case; MB/s = 10^6 bytes/s, wall-clock; "per cpu-s" = bytes per CPU second of all threads; \`ours s\` = signature + delta + patch, one after the other; whole-file hash ${wholeFileHash} unless the case says sha256; "rsync cpu s" = all of rsync's processes; load average ${loadAtStart[0]?.toFixed(1)} at the start, ${loadavg()[0]?.toFixed(1)} at the end, ${cpus().length} cores)\n`);
    if (json) process.stdout.write(`${JSON.stringify({ rsync: cases.length > 0 ? rsyncVersion() : null, rounds, wholeFileHash, loadAverage: { start: loadAtStart, end: loadavg() }, cores: cpus().length, cases, bigFile: big ?? null, targets })}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`delta bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
