// The `run` flags: one table that drives parsing, env vars, validation, --help,
// the injector's per-pod annotations and the admin /status config summary.

export type FlagKind =
  | 'address' // host:port, :port or port
  | 'url' // http:// or ws:// upstream
  | 'count' // non-negative integer
  | 'rate' // non-negative decimal
  | 'seconds' // non-negative decimal seconds, stored as milliseconds
  | 'boolean'
  | 'enum'
  | 'cidrs' // comma-separated CIDR list
  | 'check' // tcp | http:/path | ws:/path
  | 'redis' // redis:// or rediss:// URL; its password is never shown
  | 'name' // a name of letters, digits and . _ / : - (may be empty)
  | 'tenant' // header:<name> | query:<name> | cookie:<name>
  | 'string';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly default: string;
  readonly help: string;
  readonly choices?: readonly string[];
  /** Secrets are never echoed in /status or logs. */
  readonly secret?: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const RUN_FLAGS: readonly FlagSpec[] = [
  { name: 'listen', kind: 'address', default: '0.0.0.0:8080', help: 'data listener (clients connect here)' },
  { name: 'upstream', kind: 'url', default: 'http://127.0.0.1:3000', help: 'the app behind the sidecar' },
  { name: 'admin-listen', kind: 'address', default: '0.0.0.0:9090', help: 'admin listener: health, metrics, status, drain' },
  { name: 'log-level', kind: 'enum', default: 'info', choices: LOG_LEVELS, help: 'pino log level' },
  { name: 'max-connections', kind: 'count', default: '10000', help: 'cap on concurrent WebSocket connections (0 = unlimited)' },
  { name: 'max-connections-per-ip', kind: 'count', default: '0', help: 'cap per client IP (0 = unlimited)' },
  { name: 'trusted-proxies', kind: 'cidrs', default: '', help: 'CIDRs whose X-Forwarded-For is believed' },
  { name: 'tenant-from', kind: 'tenant', default: '', help: 'names each connection\'s tenant; a header is read from --trusted-proxies peers only' },
  { name: 'max-connections-per-tenant', kind: 'count', default: '0', help: 'cap per tenant: fleet-wide in fleet mode, else per pod (0 = unlimited)' },
  { name: 'fleet-max-connections', kind: 'count', default: '0', help: 'cap on the whole fleet\'s connections, in fleet mode (0 = none)' },
  { name: 'accept-rate', kind: 'rate', default: '0', help: 'new WebSocket connections per second (0 = unlimited)' },
  { name: 'accept-burst', kind: 'count', default: '0', help: 'token bucket size for --accept-rate (0 = max(1, rate))' },
  { name: 'reject-with', kind: 'enum', default: 'http', choices: ['http', 'close'], help: 'reject upgrades with HTTP 503/429 or a handshake + close 1013' },
  { name: 'retry-after', kind: 'seconds', default: '5', help: 'reconnect hint for rejected clients' },
  { name: 'unready-at-capacity', kind: 'boolean', default: 'false', help: 'fail /readyz at the cap, recover below 90%' },
  { name: 'idle-timeout', kind: 'seconds', default: '0', help: 'close connections with no frames either way (0 = off)' },
  { name: 'ping-interval', kind: 'seconds', default: '0', help: 'ping clients; close those that miss two pongs (0 = off)' },
  { name: 'handshake-timeout', kind: 'seconds', default: '10', help: 'time allowed for an upgrade request and the app\'s answer' },
  { name: 'connect-timeout', kind: 'seconds', default: '5', help: 'time allowed to connect to the app' },
  { name: 'max-header-size', kind: 'count', default: '16384', help: 'largest request header block in bytes' },
  { name: 'max-pending-handshakes', kind: 'count', default: '1000', help: 'cap on upgrades waiting for the app (0 = unlimited)' },
  { name: 'drain-delay', kind: 'seconds', default: '0', help: 'keep accepting during endpoint propagation before draining' },
  { name: 'drain-spread', kind: 'seconds', default: '10', help: 'window over which connections are closed' },
  { name: 'close-timeout', kind: 'seconds', default: '5', help: 'time allowed for each close handshake' },
  { name: 'drain-timeout', kind: 'seconds', default: '25', help: 'deadline from the drain trigger; the rest is destroyed' },
  { name: 'boundary-grace', kind: 'seconds', default: '1', help: 'wait this long for a message boundary before closing at a frame boundary' },
  { name: 'drain-token', kind: 'string', default: '', secret: true, help: 'bearer token for /drain (unset = loopback callers only)' },
  { name: 'data-plane', kind: 'enum', default: 'auto', choices: ['js', 'native', 'auto'], help: 'what pumps tunnels after the handshake: js, the native addon, or auto (native when it loads)' },
  { name: 'upstream-check', kind: 'check', default: 'tcp', help: 'readiness check of the app: tcp, http:/path or ws:/path' },
  // Fleet mode: the sidecars of one workload coordinate through Redis (unset = per-pod only).
  { name: 'fleet-redis', kind: 'redis', default: '', help: 'Redis of the fleet: redis://[user:pass@]host:port[/db] or rediss://… (unset = fleet mode off)' },
  { name: 'fleet-name', kind: 'name', default: 'default', help: 'the fleet this pod belongs to (the injector sets <namespace>/<workload>)' },
  { name: 'pod-name', kind: 'name', default: '', help: 'this pod\'s name in the fleet (unset = the hostname)' },
  { name: 'revision', kind: 'name', default: '', help: 'this pod\'s revision (the injector sets the pod-template-hash)' },
  { name: 'fleet-heartbeat', kind: 'seconds', default: '2', help: 'lease renewal interval; a lease lives 4 heartbeats' },
  { name: 'fleet-timeout', kind: 'seconds', default: '0.25', help: 'a store call slower than this counts as the store being down' },
  { name: 'rebalance', kind: 'boolean', default: 'false', help: 'shed connections above the fleet\'s fair share, politely (1012)' },
  { name: 'rebalance-threshold', kind: 'rate', default: '0.2', help: 'start shedding above fair share × (1 + threshold), stop within threshold/4' },
  { name: 'rebalance-min-excess', kind: 'count', default: '10', help: 'shed only when at least this many connections over the fair share' },
  { name: 'rebalance-rate', kind: 'rate', default: '0.01', help: 'share of this pod\'s connections closed per second while shedding (at least 1/s)' },
  { name: 'rebalance-min-age', kind: 'seconds', default: '60', help: 'never shed a connection younger than this' },
  { name: 'fleet-shadow', kind: 'boolean', default: 'false', help: 'decide and count fleet rejections and rebalancing closes without acting' },
];

/** `--max-connections` ↔ `WS_SIDECAR_MAX_CONNECTIONS`. */
export function envNameOf(flag: string): string {
  return 'WS_SIDECAR_' + flag.toUpperCase().replace(/-/g, '_');
}

export function findRunFlag(name: string): FlagSpec | undefined {
  return RUN_FLAGS.find((flag) => flag.name === name);
}
