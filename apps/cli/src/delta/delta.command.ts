import {
  decodeDelta,
  decodeSignature,
  delta,
  encodeDelta,
  encodeSignature,
  isDeltaError,
  MAX_BLOCK_LENGTH,
  MAX_STRONG_LENGTH,
  MIN_STRONG_LENGTH,
  patchInto,
  signature,
  type Signature,
  type SignatureOptions,
} from '@berth/delta';
import { type Command, InvalidArgumentError } from 'commander';
import { CliError } from '../errors/cli-error';
import { fileError, readFileChunks, readSignatureFile, requireReadableFile, writeFileAtomically } from './delta-files';

/**
 * `berth delta signature|diff|patch`: the rsync algorithm on local files, in the shape of librsync's rdiff.
 *
 *   berth delta signature BASIS SIG      block checksums of BASIS
 *   berth delta diff SIG NEW DELTA       what turns the file SIG was made from into NEW
 *   berth delta patch BASIS DELTA OUT    rebuild NEW from BASIS and DELTA (verified by its hash)
 *
 * Outputs are written atomically (temporary file, fsync, rename): a failed command leaves no partial output.
 * Failures are one line naming the file and the reason, exit code 1; a bad command line exits 2.
 */
export function registerDeltaCommands(program: Command): void {
  const group = program
    .command('delta')
    .description('rsync-style delta of local files: signature, diff, patch (the format Berth sends between agent and receiver)');

  group
    .command('signature')
    .description('write the block signature of BASIS to SIG')
    .argument('<BASIS>', 'the old version of the file')
    .argument('<SIG>', 'where to write the signature')
    .option('--block-length <bytes>', `block length, 1..${MAX_BLOCK_LENGTH} (default: rsync's rule, about sqrt(size))`, integerIn(1, MAX_BLOCK_LENGTH))
    .option('--strong-length <bytes>', `bytes of strong hash per block, ${MIN_STRONG_LENGTH}..${MAX_STRONG_LENGTH} (default: from the size)`, integerIn(MIN_STRONG_LENGTH, MAX_STRONG_LENGTH))
    .option('--stats', 'print what was done')
    .action(async (basisPath: string, sigPath: string, options: { blockLength?: number; strongLength?: number; stats?: boolean }) => {
      await requireReadableFile(basisPath, 'basis');
      const sigOptions: SignatureOptions = {
        ...(options.blockLength === undefined ? {} : { blockLength: options.blockLength }),
        ...(options.strongLength === undefined ? {} : { strongLength: options.strongLength }),
      };
      const sig = await withReason(`cannot sign ${basisPath}`, signature(basisPath, sigOptions));
      const encoded = encodeSignature(sig);
      await writeFileAtomically(sigPath, (write) => write(encoded));
      if (options.stats === true) {
        say(group, `signature: ${sig.fileLength} bytes in ${sig.blockCount} blocks of ${sig.blockLength}, ${sig.strongLength}-byte strong hashes, ${encoded.length} bytes written`);
      }
    });

  group
    .command('diff')
    .description('write to DELTA what turns the file SIG was made from into NEW')
    .argument('<SIG>', 'signature of the old version (from `berth delta signature`)')
    .argument('<NEW>', 'the new version of the file')
    .argument('<DELTA>', 'where to write the delta')
    .option('--stats', 'print what was done')
    .action(async (sigPath: string, newPath: string, deltaPath: string, options: { stats?: boolean }) => {
      const sig = decodeSignatureFile(sigPath, await readSignatureFile(sigPath));
      await requireReadableFile(newPath, 'new version');
      const stream = delta(sig, newPath);
      const written = await withReason(
        `cannot diff ${newPath}`,
        writeFileAtomically(deltaPath, async (write) => {
          for await (const frame of encodeDelta(stream)) await write(frame);
        }),
      );
      if (options.stats === true) {
        const { newLength, literalBytes, copiedBytes } = stream.stats;
        say(group, `delta: ${newLength} bytes, ${copiedBytes} copied from the basis, ${literalBytes} literal, ${written} bytes written`);
      }
    });

  group
    .command('patch')
    .description('rebuild the new version from BASIS and DELTA into OUT, checking its whole-file hash (BLAKE3 or SHA-256)')
    .argument('<BASIS>', 'the old version the signature was made from')
    .argument('<DELTA>', 'the delta (from `berth delta diff`)')
    .argument('<OUT>', 'where to write the new version')
    .option('--stats', 'print what was done')
    .action(async (basisPath: string, deltaPath: string, outPath: string, options: { stats?: boolean }) => {
      await requireReadableFile(basisPath, 'basis');
      await requireReadableFile(deltaPath, 'delta');
      const written = await withReason(
        `cannot patch ${basisPath} with ${deltaPath}`,
        writeFileAtomically(outPath, async (write) => {
          await patchInto(basisPath, decodeDelta(readFileChunks(deltaPath)), write);
        }),
      );
      if (options.stats === true) say(group, `patch: ${written} bytes written to ${outPath}, whole-file hash verified`);
    });
}

function decodeSignatureFile(path: string, bytes: Buffer): Signature {
  try {
    return decodeSignature(bytes);
  } catch (error) {
    if (isDeltaError(error)) throw new CliError(`${path} is not a valid signature: ${error.message}`);
    throw error;
  }
}

/** Turns library errors into one line that says which operation failed and why; file errors name the file. */
async function withReason<T>(context: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (isDeltaError(error)) throw new CliError(`${context}: ${error.message} (${error.code})`);
    const path = (error as NodeJS.ErrnoException | undefined)?.path;
    if (path !== undefined) throw fileError(`${context}: cannot access`, path, error);
    throw error;
  }
}

function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return parsed;
  };
}

function say(command: Command, line: string): void {
  const output = command.configureOutput();
  if (output.writeOut !== undefined) output.writeOut(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}
