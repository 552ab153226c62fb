// `npm run screenshot`: the README's picture of the rollout demo, made by running it (never by
// hand): 3 pods, 300 clients, one rollout with the sidecars in and the same one with them
// bypassed; the page as it then stands goes to docs/rollout-demo.png.
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { ROLLOUT_DEMO_DEFAULTS, startRolloutDemo, type RunningRolloutDemo } from '../../proxy/demo/rollout-demo.js';
import { launchChromium } from './chromium.js';

export const SCREENSHOT_PATH = fileURLToPath(new URL('../../docs/rollout-demo.png', import.meta.url));

/** Clicks an action's button, waits until the simulation says it is done and the page shows it idle. */
export async function runPageAction(page: Page, button: string, done: () => boolean, timeoutMs = 120_000): Promise<void> {
  await page.click(button);
  await until(done, timeoutMs);
  await page.waitForSelector('body[data-action="idle"]', { timeout: 10_000 });
}

/** The page's full height at its own width: what the README shows. */
export async function savePageScreenshot(page: Page, path: string): Promise<Buffer> {
  return page.screenshot({ path, fullPage: true, animations: 'disabled' });
}

export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('screenshot: the demo did not settle in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const browser = await launchChromium();
  let demo: RunningRolloutDemo | undefined;
  try {
    demo = await startRolloutDemo({ ...ROLLOUT_DEMO_DEFAULTS, pagePort: 0, frontPort: 0 });
    const sim = demo.simulation;
    const page = await browser.context.newPage();
    await page.goto(demo.pageUrl);
    await page.waitForSelector('body[data-updated]');
    const idleAfter = (rollouts: number) => () => sim.rollouts.length === rollouts && sim.action === 'idle';
    await runPageAction(page, '#roll', idleAfter(1));
    await page.uncheck('#sidecars');
    await until(() => !sim.withSidecars, 5_000);
    await runPageAction(page, '#roll', idleAfter(2));
    await until(() => sim.connected === sim.options.clients, 30_000);
    // A few more polls, so the chart shows the calm after the second storm.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await savePageScreenshot(page, SCREENSHOT_PATH);
    process.stdout.write(`wrote ${SCREENSHOT_PATH}\n`);
  } finally {
    await browser.close();
    await demo?.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
