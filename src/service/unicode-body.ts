/**
 * Every string of a JSON body, keys included, must be well-formed Unicode: one with a lone
 * surrogate would be stored as U+FFFD and come back different. The walk is iterative, so a body
 * nested 20,000 deep is judged like any other.
 */
import type { FastifyInstance } from 'fastify';
import { E, quote, surrogateProblem } from '../protocol';

interface Node {
  key: string | number;
  parent: Node | null;
  depth: number;
}

/** The path ("body.lines.3.error") and problem of the first ill-formed string, or undefined. */
export function findIllFormedString(body: unknown, skip: readonly (readonly string[])[] = []): { field: string; problem: string } | undefined {
  const stack: [unknown, Node | null][] = [[body, null]];
  while (stack.length > 0) {
    const [value, node] = stack.pop()!;
    if (typeof value === 'string') {
      const problem = surrogateProblem(value);
      if (problem) return { field: fieldOf(node), problem: `${quote(value)} ${problem}` };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const depth = (node?.depth ?? 0) + 1;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) push(stack, value[i], { key: i, parent: node, depth }, skip);
      continue;
    }
    for (const key in value) {
      const problem = surrogateProblem(key);
      if (problem) return { field: fieldOf(node), problem: `has a key ${quote(key)} that ${problem}` };
      push(stack, (value as Record<string, unknown>)[key], { key, parent: node, depth }, skip);
    }
  }
  return undefined;
}

function push(stack: [unknown, Node | null][], value: unknown, node: Node, skip: readonly (readonly string[])[]): void {
  if (skip.length > 0 && skip.some((p) => matches(node, p))) return;
  stack.push([value, node]);
}

function matches(node: Node, pattern: readonly string[]): boolean {
  if (node.depth !== pattern.length) return false;
  for (let n: Node | null = node, i = pattern.length - 1; n; n = n.parent, i--) {
    if (pattern[i] !== '*' && pattern[i] !== String(n.key)) return false;
  }
  return true;
}

function fieldOf(node: Node | null): string {
  const keys: (string | number)[] = [];
  for (let n = node; n; n = n.parent) keys.push(n.key);
  return ['body', ...keys.reverse()].join('.');
}

/** Checks every parsed JSON body before the route's schema sees it: a 400 naming the field. */
export function installUnicodeCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Buffer.isBuffer(body) || typeof (body as { pipe?: unknown }).pipe === 'function') return;
    const bad = findIllFormedString(body, request.routeOptions.config?.ownChecks);
    if (bad) throw E.illFormedString(bad.field, bad.problem);
  });
}
