/** Turns an NDJSON metric batch (raw spool lines) into wire lines: each line is parsed once, here. */
import { isUtf8 } from 'buffer';
import { MetricBatch, OutpostError, parseMetricLine, WireLine } from '../protocol';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface NdjsonHeaders {
  stream: string;
  firstSeq: number;
  file: string;
  time: number;
}

export function parseNdjsonBatch(body: Buffer, h: NdjsonHeaders, limits: { maxLineBytes: number; maxNameChars: number; maxBatchLines: number }): MetricBatch {
  if (body.length > 0 && body[body.length - 1] !== 0x0a) {
    throw new OutpostError('OUTPOST_ERR_BAD_REQUEST', 'an NDJSON batch must end with a newline', 'body');
  }
  const count = countNewlines(body);
  if (count > limits.maxBatchLines) {
    throw new OutpostError('OUTPOST_ERR_BAD_REQUEST', `an NDJSON batch of ${count} lines is over the limit of ${limits.maxBatchLines} (limits.maxBatchLines)`, 'body');
  }
  // Fast path: the whole body is valid UTF-8 (checked natively) and is split as one string.
  const texts = isUtf8(body) ? body.toString('utf8').split('\n') : splitCheckingEachLine(body);
  texts.pop();
  const lines: WireLine[] = [];
  for (let i = 0; i < texts.length; i++) {
    const seq = h.firstSeq + i;
    let text = texts[i];
    const reject = (reason: string) => lines.push({ seq, time: h.time, error: `${h.file} line ${seq}: ${reason}` });
    if (text === null) {
      reject('not valid UTF-8');
      continue;
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes: only long strings need their bytes counted.
    if (text.length * 3 > limits.maxLineBytes) {
      const bytes = Buffer.byteLength(text);
      if (bytes > limits.maxLineBytes) {
        reject(`line is ${bytes} bytes, over the limit of ${limits.maxLineBytes} (limits.maxLineBytes)`);
        continue;
      }
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.length === 0 || text.trim() === '') continue;
    const r = parseMetricLine(text, limits.maxNameChars);
    if (!r.ok) {
      reject(r.reason);
      continue;
    }
    const { metrics, step, time } = r.line;
    const wire: WireLine = { seq, time: time ?? h.time, metrics };
    if (step !== undefined) wire.step = step;
    lines.push(wire);
  }
  return { stream: h.stream, file: h.file, lines };
}

function countNewlines(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(0x0a); i !== -1; i = body.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** Line by line, so one line that is not UTF-8 costs only itself (null marks it). */
function splitCheckingEachLine(body: Buffer): (string | null)[] {
  const out: (string | null)[] = [];
  let start = 0;
  while (start < body.length) {
    const nl = body.indexOf(0x0a, start);
    try {
      out.push(utf8.decode(body.subarray(start, nl)));
    } catch {
      out.push(null);
    }
    start = nl + 1;
  }
  out.push(''); // like split(): an empty string after the final newline
  return out;
}
