import { type RepositoryApi } from '@berth/repository';

/** An injected fault: the repository's flush() waits while the gate is shut, like a disk that stopped keeping up. */
export class FlushGate {
  private shut = false;
  private waiters: Array<() => void> = [];
  flushes = 0;

  close(): void {
    this.shut = true;
  }

  open(): void {
    this.shut = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  wrap(repository: RepositoryApi): RepositoryApi {
    const flush = async (): Promise<void> => {
      while (this.shut) await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.flushes += 1;
      await repository.flush();
    };
    return new Proxy(repository, {
      get(target, property, receiver) {
        if (property === 'flush') return flush;
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}
