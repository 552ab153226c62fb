// One upgrade attempt by a real `ws` client, reporting how the sidecar answered it.
import { WebSocket } from 'ws';

export type Attempt =
  | { kind: 'open'; ws: WebSocket; closed: Promise<{ code: number; reason: string }> }
  | { kind: 'http'; status: number; retryAfter?: string; body: string }
  | { kind: 'error' };

export type OpenAttempt = Extract<Attempt, { kind: 'open' }>;
export type HttpAttempt = Extract<Attempt, { kind: 'http' }>;

export function attempt(url: string, options: { localAddress?: string; headers?: Record<string, string>; protocols?: string[] } = {}): Promise<Attempt> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options.protocols, { localAddress: options.localAddress, headers: options.headers });
    // Listening from the start: in close mode the close may come in the same read as the 101.
    const closedInfo = new Promise<{ code: number; reason: string }>((done) => ws.once('close', (code, reason) => done({ code, reason: reason.toString() })));
    ws.once('open', () => resolve({ kind: 'open', ws, closed: closedInfo }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ kind: 'http', status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }));
    });
    ws.once('error', () => {
      if (ws.readyState !== WebSocket.OPEN) resolve({ kind: 'error' });
    });
  });
}

export function opened(results: Attempt[]): OpenAttempt[] {
  return results.filter((r): r is OpenAttempt => r.kind === 'open');
}

export function refused(results: Attempt[]): HttpAttempt[] {
  return results.filter((r): r is HttpAttempt => r.kind === 'http');
}

/** Reads one sample of a Prometheus text scrape; NaN when absent. */
export async function metric(adminPort: number, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const match = pattern.exec(text);
  return match ? Number(match[1]) : NaN;
}

/** Closes a client cleanly and waits until it is closed. */
export async function closeClient(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const done = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.close();
  await done;
}
