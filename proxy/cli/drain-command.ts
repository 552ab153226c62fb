// `ws-sidecar drain`: asks a running sidecar's admin port to drain (e.g. from a preStop exec hook).
import { request } from 'undici';
import { parseCommandArgs, type OptionSpecs } from '../config/cli-args.js';
import type { CliIo } from './cli-io.js';

export const DRAIN_OPTIONS: OptionSpecs = {
  admin: { type: 'string' },
  wait: { type: 'boolean' },
  token: { type: 'string' },
};

export const DRAIN_HELP = `Usage: ws-sidecar drain [--admin URL] [--wait] [--token TOKEN]

  --admin <url>    admin endpoint of the sidecar; env WS_SIDECAR_ADMIN, default http://127.0.0.1:9090
  --wait           return only when the drain has finished, printing its summary
  --token <text>   bearer token; env WS_SIDECAR_DRAIN_TOKEN`;

export async function drainCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(argv, DRAIN_OPTIONS);
  const admin = String(parsed.values.admin ?? io.env.WS_SIDECAR_ADMIN ?? 'http://127.0.0.1:9090');
  const token = String(parsed.values.token ?? io.env.WS_SIDECAR_DRAIN_TOKEN ?? '');
  const problems = [...parsed.problems];
  let url: URL | undefined;
  try {
    url = new URL('/drain', admin);
    if (!['http:', 'https:'].includes(url.protocol)) throw new Error('not http');
  } catch {
    problems.push(`--admin: ${JSON.stringify(admin)} is not an http URL like http://127.0.0.1:9090`);
  }
  if (problems.length > 0 || !url) {
    io.stderr.write(`ws-sidecar drain: ${problems.join('; ')}\n`);
    return 2;
  }
  if (parsed.values.wait) url.searchParams.set('wait', '1');
  try {
    const response = await request(url, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      // A drain can take up to --drain-timeout; the sidecar enforces that, not us.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const body = await response.body.text();
    (response.statusCode < 300 ? io.stdout : io.stderr).write(body.endsWith('\n') ? body : body + '\n');
    return response.statusCode < 300 ? 0 : 1;
  } catch (err) {
    io.stderr.write(`ws-sidecar drain: cannot reach ${url.origin}: ${(err as Error).message}\n`);
    return 1;
  }
}
