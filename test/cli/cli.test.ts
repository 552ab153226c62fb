// The real CLI process: help, version, and configuration errors reported all at once.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RUN_FLAGS, envNameOf } from '../../proxy/config/flags.js';
import { runCli } from '../helpers/sidecar-process.js';
import pkg from '../../package.json' with { type: 'json' };

describe('ws-sidecar CLI', () => {
  it('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists every flag with its env var and default', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const flag of RUN_FLAGS) {
      expect(result.stdout).toContain(`--${flag.name}`);
      expect(result.stdout).toContain(envNameOf(flag.name));
    }
    expect(result.stdout).toContain('default 0.0.0.0:8080');
    expect(result.stdout).toContain('default 25');
  });

  it('lists every configuration problem at once, exits 2 and opens no port', async () => {
    const result = await runCli(['--listen', '127.0.0.1:70000', '--upstream', 'ftp://app', '--frobnicate', '--drain-timeout', 'soon', '--admin-listen'], {
      env: { WS_SIDECAR_MAX_CONNECTIONS: 'lots' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown flag --frobnicate');
    expect(result.stderr).toContain('--admin-listen needs a value');
    expect(result.stderr).toContain('--listen: "127.0.0.1:70000" is not an address');
    expect(result.stderr).toContain('--upstream: "ftp://app" is not an upstream URL');
    expect(result.stderr).toContain('--drain-timeout: "soon" is not a duration');
    expect(result.stderr).toContain('WS_SIDECAR_MAX_CONNECTIONS (--max-connections: "lots" is not a non-negative integer)');
    expect(result.stdout).not.toContain('listening');
  });

  it('lets flags win over env vars', async () => {
    const result = await runCli(['--max-connections', 'x'], { env: { WS_SIDECAR_MAX_CONNECTIONS: '5', WS_SIDECAR_RETRY_AFTER: '-1' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--max-connections: "x"');
    expect(result.stderr).toContain('WS_SIDECAR_RETRY_AFTER');
  });

  it('refuses a drain that cannot finish: delay + spread + close timeout beyond the deadline', async () => {
    const result = await runCli(['--drain-delay', '1', '--drain-spread', '20', '--close-timeout', '5', '--drain-timeout', '3', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--drain-delay (1 s) + --drain-spread (20 s) + --close-timeout (5 s) = 26 s exceeds --drain-timeout (3 s)');
    expect(result.stdout).not.toContain('listening');
    // Exactly at the deadline is fine.
    const fits = await runCli(['--drain-delay', '1', '--drain-spread', '2', '--close-timeout', '1', '--drain-timeout', '4', '--listen', '127.0.0.1:99999']);
    expect(fits.stderr).not.toContain('exceeds --drain-timeout');
  });

  it('rejects an unknown command and stray arguments', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const stray = await runCli(['run', 'extra']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('unexpected argument: extra');
  });

  it('exits 1 with a clear log line when the port is taken', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['--listen', `127.0.0.1:${port}`, '--admin-listen', '127.0.0.1:0']);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });
});
