import { Sha256Stream } from './sha256-stream';
import { prepareKernelMemory } from './weak-kernel';

/**
 * Sets up, ahead of any transfer, what the first large file's delta or hash would otherwise set up while it runs:
 * the SHA-256 helper thread and its ring, and one weak-checksum kernel memory, their pages faulted in (a fresh
 * page costs a fault when first written, about 11 us each on some virtual machines: 50 ms for the two). For a
 * long-running process (the agent) at start; it holds about 16 MiB from then on.
 */
export function prepareDeltaEngine(): void {
  Sha256Stream.prepare();
  prepareKernelMemory();
}
