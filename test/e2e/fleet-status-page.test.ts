// The status page's fleet panel in a real headless Chromium: two real sidecars sharing a real
// Redis; every pod with its count and state, the fair share, what the rebalancer does and why.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { openClient, startApp, type TestApp } from '../helpers/apps.js';
import { redisMissing, redisSkipNote, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

const CHROMIUM = '/usr/bin/chromium';
const skipNote = !existsSync(CHROMIUM) ? ` (SKIPPED: ${CHROMIUM} not installed)` : redisSkipNote;

describe.skipIf(!existsSync(CHROMIUM) || redisMissing)(`fleet panel of the status page${skipNote}`, () => {
  let redis: RedisServer;
  const apps: TestApp[] = [];
  const sidecars: SidecarProcess[] = [];
  const clients: WebSocket[] = [];
  let profile: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    redis = await startRedisServer();
    apps.push(await startApp(), await startApp());
    for (const [i, app] of apps.entries()) {
      sidecars.push(
        await startSidecarProcess([
          '--upstream', `http://127.0.0.1:${app.port}`,
          '--fleet-redis', redis.url, '--fleet-name', 'page/chat', '--pod-name', `page-${i + 1}`, '--revision', 'abc',
          '--fleet-heartbeat', '0.5', '--fleet-timeout', '0.4', '--rebalance',
        ]),
      );
    }
    profile = await mkdtemp(join(tmpdir(), 'ws-sidecar-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    for (const ws of clients) ws.terminate();
    for (const sidecar of sidecars) sidecar.kill();
    await Promise.all(sidecars.map((sidecar) => sidecar.exited));
    await Promise.all(apps.map((app) => app.close()));
    await redis?.stop();
  });

  it('lists every pod with its count, marks this one, and says what the rebalancer does and why', async () => {
    for (let i = 0; i < 2; i++) clients.push(await openClient(`ws://127.0.0.1:${sidecars[0]!.dataPort}/`));
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.goto(`http://127.0.0.1:${sidecars[0]!.adminPort}/`);
    await expect.poll(() => page.locator('#fleet-pods tr').count(), { timeout: 15_000, interval: 100 }).toBe(2);
    await expect.poll(() => page.textContent('#fleet-total'), { timeout: 15_000, interval: 100 }).toBe('2 pods, 2 connections, fair share 1');
    const rows = await page.locator('#fleet-pods tr').allTextContents();
    expect(rows[0]).toMatch(/^page-1 \(this pod\)abcready2/);
    expect(rows[1]).toMatch(/^page-2abcready0/);
    expect(await page.textContent('#fleet-name')).toBe('page/chat');
    expect(await page.textContent('#fleet-store')).toBe('store up');
    expect(await page.textContent('#fleet-rebalance')).toBe('rebalance idle');
    // 2 against a fair share of 1: over the threshold, but by less than the minimum excess of 10
    // (decided at the next heartbeat: the count above is live, the reason is the last check's).
    await expect.poll(() => page.textContent('#fleet-reason'), { timeout: 15_000, interval: 100 }).toBe('over the threshold by fewer than --rebalance-min-excess connections');

    // Redis gone: the page says so, and why rebalancing waits.
    await redis.kill();
    await expect.poll(() => page.textContent('#fleet-store'), { timeout: 15_000, interval: 100 }).toBe('store down');
    expect(await page.textContent('#fleet-rebalance')).toBe('rebalance paused');
    expect(await page.textContent('#fleet-reason')).toBe('paused: the fleet store is down');
    expect(problems).toEqual([]);
    await page.close();
  });
});
