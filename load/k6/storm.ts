// Connection storm: new connections arriving at RATE per second, each doing a
// handshake, one echo and a close, as after a mass reconnect.
// k6 run -e TARGET=ws://127.0.0.1:8080/ -e RATE=500 -e DURATION=30s load/k6/storm.ts
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { WebSocket } from 'k6/websockets';
import { ageOf, TARGET, timedPayload } from './common.ts';

const RATE = Number(__ENV.RATE || 200);
const DURATION = __ENV.DURATION || '30s';

const connectTime = new Trend('ws_connect_to_echo', true);
const failures = new Counter('ws_storm_failures');

export const options: Options = {
  scenarios: {
    storm: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.max(10, RATE),
      maxVUs: RATE * 5,
    },
  },
  thresholds: {
    // Open + first echo under 50 ms for 95% of connections; no failed handshakes.
    ws_connect_to_echo: ['p(95)<50'],
    ws_storm_failures: ['count==0'],
    dropped_iterations: ['count==0'],
  },
};

export default function (): void {
  const startedAt = Date.now();
  const ws = new WebSocket(TARGET);
  let echoed = false;
  ws.onopen = () => ws.send(timedPayload(128));
  ws.onmessage = (event) => {
    if (!event || typeof event.data !== 'string') return;
    echoed = ageOf(event.data) >= 0;
    connectTime.add(Date.now() - startedAt);
    ws.close(1000);
  };
  ws.onerror = () => failures.add(1);
  ws.onclose = () => {
    if (!echoed) failures.add(1);
    check(echoed, { 'echoed before close': (e) => e });
  };
}
