// Flags + env → one frozen, validated Config. Every problem is reported at once.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { RUN_FLAGS, LOG_LEVELS, envNameOf, type FlagSpec } from './flags.js';

export interface Address {
  readonly host: string;
  readonly port: number;
}

export type UpstreamCheck =
  | { readonly kind: 'tcp' }
  | { readonly kind: 'http' | 'ws'; readonly path: string };

/** A `--fleet-redis` URL: `url` goes to the client only; `shown` is safe for logs and /status. */
export interface RedisTarget {
  readonly url: string;
  readonly shown: string;
}

/** Where a connection's tenant comes from (`--tenant-from`). Header names are lower-cased. */
export interface TenantSource {
  readonly from: 'header' | 'query' | 'cookie';
  readonly name: string;
}

export interface Config {
  readonly listen: Address;
  readonly upstream: Address;
  readonly adminListen: Address;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly trustedProxies: readonly string[];
  /** Unset: no connection has a tenant. */
  readonly tenantFrom: TenantSource | undefined;
  readonly maxConnectionsPerTenant: number;
  readonly fleetMaxConnections: number;
  readonly acceptRate: number;
  readonly acceptBurst: number;
  readonly rejectWith: 'http' | 'close';
  readonly retryAfterMs: number;
  readonly unreadyAtCapacity: boolean;
  readonly idleTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly handshakeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxHeaderSize: number;
  readonly maxPendingHandshakes: number;
  readonly drainDelayMs: number;
  readonly drainSpreadMs: number;
  readonly closeTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly boundaryGraceMs: number;
  readonly drainToken: string;
  readonly upstreamCheck: UpstreamCheck;
  readonly dataPlane: 'js' | 'native' | 'auto';
  /** Unset: fleet mode is off and nothing below changes anything. */
  readonly fleetRedis: RedisTarget | undefined;
  readonly fleetName: string;
  /** Resolved to the hostname when not given. */
  readonly podName: string;
  readonly revision: string;
  readonly fleetHeartbeatMs: number;
  readonly fleetTimeoutMs: number;
  readonly rebalance: boolean;
  readonly rebalanceThreshold: number;
  readonly rebalanceMinExcess: number;
  readonly rebalanceRate: number;
  readonly rebalanceMinAgeMs: number;
  readonly fleetShadow: boolean;
}

export type RawValues = Readonly<Record<string, string | boolean | undefined>>;
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

const MAX_SECONDS = 7 * 24 * 3600;

/** `drain-timeout` (seconds) → `drainTimeoutMs`; `max-connections` → `maxConnections`. */
export function configKeyOf(spec: FlagSpec): string {
  const camel = spec.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return spec.kind === 'seconds' ? camel + 'Ms' : camel;
}

export function parseAddress(raw: string): Address | undefined {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s]*):)?(\d{1,5})$/.exec(raw.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  let host = match[1] ?? '';
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host === '') host = '0.0.0.0';
  if (host.includes(':') && isIP(host) !== 6) return undefined;
  return { host, port };
}

/** `host:port`, with IPv6 hosts in brackets (as in a URL). */
export function formatAddress(address: Address): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}

function parseUpstream(raw: string): Address | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (!['http:', 'ws:'].includes(url.protocol) || url.hostname === '') return undefined;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.username) return undefined;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? 80 : Number(url.port) };
}

