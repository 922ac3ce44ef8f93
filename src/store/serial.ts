/**
 * One at a time, in order of arrival: a SQLite connection holds one transaction, and a write that
 * awaits inside it (a blob's existence, a blob deleted) must not let another request's write in.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
