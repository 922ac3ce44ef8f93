/**
 * How request bodies come in, for every route: a buffered body (JSON, NDJSON) must arrive whole
 * within service.bodyTimeoutMs; an upload (streamed to disk) may not stall for
 * service.uploadIdleTimeoutMs nor fall under service.minUploadBytesPerSec on average; and the bytes
 * held in memory over all requests in flight stay under service.maxBufferedBodyBytes (a 503 with
 * Retry-After beyond it). A client that breaks these gets its answer and its connection closed,
 * so a trickle cannot hold a socket, memory or a temp file for ever.
 */
import { Transform, TransformCallback, type Readable } from 'stream';
import { createGunzip } from 'zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceSettings } from '../../config/service';
import { E, OutpostError } from '../protocol';

type IntakeSettings = Pick<
  ServiceSettings,
  'bodyTimeoutMs' | 'uploadIdleTimeoutMs' | 'minUploadBytesPerSec' | 'maxBufferedBodyBytes' | 'inlineBlobBytes'
>;

/** Bytes of request bodies held in memory now, over all requests. */
class BodyBudget {
  used = 0;
  constructor(readonly max: number) {}
}

/** A request's share of the budget: charged as bytes are declared or arrive, given back when its answer is done. */
class Charge {
  private charged = 0;
  constructor(private readonly budget: BodyBudget) {}

  /** Charges up to `total` bytes in all; an error when that would pass the budget. */
  upTo(total: number): OutpostError | undefined {
    if (total <= this.charged) return undefined;
    const more = total - this.charged;
    if (this.budget.used + more > this.budget.max) {
      return E.bodiesInMemory(this.budget.used, total, this.budget.max);
    }
    this.budget.used += more;
    this.charged = total;
    return undefined;
  }

  release(): void {
    this.budget.used -= this.charged;
    this.charged = 0;
  }
}

/** Passes bytes on, counting them; `onChunk` may fail the stream. */
export class Meter extends Transform {
  received = 0;
  constructor(private readonly onChunk: (received: number) => Error | undefined) {
    super();
  }
  _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    const err = this.onChunk(this.received);
    if (err) return done(err);
    done(null, chunk);
  }
}

export function installBodyIntake(app: FastifyInstance, s: IntakeSettings): void {
  const budget = new BodyBudget(s.maxBufferedBodyBytes);
  app.addHook('preParsing', async (request, reply, payload) => {
    if (!hasBody(request)) return payload;
    const config = request.routeOptions.config ?? {};
    const charge = new Charge(budget);
    // Whatever becomes of the request, its bytes are given back with its answer (and its timers stop).
    let stop = (): void => undefined;
    reply.raw.once('close', () => {
      stop();
      charge.release();
    });
    const declared = Number(request.headers['content-length']);
    // An upload is buffered only when small enough to go into the database (service.inlineBlobBytes).
    const buffered = !config.upload || (Number.isSafeInteger(declared) && declared <= s.inlineBlobBytes);
    // A body over its route's limit is refused by the parser, naming that limit; nothing to charge.
    const overRouteLimit = !config.upload && declared > (request.routeOptions.bodyLimit ?? Infinity);
    if (buffered && !overRouteLimit && Number.isSafeInteger(declared) && declared > 0) {
      if (declared > budget.max) {
        throw E.bodyOverMemory(declared, budget.max);
      }
      const refused = charge.upTo(declared);
      if (refused) throw refused;
    }
    const stream = config.gzip ? gunzipIfAsked(request, payload) : payload;
    const meter = config.upload ? uploadMeter(s, buffered ? charge : undefined) : bufferedMeter(s, charge, stream);
    stop = meter.stop;
    stream.on('error', (err) => meter.stream.destroy(err));
    meter.stream.on('error', () => undefined); // fastify's parser reports it; nothing may go unhandled after the answer
    return stream.pipe(meter.stream) as unknown as typeof payload;
  });
}

/** Bodies come with the request only for these methods, and only when a length or chunks are announced. */
function hasBody(request: FastifyRequest): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  const h = request.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

interface Metered {
  stream: Meter;
  stop(): void;
}

/** A JSON or NDJSON body: whole within bodyTimeoutMs, each byte charged to the budget as it arrives. */
function bufferedMeter(s: IntakeSettings, charge: Charge, source: Readable & { receivedEncodedLength?: number }): Metered {
  const meter = new Meter((received) => charge.upTo(received));
  // fastify checks Content-Length against the bytes that came over the wire, also when it reads them decompressed.
  if (source.receivedEncodedLength !== undefined) {
    Object.defineProperty(meter, 'receivedEncodedLength', { get: () => source.receivedEncodedLength });
  }
  const timer = setTimeout(() => {
    meter.destroy(E.bodyTimeout(s.bodyTimeoutMs));
  }, s.bodyTimeoutMs);
  timer.unref();
  meter.once('end', () => clearTimeout(timer));
  return { stream: meter, stop: () => clearTimeout(timer) };
}

/**
 * An upload streams to disk, so it may take long: it fails when no byte comes for
 * uploadIdleTimeoutMs, or when, bodyTimeoutMs after it began, its average rate is under
 * minUploadBytesPerSec. A pause caused by the service itself (its disk is slower than the client,
 * so bytes wait in this stream) does not count as the client's.
 */
function uploadMeter(s: IntakeSettings, charge: Charge | undefined): Metered {
  const started = Date.now();
  let idle: NodeJS.Timeout | undefined;
  const meter: Meter = new Meter((received) => {
    arm();
    const refused = charge?.upTo(received);
    if (refused) return refused;
    const elapsed = Date.now() - started;
    if (elapsed > s.bodyTimeoutMs && received < (s.minUploadBytesPerSec * elapsed) / 1000) {
      return E.uploadTooSlow(Math.round(received / (elapsed / 1000)), s.minUploadBytesPerSec);
    }
    return undefined;
  });
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(onIdle, s.uploadIdleTimeoutMs);
    idle.unref();
  };
  const onIdle = () => {
    if (meter.readableLength > 0 || meter.writableLength > 0) return arm(); // waiting on our own disk
    meter.destroy(E.uploadIdle(s.uploadIdleTimeoutMs));
  };
  arm();
  meter.once('end', () => clearTimeout(idle));
  return { stream: meter, stop: () => clearTimeout(idle) };
}

/** Decompresses a gzip body; refuses any other Content-Encoding. */
function gunzipIfAsked(request: FastifyRequest, payload: Readable): Readable {
  const encoding = request.headers['content-encoding'];
  if (!encoding || encoding === 'identity') return payload;
  if (encoding !== 'gzip') throw E.unsupportedEncoding(encoding);
  // fastify compares Content-Length with what the wire carried, and bodyLimit with what we decode.
  const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
  gunzip.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => (gunzip.receivedEncodedLength += chunk.length));
  payload.on('error', (err) => gunzip.destroy(err));
  return payload.pipe(gunzip);
}

/** The bytes of a request body that have arrived so far (0 for a request without one). */
export function bytesArrived(body: unknown): number {
  return body instanceof Meter ? body.received : 0;
}
