// Reconnect-on-1012 during a rollout: each VU keeps one connection, sends a
// numbered message every INTERVAL_MS, and when the connection closes waits the
// close reason's `delay_ms` before reconnecting (FALLBACK_MS without a hint).
// Start it, then roll the Deployment (kubectl rollout restart ...).
// k6 run -e TARGET=ws://my-service/ -e VUS=500 -e DURATION_MS=120000 load/k6/rollout-reconnect.ts
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import type { Options } from 'k6/options';
import { clearInterval, setInterval, setTimeout, type IntervalID } from 'k6/timers';
import { WebSocket } from 'k6/websockets';
import { reconnectDelayMs, TARGET, type CloseDetails } from './common.ts';

const VUS = Number(__ENV.VUS || 100);
const DURATION_MS = Number(__ENV.DURATION_MS || 120_000);
const INTERVAL_MS = Number(__ENV.INTERVAL_MS || 1000);
const FALLBACK_MS = Number(__ENV.FALLBACK_MS || 1000);

const abnormalCloses = new Counter('ws_abnormal_closes');
const restartCloses = new Counter('ws_restart_closes');
const reconnects = new Counter('ws_reconnects');
const unacked = new Counter('ws_unacked_at_close');

export const options: Options = {
  scenarios: {
    rollout: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: `${Math.ceil(DURATION_MS / 1000) + 60}s` },
  },
  thresholds: {
    // Behind ws-sidecar a rollout is polite: every close is a 1012 with a hint, never a 1006.
    ws_abnormal_closes: ['count==0'],
    checks: ['rate==1'],
  },
};

export default function (): void {
  const endAt = Date.now() + DURATION_MS;
  let seq = 0;
  const outstanding = new Set<number>();
  let first = true;

  const connect = (): void => {
    const ws = new WebSocket(TARGET);
    let timer: IntervalID | undefined;
    ws.onopen = () => {
      if (!first) reconnects.add(1);
      first = false;
      // Whatever the last connection left unacknowledged is sent again.
      for (const n of outstanding) ws.send(String(n));
      timer = setInterval(() => {
        if (Date.now() >= endAt) {
          if (timer !== undefined) clearInterval(timer);
          ws.close(1000);
          return;
        }
        outstanding.add(++seq);
        ws.send(String(seq));
      }, INTERVAL_MS);
    };
    ws.onmessage = (event) => {
      if (event && typeof event.data === 'string') outstanding.delete(Number(event.data));
    };
    ws.addEventListener('close', (event) => {
      if (timer !== undefined) clearInterval(timer);
      const { code, reason } = event as CloseDetails;
      if (code === 1006) abnormalCloses.add(1);
      if (code === 1012) {
        restartCloses.add(1);
        check(reason, { '1012 carries delay_ms': (r) => reconnectDelayMs(r) !== undefined });
      }
      if (Date.now() >= endAt) return;
      unacked.add(outstanding.size);
      setTimeout(connect, reconnectDelayMs(reason) ?? FALLBACK_MS);
    });
  };
  connect();
}
