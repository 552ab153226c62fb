// SIGTERM on the real CLI: every client gets 1012 with a reconnect hint, nothing the app
// sent before its close is lost, closes are spread, and the process exits 0.
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closed, openClient, startApp } from '../helpers/apps.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { withSidecar } from '../helpers/with-sidecar.js';

const CLIENTS = 200;
const BIG = 1024 * 1024;
const HINT = /^draining; delay_ms=(\d+)$/;

/** Message `seq` of a stream: every 10th connection sends a 1 MiB message every 8th time. */
function messageSize(connection: number, seq: number): number {
  return connection % 10 === 0 && seq % 8 === 7 ? BIG : 64 + (seq % 200);
}

function buildMessage(connection: number, seq: number): Buffer {
  const message = Buffer.alloc(messageSize(connection, seq), seq & 0xff);
  message.writeUInt32BE(connection, 0);
  message.writeUInt32BE(seq, 4);
  return message;
}

/** Resolves once `check` holds, testing it on every event of `ws` clients. */
function until(check: () => boolean, clients: WebSocket[]): Promise<void> {
  return new Promise((resolve) => {
    const test = (): void => {
      if (!check()) return;
      for (const ws of clients) ws.off('message', test);
      resolve();
    };
    for (const ws of clients) ws.on('message', test);
    test();
  });
}