function parseCidr(raw: string): boolean {
  const [address, prefix, extra] = raw.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

function parseCheck(raw: string): UpstreamCheck | undefined {
  if (raw === 'tcp') return { kind: 'tcp' };
  const match = /^(http|ws):(\/[^\s#]*)$/.exec(raw);
  return match ? { kind: match[1] as 'http' | 'ws', path: match[2]! } : undefined;
}

/** `tcp`, `http:/path` or `ws:/path`: the flag's own spelling. */
export function formatCheck(check: UpstreamCheck): string {
  return check.kind === 'tcp' ? 'tcp' : `${check.kind}:${check.path}`;
}

const REDACTED_PASSWORD = '(redacted)';
const NAME = /^[A-Za-z0-9._:\/-]{0,200}$/;

/** redis://[user:pass@]host:port[/db] or rediss://…; anything else (paths, queries) is refused. */
export function parseRedisUrl(raw: string): RedisTarget | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (!['redis:', 'rediss:'].includes(url.protocol) || url.hostname === '') return undefined;
  if (!/^(\/\d{0,2})?$/.test(url.pathname) || url.search || url.hash) return undefined;
  return { url: raw, shown: redactRedisUrl(url) };
}

/** The URL with its password replaced, so it can be logged and shown. */
function redactRedisUrl(url: URL): string {
  const user = url.username;
  const credentials = url.password !== '' ? `${user}:${REDACTED_PASSWORD}@` : user !== '' ? `${user}@` : '';
  const port = url.port === '' ? '' : `:${url.port}`;
  const db = url.pathname === '/' ? '' : url.pathname;
  return `${url.protocol}//${credentials}${url.hostname}${port}${db}`;
}

// RFC 9110 token characters: what a header or cookie name may be made of.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseTenantSource(raw: string): TenantSource | undefined {
  const match = /^(header|query|cookie):(.+)$/.exec(raw);
  if (!match) return undefined;
  const from = match[1] as TenantSource['from'];
  const name = match[2]!;
  if (from === 'query') return /^[^\s&=#]+$/.test(name) ? { from, name } : undefined;
  if (!TOKEN.test(name)) return undefined;
  return { from, name: from === 'header' ? name.toLowerCase() : name };
}

/** `header:<name>`, `query:<name>` or `cookie:<name>`: the flag's own spelling; '' when unset. */
export function formatTenantSource(source: TenantSource | undefined): string {
  return source ? `${source.from}:${source.name}` : '';
}

/** Parses one flag value; shared by the CLI, env vars and the injector's annotations. */
export function parseFlagValue(spec: FlagSpec, raw: string | boolean): Parsed {
  const bad = (expected: string): Parsed => ({
    ok: false,
    problem: `--${spec.name}: ${JSON.stringify(String(raw))} is not ${expected}`,
  });
  if (spec.kind === 'boolean') {
    if (typeof raw === 'boolean') return { ok: true, value: raw };
    if (/^(true|1|yes)$/i.test(raw)) return { ok: true, value: true };
    if (/^(false|0|no)$/i.test(raw)) return { ok: true, value: false };
    return bad('a boolean (true or false)');
  }
  const text = String(raw).trim();
  switch (spec.kind) {
    case 'address': {
      const address = parseAddress(text);
      return address ? { ok: true, value: address } : bad('an address like 0.0.0.0:8080, :8080 or [::]:8080');
    }
    case 'url': {
      const address = parseUpstream(text);
      return address ? { ok: true, value: address } : bad('an upstream URL like http://127.0.0.1:3000 (http or ws, no path)');
    }
    case 'count': {
      const n = Number(text);
      return /^\d+$/.test(text) && Number.isSafeInteger(n) ? { ok: true, value: n } : bad('a non-negative integer');
    }
    case 'rate': {
      const n = Number(text);
      return /^\d+(\.\d+)?$/.test(text) && Number.isFinite(n) ? { ok: true, value: n } : bad('a non-negative number');
    }
    case 'seconds': {
      const n = Number(text);
      return /^\d+(\.\d+)?$/.test(text) && n <= MAX_SECONDS
        ? { ok: true, value: Math.round(n * 1000) }
        : bad(`a duration in seconds (decimals allowed, at most ${MAX_SECONDS})`);
    }
    case 'enum':
      return spec.choices?.includes(text) ? { ok: true, value: text } : bad(`one of ${spec.choices?.join(', ')}`);
    case 'cidrs': {
      const list = text === '' ? [] : text.split(',').map((item) => item.trim());
      const wrong = list.filter((item) => !parseCidr(item));
      return wrong.length === 0 ? { ok: true, value: Object.freeze(list) } : bad('a comma-separated list of CIDRs like 10.0.0.0/8');
    }
    case 'check': {
      const check = parseCheck(text);
      return check ? { ok: true, value: Object.freeze(check) } : bad('tcp, http:/path or ws:/path');
    }
    case 'redis': {
      if (text === '') return { ok: true, value: undefined };
      const target = parseRedisUrl(text);
      // Never echo the value: it may hold the password.
      return target
        ? { ok: true, value: Object.freeze(target) }
        : { ok: false, problem: `--${spec.name}: not a Redis URL like redis://[user:pass@]host:6379[/db] or rediss://… (value not shown: it may hold a password)` };
    }
    case 'name':
      return NAME.test(text) ? { ok: true, value: text } : bad('a name of letters, digits and . _ / : - (at most 200)');
    case 'tenant': {
      if (text === '') return { ok: true, value: undefined };
      const source = parseTenantSource(text);
      return source ? { ok: true, value: Object.freeze(source) } : bad('header:<name>, query:<name> or cookie:<name>');
    }
    case 'string':
      return { ok: true, value: String(raw) };
  }
}

/** Flag values win over env vars, env vars over defaults. */
export function loadConfig(values: RawValues, env: NodeJS.ProcessEnv): ConfigResult {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const spec of RUN_FLAGS) {
    const fromFlag = values[spec.name];
    const fromEnv = env[envNameOf(spec.name)];
    const raw = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : spec.default);
    const parsed = parseFlagValue(spec, raw);
    if (parsed.ok) config[configKeyOf(spec)] = parsed.value;
    else problems.push(fromFlag === undefined && fromEnv ? `${envNameOf(spec.name)} (${parsed.problem})` : parsed.problem);
  }
  if (config.podName === '') config.podName = hostname();
  if (problems.length === 0) problems.push(...crossCheck(config as unknown as Config));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: Object.freeze(config) as unknown as Config };
}

