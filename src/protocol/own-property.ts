/** Writing a name read from untrusted input into an object. */
/**
 * Sets `obj[name] = value` as an own property even for "__proto__", which plain assignment would
 * take as the prototype, losing the metric. (A null-prototype object would do it too, but V8 keeps
 * those in slow dictionary mode, and parsing slowed down: docs/benchmarks.md, "Measured choices".)
 */
export function setOwn<T>(obj: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
  else obj[name] = value;
}
