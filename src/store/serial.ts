/**
 * One at a time, in order of arrival: a SQLite connection holds one transaction, and a write that
 * awaits inside it (a blob's existence, a blob deleted) must not let another request's write in.
 * With nothing in progress a task runs at once, synchronously: a write made inside a caller's
 * own transaction (a benchmark building a store in bulk) then nests in it as a savepoint.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.pending === 0) {
      let result: T | Promise<T>;
      try {
        result = fn();
      } catch (err) {
        return Promise.reject(err);
      }
      return result instanceof Promise ? this.track(result) : Promise.resolve(result);
    }
    return this.track(this.tail.then(fn));
  }

  private track<T>(result: Promise<T>): Promise<T> {
    this.pending++;
    const settled = () => {
      this.pending--;
    };
    this.tail = result.then(settled, settled);
    return result;
  }
}
