/**
 * The NDJSON form of a metric batch (the agent's: raw spool lines) checked into wire lines with
 * the metric line's rules, as the JSON form is (json-batch.ts): each line is parsed once, here. A bad
 * line is a rejected line, with its reason; the lines around it go on.
 */
import { isAscii, isUtf8 } from 'buffer';
import { E, parseMetricLine, parsePlainWireLine, WireLine } from '../protocol';
import type { CheckedBatch } from '../store/store';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface NdjsonHeaders {
  stream: string;
  firstSeq: number;
  file: string;
  time: number;
  source?: string;
}

export interface NdjsonLimits {
  maxLineBytes: number;
  maxNameChars: number;
  maxBatchLines: number;
  maxMetricsPerLine: number;
  maxBatchCells: number;
}

/** The batch covers the sequence numbers of all its lines, blank ones too, so they advance the stream. */
export function parseNdjsonBatch(body: Buffer, h: NdjsonHeaders, limits: NdjsonLimits): CheckedBatch {
  if (body.length > 0 && body[body.length - 1] !== 0x0a) {
    throw E.ndjsonNoFinalNewline();
  }
  const count = countNewlines(body);
  if (count > limits.maxBatchLines) {
    throw E.tooManyLines(count, limits.maxBatchLines);
  }
  // Each line is decoded on its own: faster than one big string
  // split (V8 allocates big strings slowly), and an ASCII body needs no UTF-8 decoding at all.
  const ascii = isAscii(body);
  const valid = ascii || isUtf8(body);
  const lines: WireLine[] = [];
  // Counted as the lines are parsed, so a batch over the limit is refused before it is all decoded.
  let cells = 0;
  for (let start = 0, seq = h.firstSeq; start < body.length; seq++) {
    const nl = body.indexOf(0x0a, start);
    const from = start;
    start = nl + 1;
    let text = ascii ? body.toString('latin1', from, nl) : valid ? body.toString('utf8', from, nl) : decodeOrNull(body, from, nl);
    if (text === null) {
      lines.push(rejected(h, seq, 'not valid UTF-8'));
      continue;
    }
    if (nl - from > limits.maxLineBytes) {
      lines.push(rejected(h, seq, `line is ${nl - from} bytes, over the limit of ${limits.maxLineBytes} (limits.maxLineBytes)`));
      continue;
    }
    // The loggers' line, one metric: straight into its wire line.
    const plain = parsePlainWireLine(text, seq, h.time, limits.maxNameChars);
    if (plain !== undefined) {
      if (++cells > limits.maxBatchCells) throw E.tooManyCells(limits.maxBatchCells);
      lines.push(plain);
      continue;
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.length === 0 || text.trim() === '') continue;
    const r = parseMetricLine(text, limits.maxNameChars, limits.maxMetricsPerLine);
    if (!r.ok) {
      lines.push(rejected(h, seq, r.reason));
      continue;
    }
    const line = r.line;
    const time = line.time ?? h.time;
    // Params and tags are few and cost one write each: counted as the cells they are.
    const entries = 'metrics' in line ? line.metrics : 'params' in line ? line.params : line.tags;
    for (const _name in entries) cells++;
    if (cells > limits.maxBatchCells) throw E.tooManyCells(limits.maxBatchCells);
    if ('params' in line) lines.push({ seq, time, params: line.params });
    else if ('tags' in line) lines.push({ seq, time, tags: line.tags });
    else {
      const wire: WireLine = { seq, time, metrics: line.metrics };
      if (line.step !== undefined) wire.step = line.step;
      lines.push(wire);
    }
  }
  const batch = { stream: h.stream, file: h.file, lines, firstSeq: h.firstSeq, lastSeq: h.firstSeq + count - 1 } as CheckedBatch;
  if (h.source !== undefined) batch.source = h.source;
  return batch;
}

function countNewlines(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(0x0a); i !== -1; i = body.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** A rejected line carries its reason alone: the stream's file and the line's seq say where it is. */
function rejected(h: NdjsonHeaders, seq: number, reason: string): WireLine {
  return { seq, time: h.time, error: reason };
}

/** One line of a body that is not all valid UTF-8: null if this line is the invalid part. */
function decodeOrNull(body: Buffer, from: number, to: number): string | null {
  try {
    return utf8.decode(body.subarray(from, to));
  } catch {
    return null;
  }
}