function crossCheck(config: Config): string[] {
  const problems: string[] = [];
  const sameHost = config.listen.host === config.adminListen.host || [config.listen.host, config.adminListen.host].includes('0.0.0.0');
  if (config.listen.port !== 0 && config.listen.port === config.adminListen.port && sameHost) {
    problems.push(`--listen and --admin-listen must not share port ${config.listen.port}`);
  }
  if (config.drainTimeoutMs <= config.drainDelayMs) {
    problems.push('--drain-timeout must be longer than --drain-delay (the deadline counts from the trigger)');
  } else if (config.drainDelayMs + config.drainSpreadMs + config.closeTimeoutMs > config.drainTimeoutMs) {
    // The last close starts at delay + spread and may take the whole close timeout.
    const seconds = (ms: number): string => `${ms / 1000} s`;
    const needed = config.drainDelayMs + config.drainSpreadMs + config.closeTimeoutMs;
    problems.push(
      `--drain-delay (${seconds(config.drainDelayMs)}) + --drain-spread (${seconds(config.drainSpreadMs)}) + --close-timeout (${seconds(config.closeTimeoutMs)}) = ${seconds(needed)} exceeds --drain-timeout (${seconds(config.drainTimeoutMs)}): the last clients would be cut off with 1006; raise --drain-timeout to at least ${needed / 1000} or shorten the others`,
    );
  }
  if (config.acceptBurst > 0 && config.acceptRate === 0) {
    problems.push('--accept-burst needs --accept-rate');
  }
  if (config.maxConnectionsPerTenant > 0 && config.tenantFrom === undefined) {
    problems.push('--max-connections-per-tenant needs --tenant-from (which request part names the tenant)');
  }
  if (config.tenantFrom?.from === 'header' && config.trustedProxies.length === 0) {
    // A client could otherwise fill another tenant's quota by sending its name.
    problems.push('--tenant-from header:… needs --trusted-proxies: a tenant header is believed only from a trusted proxy');
  }
  problems.push(...fleetProblems(config));
  return problems;
}

function fleetProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.fleetRedis === undefined) {
    if (config.rebalance) problems.push('--rebalance needs --fleet-redis');
    if (config.fleetShadow) problems.push('--fleet-shadow needs --fleet-redis');
    if (config.fleetMaxConnections > 0) problems.push('--fleet-max-connections needs --fleet-redis (a pod alone has --max-connections)');
    return problems;
  }
  if (config.fleetName === '') problems.push('--fleet-name must not be empty');
  if (config.fleetHeartbeatMs < 100) problems.push('--fleet-heartbeat must be at least 0.1 seconds');
  if (config.fleetTimeoutMs === 0) problems.push('--fleet-timeout must be more than 0');
  else if (config.fleetTimeoutMs >= config.fleetHeartbeatMs) problems.push('--fleet-timeout must be shorter than --fleet-heartbeat');
  if (config.rebalanceThreshold > 10) problems.push('--rebalance-threshold must be at most 10 (1000% over the fair share)');
  if (config.rebalanceRate === 0 || config.rebalanceRate > 1) problems.push('--rebalance-rate must be more than 0 and at most 1 (a share of the connections per second)');
  return problems;
}
