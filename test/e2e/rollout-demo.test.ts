// The rollout demo (`npm run demo -- --pods 3`) driven through its page in headless Chromium:
// the buttons roll the pods with the sidecars in, then with them bypassed; after each, the page
// shows the simulation's own totals, and with the sidecars in no client saw a 1006.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLLOUT_DEMO_DEFAULTS, startRolloutDemo, type RunningRolloutDemo } from '../../proxy/demo/rollout-demo.js';
import { chromiumMissing, chromiumSkipNote, launchChromium, type HeadlessChromium } from '../helpers/chromium.js';

const CLIENTS = 150;

describe.skipIf(chromiumMissing)(`rollout demo page in headless Chromium${chromiumSkipNote}`, () => {
  let demo: RunningRolloutDemo;
  let browser: HeadlessChromium;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    demo = await startRolloutDemo({ ...ROLLOUT_DEMO_DEFAULTS, clients: CLIENTS, pagePort: 0, frontPort: 0 });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const response = await page.goto(demo.pageUrl);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    await page.waitForSelector('body[data-updated]');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  const text = (selector: string): Promise<string | null> => page.textContent(selector);

  /** Clicks a button, waits for the action to start and end on the page itself. */
  async function runAction(button: string, rollouts: number): Promise<void> {
    const sim = demo.simulation;
    await page.click(button);
    await expect.poll(() => sim.rollouts.length, { timeout: 90_000, interval: 200 }).toBe(rollouts);
    await page.waitForSelector(`#rollouts tr[data-rollout="${rollouts}"]`, { timeout: 10_000 });
    await page.waitForSelector('body[data-action="idle"]');
  }

  /** With sending paused and every ack in, the totals stand still: the page must show them. */
  async function expectPageShowsTotals(): Promise<void> {
    const sim = demo.simulation;
    await page.uncheck('#sending');
    await expect.poll(() => sim.sending, { timeout: 5_000 }).toBe(false);
    await expect.poll(() => sim.outstanding === 0 && sim.connected === CLIENTS, { timeout: 30_000, interval: 100 }).toBe(true);
    const { tally } = sim;
    const want: Array<[string, string]> = [
      ['#sent', String(tally.sent)],
      ['#acked', String(tally.acknowledged)],
      ['#lost', String(tally.unackedAtClose)],
      ['#outstanding', '0'],
      ['#reconnects', String(tally.reconnectTimes.length)],
      ['#close-1012', String(tally.closeCodes.get(1012) ?? 0)],
      ['#close-1006', String(tally.closeCodes.get(1006) ?? 0)],
      ['#connected', String(CLIENTS)],
    ];
    for (const [selector, value] of want) await expect.poll(() => text(selector), { timeout: 5_000, interval: 100 }).toBe(value);
    expect(tally.sent).toBe(tally.acknowledged);
    // Per pod: the page shows what each pod holds, and every client is on one of the new pods.
    const perPod = () => page.$$eval('#pods tr', (rows) => rows.map((row) => Number(row.querySelector('.conn')?.textContent)));
    await expect.poll(async () => (await perPod()).reduce((a, b) => a + b, 0), { timeout: 10_000, interval: 200 }).toBe(CLIENTS);
    expect(await perPod()).toEqual(sim.pods.map((pod) => pod.connections));
    await page.check('#sending');
    await expect.poll(() => sim.sending, { timeout: 5_000 }).toBe(true);
  }

  it('rolls the pods with the sidecars in: every client got 1012, none 1006, and the page shows the totals', { timeout: 150_000 }, async () => {
    expect(await page.$$eval('#pods tr', (rows) => rows.length)).toBe(3);
    await runAction('#roll', 1);
    const [rollout] = demo.simulation.rollouts;
    expect(rollout!.withSidecars).toBe(true);
    expect(rollout!.closes['1006'] ?? 0).toBe(0);
    expect(rollout!.closes['1012']).toBeGreaterThanOrEqual(CLIENTS);
    await expectPageShowsTotals();
    expect(await text('#close-1006')).toBe('0');
    expect(await text('#rollouts tr[data-rollout="1"] .closes')).toBe(Object.entries(rollout!.closes).map(([code, count]) => `${code}×${count}`).join(' '));
  });

  it('rolls them again with the sidecars bypassed: the page shows the 1006s the clients saw', { timeout: 150_000 }, async () => {
    await page.uncheck('#sidecars');
    await expect.poll(() => demo.simulation.withSidecars, { timeout: 5_000 }).toBe(false);
    await runAction('#roll', 2);
    const rollout = demo.simulation.rollouts[1]!;
    expect(rollout.withSidecars).toBe(false);
    expect(rollout.closes['1006']).toBeGreaterThanOrEqual(CLIENTS);
    expect(rollout.closes['1012'] ?? 0).toBe(0);
    await expectPageShowsTotals();
    expect(Number(await text('#close-1006'))).toBe(rollout.closes['1006']);
    expect(await page.$$eval('#pods tr', (rows) => rows.map((row) => row.children[1]!.textContent))).toEqual(['bypassed', 'bypassed', 'bypassed']);
    expect(problems).toEqual([]);
  });
});
