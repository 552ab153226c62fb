// Steady connections with traffic: VUS connections held for DURATION, each
// sending a 128 B message every INTERVAL_MS and timing the echo.
// k6 run -e TARGET=ws://127.0.0.1:8080/ -e VUS=1000 -e INTERVAL_MS=200 load/k6/steady.ts
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { clearInterval, setInterval, setTimeout, type IntervalID } from 'k6/timers';
import { WebSocket } from 'k6/websockets';
import { ageOf, TARGET, timedPayload, type CloseDetails } from './common.ts';

const VUS = Number(__ENV.VUS || 100);
const INTERVAL_MS = Number(__ENV.INTERVAL_MS || 200);
const HOLD_MS = Number(__ENV.HOLD_MS || 60_000);
const PAYLOAD_BYTES = Number(__ENV.PAYLOAD_BYTES || 128);

const echoRtt = new Trend('ws_echo_rtt', true);
const abnormalCloses = new Counter('ws_abnormal_closes');

export const options: Options = {
  scenarios: {
    steady: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: `${Math.ceil(HOLD_MS / 1000) + 30}s` },
  },
  thresholds: {
    // Round trip through the proxy stays in single-digit milliseconds at the 99th percentile.
    ws_echo_rtt: ['p(50)<2', 'p(99)<10'],
    // No connection may end without a close frame while the proxy is healthy.
    ws_abnormal_closes: ['count==0'],
    checks: ['rate==1'],
  },
};

export default function (): void {
  const ws = new WebSocket(TARGET);
  let timer: IntervalID | undefined;
  ws.onopen = () => {
    timer = setInterval(() => ws.send(timedPayload(PAYLOAD_BYTES)), INTERVAL_MS);
    setTimeout(() => {
      if (timer !== undefined) clearInterval(timer);
      ws.close(1000);
    }, HOLD_MS);
  };
  ws.onmessage = (event) => {
    if (event && typeof event.data === 'string') echoRtt.add(ageOf(event.data));
  };
  ws.addEventListener('close', (event) => {
    if (timer !== undefined) clearInterval(timer);
    const code = (event as CloseDetails).code;
    if (code === 1006) abnormalCloses.add(1);
    check(code, { 'closed normally': (c) => c === undefined || c === 1000 });
  });
}
