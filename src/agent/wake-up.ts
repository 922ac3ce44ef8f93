/** A loop's sleep that work arriving can cut short: the loop sleeps, a producer pokes. */
export class WakeUp {
  private waker: (() => void) | null = null;

  /** Ends the sleep in progress, if any. */
  poke(): void {
    const w = this.waker;
    this.waker = null;
    w?.();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waker = null;
        resolve();
      }, ms);
      this.waker = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
