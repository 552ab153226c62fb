// The rollout demo in fleet mode (`npm run demo -- --pods 2 --fleet-redis …`) on a real
// redis-server, driven through its page in headless Chromium: after a scale out the page shows
// the fleet (pods, fair share, each pod's rebalancer) and the clients the rebalancer moved to
// the new pod, with the simulation's own totals and no 1006. The README's screenshot is taken
// by the same page helpers (npm run screenshot); the last step proves that path writes a PNG.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLLOUT_DEMO_DEFAULTS, startRolloutDemo, type RunningRolloutDemo } from '../../proxy/demo/rollout-demo.js';
import { chromiumMissing, chromiumSkipNote, launchChromium, type HeadlessChromium } from '../helpers/chromium.js';
import { runPageAction, savePageScreenshot } from '../helpers/demo-screenshot.js';
import { redisMissing, redisSkipNote, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const CLIENTS = 60;

describe.skipIf(chromiumMissing || redisMissing)(`rollout demo in fleet mode${chromiumSkipNote}${redisSkipNote}`, () => {
  let redis: RedisServer;
  let demo: RunningRolloutDemo;
  let browser: HeadlessChromium;
  let page: Page;
  const problems: string[] = [];
  const screenshot = join(tmpdir(), `ws-sidecar-demo-${process.pid}.png`);

  beforeAll(async () => {
    redis = await startRedisServer();
    demo = await startRolloutDemo({ ...ROLLOUT_DEMO_DEFAULTS, pods: 2, clients: CLIENTS, pagePort: 0, frontPort: 0, fleetRedis: redis.url });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.goto(demo.pageUrl);
    await page.waitForSelector('body[data-updated]');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    await redis?.stop();
    await rm(screenshot, { force: true });
  });

  const text = (selector: string): Promise<string | null> => page.textContent(selector);

  it('shows the fleet, and after a scale out the clients the rebalancer moved to the new pod', { timeout: 120_000 }, async () => {
    const sim = demo.simulation;
    await page.waitForSelector('#fleet:not([hidden])', { timeout: 10_000 });
    await expect.poll(() => text('#fleet-pods'), { timeout: 15_000, interval: 100 }).toBe('2');
    await expect.poll(() => text('#fleet-store'), { timeout: 5_000, interval: 100 }).toBe('up');
    // The rebalancer moves only connections older than the demo's --rebalance-min-age (3 s).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await runPageAction(page, '#scale', () => sim.pods.length === 3 && sim.action === 'idle');
    await expect.poll(() => text('#fleet-pods'), { timeout: 15_000, interval: 100 }).toBe('3');
    const newest = sim.pods[2]!;
    await expect.poll(() => sim.closesByReason().rebalancing ?? 0, { timeout: 60_000, interval: 200 }).toBeGreaterThan(0);
    // Settled: the rebalancer stopped everywhere and every client is back.
    await expect
      .poll(() => sim.pods.every((pod) => pod.fleetView?.rebalance.state === 'idle') && sim.connected === CLIENTS, { timeout: 60_000, interval: 200 })
      .toBe(true);
    expect(newest.connections).toBeGreaterThan(0);
    await page.uncheck('#sending');
    await expect.poll(() => sim.outstanding, { timeout: 30_000, interval: 100 }).toBe(0);
    const moved = sim.closesByReason().rebalancing!;
    await expect.poll(() => text('#fleet-moved'), { timeout: 5_000, interval: 100 }).toBe(String(moved));
    expect(await text('#close-1006')).toBe('0');
    expect(sim.tally.closeCodes.get(1006) ?? 0).toBe(0);
    expect(await text('#close-1012')).toBe(String(sim.tally.closeCodes.get(1012)));
    // Each pod's row names its rebalancer's state, as its sidecar's /fleet does.
    const states = () => page.$$eval('#pods tr .rebalance', (cells) => cells.map((cell) => cell.textContent));
    await expect.poll(states, { timeout: 5_000, interval: 100 }).toEqual(sim.pods.map((pod) => `idle: ${pod.fleetView!.rebalance.reason}`));
    await expect.poll(() => text('#fleet-fair'), { timeout: 5_000, interval: 100 }).toBe(String(Math.round((CLIENTS / 3) * 100) / 100));
    await page.check('#sending');
    expect(problems).toEqual([]);
  });

  it('the screenshot path (npm run screenshot) writes the page as a PNG', async () => {
    const png = await savePageScreenshot(page, screenshot);
    expect((await readFile(screenshot)).equals(png)).toBe(true);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1200);
  });
});