describe('drain on SIGTERM', () => {
  it('closes 200 streaming clients with 1012 + delay_ms, loses nothing, spreads closes, exits 0', async () => {
    const sentWhileOpen: number[] = [];
    const appCloseCodes: number[] = [];
    const app = await startApp({
      wsOptions: { maxPayload: 2 * BIG },
      onConnection: (ws, req) => {
        const id = Number(new URL(req.url!, 'http://x').searchParams.get('id'));
        sentWhileOpen[id] = 0;
        const timer = setInterval(() => {
          // Keep the stream flowing but bounded: skip a tick while the socket is backed up.
          if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > 4 * BIG) return;
          ws.send(buildMessage(id, sentWhileOpen[id]!), { binary: true });
          sentWhileOpen[id]!++;
        }, 20);
        ws.on('close', (code) => {
          clearInterval(timer);
          appCloseCodes.push(code);
        });
      },
    });
    const sidecar = await startSidecarProcess([
      '--upstream', `http://127.0.0.1:${app.port}`,
      '--drain-spread', '2', '--close-timeout', '5', '--drain-timeout', '20', '--max-connections', '1000',
    ]);
    try {
      const received: number[] = [];
      const problems: string[] = [];
      const clients = await Promise.all(
        Array.from({ length: CLIENTS }, async (_, id) => {
          received[id] = 0;
          // Listen before 'open': the 101 and the first message can arrive in one read.
          const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/stream?id=${id}`, { maxPayload: 2 * BIG });
          ws.on('message', (data: Buffer) => {
            const seq = received[id]!;
            const intact = data.length === messageSize(id, seq) && data.readUInt32BE(0) === id && data.readUInt32BE(4) === seq && data[data.length - 1] === (seq & 0xff);
            if (!intact) problems.push(`client ${id}: message ${seq} damaged or out of order (${data.length} B, header ${data.readUInt32BE(0)}/${data.readUInt32BE(4)})`);
            received[id]!++;
          });
          await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
          return ws;
        }),
      );
      const closes = clients.map((ws) => closed(ws).then((result) => ({ ...result, at: performance.now() })));
      // Every big-message stream has passed at least one 1 MiB message before the drain.
      await until(() => received.every((count) => count >= 10), clients);

      const signalledAt = performance.now();
      sidecar.child.kill('SIGTERM');
      const results = await Promise.all(closes);
      const code = await sidecar.exited;

      expect(code).toBe(0);
      expect(performance.now() - signalledAt).toBeLessThan(20_000);
      expect(problems).toEqual([]);
      for (const result of results) {
        expect(result.code).toBe(1012);
        expect(result.reason).toMatch(HINT);
      }
      const delays = results.map((result) => Number(HINT.exec(result.reason)![1]));
      expect(new Set(delays).size).toBeGreaterThan(1);
      // Everything the app sent before it saw its 1001 reached the client, intact and in order.
      expect(received).toEqual(sentWhileOpen);
      expect(appCloseCodes.length).toBe(CLIENTS);
      expect(new Set(appCloseCodes)).toEqual(new Set([1001]));
      // Spread over the 2 s window, loosely: not all in one tick.
      const times = results.map((result) => result.at);
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(500);
    } finally {
      sidecar.kill();
      await app.close();
    }
  }, 60_000);

  it('fails readiness at once, accepts upgrades during the delay and drains them, then refuses with 503 + Retry-After', async () => {
    const app = await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--drain-delay', '1', '--drain-spread', '0', '--drain-timeout', '10']);
    const admin = `http://127.0.0.1:${sidecar.adminPort}`;
    try {
      expect((await request(`${admin}/readyz`)).statusCode).toBe(200);
      const early = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const earlyClosed = closed(early);
      const drained = request(`${admin}/drain?wait=1`, { method: 'POST' });

      const readiness = await request(`${admin}/readyz`);
      expect(readiness.statusCode).toBe(503);
      expect(((await readiness.body.json()) as { reasons: string[] }).reasons).toContain('draining');

      // Within the delay: still accepted, and drained with the rest.
      const late = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const lateClosed = closed(late);
      expect((await earlyClosed).code).toBe(1012);
      expect((await lateClosed).code).toBe(1012);

      // After the delay: refused.
      const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const response = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve) => {
        ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
        ws.on('error', () => undefined);
      });
      expect(response.status).toBe(503);
      expect(Number(response.retryAfter)).toBeGreaterThan(0);

      // Plain HTTP keeps flowing, with Connection: close.
      const plain = await request(`http://127.0.0.1:${sidecar.dataPort}/hello`);
      expect(plain.statusCode).toBe(200);
      expect(plain.headers.connection).toBe('close');
      await plain.body.text();

      const summary = (await (await drained).body.json()) as { drained: boolean; connectionsDrained: number };
      expect(summary.drained).toBe(true);
      expect(summary.connectionsDrained).toBe(2);
      // A /drain-triggered drain leaves the process up until a signal.
      expect(sidecar.child.exitCode).toBeNull();
      sidecar.child.kill('SIGTERM');
      expect(await sidecar.exited).toBe(0);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('joins a drain under way when triggered again, and a second signal exits at once', async () => {
    await withSidecar({ args: ['--drain-delay', '30', '--drain-timeout', '60'] }, async ({ sidecar }) => {
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const first = await request(`http://127.0.0.1:${sidecar.adminPort}/drain`, { method: 'POST' });
      expect(first.statusCode).toBe(202);
      await first.body.text();
      sidecar.child.kill('SIGTERM');
      await sidecar.waitForLog((line) => line.msg === 'drain already under way');
      // The drain would take 30 s (its delay); a second signal does not wait.
      sidecar.child.kill('SIGTERM');
      const code = await sidecar.exited;
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      ws.terminate();
    });
  });
});

describe('drain and handshakes still waiting for the app', () => {
  it('waits for an upgrade the app has not answered yet, then closes it with 1012 as soon as it opens', async () => {
    let answer: () => void = () => undefined;
    let reached: () => void = () => undefined;
    const appAnswered = new Promise<void>((resolve) => (answer = resolve));
    const upgradeReachedApp = new Promise<void>((resolve) => (reached = resolve));
    const verifyClient = (_info: unknown, done: (ok: boolean) => void): void => {
      reached();
      void appAnswered.then(() => done(true));
    };
    await withSidecar({ app: { wsOptions: { verifyClient } } }, async ({ sidecar, wsUrl }) => {
      const ws = new WebSocket(wsUrl);
      const result = closed(ws);
      await upgradeReachedApp;
      let drainDone = false;
      const drained = request(`http://127.0.0.1:${sidecar.adminPort}/drain?wait=1`, { method: 'POST' }).then(async (response) => {
        drainDone = true;
        return (await response.body.json()) as { connectionsDrained: number };
      });
      // The drain cannot be over while the app may still say yes.
      await sidecar.waitForLog((line) => line.msg === 'drain started');
      const readiness = await request(`http://127.0.0.1:${sidecar.adminPort}/readyz`);
      await readiness.body.text();
      expect(drainDone).toBe(false);
      answer();
      expect((await result).code).toBe(1012);
      expect((await drained).connectionsDrained).toBe(1);
    });
  });
});
