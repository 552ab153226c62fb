// The mutating admission webhook: HTTPS, POST /mutate (AdmissionReview v1), GET /healthz.
// Bounded: body size limit, request timeout well inside the API server's (10 s by default).
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../config/logger.js';
import { allowUnchanged, reviewAdmission } from './admission-review.js';
import { readKeyPair, watchKeyPair } from './cert-reloader.js';
import type { InjectOptions } from './inject.js';

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 8_000;

export interface WebhookOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly inject: InjectOptions;
  readonly maxBodyBytes?: number;
  readonly logger: Logger;
}

export interface Webhook {
  readonly server: Server;
  readonly port: number;
  /** 'reloaded' after a new certificate is in use; 'reload_rejected' (err) when files did not fit. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

type Reply = { status: number; body: unknown };

export async function startWebhook(options: WebhookOptions, host: string, port: number): Promise<Webhook> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger = options.logger;
  const events = new EventEmitter();
  const pair = await readKeyPair(options.certFile, options.keyFile);
  const server = createServer({
    cert: pair.cert,
    key: pair.key,
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: REQUEST_TIMEOUT_MS,
    // Node checks those timeouts on this interval (30 s by default, past the API server's 10 s).
    connectionsCheckingInterval: 500,
  });
  const injectOptions: InjectOptions = { tokenFallback: 'random', ...options.inject };

  // The namespace-label entry of the webhook configuration calls /mutate/namespace: the
  // request carries no namespace labels, and Kubernetes allows no query in a webhook path.
  const mutate = async (req: IncomingMessage, namespaceOptedIn: boolean): Promise<Reply> => {
    if (req.method !== 'POST') return { status: 405, body: { error: 'method_not_allowed' } };
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return { status: 415, body: { error: 'unsupported_media_type', expected: 'application/json' } };
    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) return { status: 413, body: { error: 'payload_too_large', maxBytes: maxBodyBytes } };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return { status: 400, body: { error: 'bad_request', problem: 'body is not JSON' } };
    }
    try {
      const outcome = reviewAdmission(parsed, { ...injectOptions, namespaceOptedIn });
      if (!outcome.ok) return { status: 400, body: { error: 'bad_request', problem: outcome.problem } };
      const result = outcome.result;
      logger.info(
        { uid: outcome.review.response.uid, namespace: outcome.namespace, injected: result !== undefined && !result.skipped, skipped: result?.skipped, warnings: result?.warnings.length ?? 0 },
        'admission reviewed',
      );
      return { status: 200, body: outcome.review };
    } catch (err) {
      const review = parsed as { apiVersion: string; request: { uid: string } };
      logger.error({ err, uid: review.request.uid }, 'injection failed');
      return { status: 200, body: allowUnchanged(review.apiVersion, review.request.uid, 'internal error; pod not injected') };
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    const handle = async (): Promise<Reply> => {
      if (path === '/healthz') return { status: 200, body: { ok: true } };
      if (path === '/mutate' || path === '/mutate/namespace') return mutate(req, path === '/mutate/namespace');
      return { status: 404, body: { error: 'not_found' } };
    };
    handle()
      .catch((err: unknown): Reply => {
        logger.warn({ err, path }, 'webhook request failed');
        return { status: 500, body: { error: 'internal_error' } };
      })
      .then((reply) => send(res, reply, !req.complete));
  });

  server.listen(port, host);
  await once(server, 'listening');
  const watcher = watchKeyPair({
    certFile: options.certFile,
    keyFile: options.keyFile,
    current: pair,
    apply: (next) => server.setSecureContext({ cert: next.cert, key: next.key }),
    onReloaded: () => {
      logger.info({ certFile: options.certFile }, 'certificate reloaded');
      events.emit('reloaded');
    },
    onRejected: (err) => {
      logger.warn({ err, certFile: options.certFile }, 'certificate reload rejected; serving the previous one');
      events.emit('reload_rejected', err);
    },
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    events,
    close: async () => {
      watcher.close();
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      await closed;
    },
  };
}

/** The body, or undefined past the limit (checked on Content-Length first, then while reading). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      // Keep reading but discard (bounded by the request timeout): closing a socket with
      // unread data resets it, and the client might never see the 413.
      req.off('data', onData);
      req.resume();
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply, unreadBody: boolean): void {
  const text = JSON.stringify(reply.body) + '\n';
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) };
  // A body we stopped reading cannot be skipped on a kept-alive connection.
  if (unreadBody) headers.Connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(text);
}
