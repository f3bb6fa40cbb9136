/** A promise with its settle functions, for answers that arrive as messages. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
  readonly settled: boolean;
}

export function deferred<T>(): Deferred<T> {
  let resolveFn!: (value: T) => void;
  let rejectFn!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    resolveFn = resolve;
    rejectFn = reject;
  });
  // A rejection nobody awaits (the session failed before anyone asked) must not crash the process.
  promise.catch(() => undefined);
  let settled = false;
  return {
    promise,
    get settled() {
      return settled;
    },
    resolve(value: T) {
      if (settled) return;
      settled = true;
      resolveFn(value);
    },
    reject(error: Error) {
      if (settled) return;
      settled = true;
      rejectFn(error);
    },
  };
}
