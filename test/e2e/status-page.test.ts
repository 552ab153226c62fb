// The status page rendered by a real headless Chromium against the real CLI.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { openClient, startApp, type TestApp } from '../helpers/apps.js';
import { getJson } from '../helpers/admin-client.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(!existsSync(CHROMIUM))(`status page in headless Chromium${existsSync(CHROMIUM) ? '' : ` (SKIPPED: ${CHROMIUM} not installed)`}`, () => {
  let app: TestApp;
  let sidecar: SidecarProcess;
  let profile: string;
  let browser: BrowserContext;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    app = await startApp();
    sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '40']);
    profile = await mkdtemp(join(tmpdir(), 'ws-sidecar-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    for (const ws of clients) ws.terminate();
    sidecar?.kill();
    await sidecar?.exited;
    await app?.close();
  });

  it('renders without console errors and shows the live connection count of /status', async () => {
    for (let i = 0; i < 3; i++) clients.push(await openClient(`ws://127.0.0.1:${sidecar.dataPort}/page/${i}`));
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (request) => problems.push(`requestfailed: ${request.url()}`));

    const response = await page.goto(`http://127.0.0.1:${sidecar.adminPort}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');

    // The page polls /status: wait for its first render.
    await page.waitForSelector('body[data-updated]');
    const status = await getJson<{ connections: { active: number; max: number } }>(sidecar.adminPort, '/status');
    expect(status.body.connections.active).toBe(3);
    expect(await page.textContent('#active')).toBe(String(status.body.connections.active));
    expect(await page.textContent('#max')).toBe('40');
    expect(await page.textContent('#drain')).toBe('running');
    expect(await page.textContent('#ready')).toBe('ready');

    // It keeps polling: one more connection shows up, and the chart has points.
    clients.push(await openClient(`ws://127.0.0.1:${sidecar.dataPort}/page/late`));
    await expect.poll(() => page.textContent('#active'), { timeout: 10_000, interval: 100 }).toBe('4');
    const points = await page.getAttribute('#active-line', 'points');
    expect(points?.split(' ').length).toBeGreaterThanOrEqual(2);
    expect(await page.textContent('#rate-accepted')).toMatch(/^\d+\.\d$/);

    expect(problems).toEqual([]);
    await page.close();
  });
});
