// The Dockerfile: checked as parsed (pinned LTS base, non-root numeric user, no HEALTHCHECK,
// production dependencies only), then its steps run in a temp folder and the resulting
// runtime folder serves WebSockets, including the chat example as the image would run it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DockerfileParser } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIDECAR_UID } from '../../proxy/inject/sidecar-container.js';
import { closed, nextMessage, openClient, startApp, type TestApp } from '../helpers/apps.js';
import { buildDockerfile, hostPath, type BuiltStage } from '../helpers/dockerfile-build.js';
import { REPO_ROOT } from '../helpers/kustomize.js';
import { runCli, startSidecarProcess } from '../helpers/sidecar-process.js';

const DOCKERFILE = join(REPO_ROOT, 'Dockerfile');
const dockerfile = DockerfileParser.parse(readFileSync(DOCKERFILE, 'utf8'));
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const instructions = dockerfile.getInstructions();
const lastFrom = instructions.findLastIndex((instruction) => instruction.getKeyword() === 'FROM');
const runtimeInstructions = instructions.slice(lastFrom);

describe('Dockerfile as written', () => {
  it('builds in stages from a Node LTS base pinned by version tag and digest', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      expect(from.getImageName()).toBe('node');
      // Even Node majors become LTS; the tag names an exact release, the digest pins its bytes.
      expect(from.getImageTag()).toMatch(/^\d*[02468]\.\d+\.\d+-/);
      expect(from.getImageDigest()).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
  });

  it('runs as the numeric non-root user the injector sets, and leaves health to Kubernetes probes', () => {
    const users = runtimeInstructions.filter((instruction) => instruction.getKeyword() === 'USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.getArgumentsContent()!.split(':');
    // One uid everywhere: the image, the injected sidecar's securityContext, the deploy/ pods.
    expect(Number(uid)).toBe(SIDECAR_UID);
    expect(Number(gid)).toBe(SIDECAR_UID);
    expect(instructions.filter((instruction) => instruction.getKeyword() === 'HEALTHCHECK')).toEqual([]);
    const entrypoint = runtimeInstructions.find((instruction) => instruction.getKeyword() === 'ENTRYPOINT')!;
    expect(JSON.parse(entrypoint.getArgumentsContent()!)).toEqual(['node', '/app/dist/proxy/main.js']);
  });

  it('installs only production dependencies in the runtime stage and copies only the compiled output', () => {
    const runs = runtimeInstructions.filter((instruction) => instruction.getKeyword() === 'RUN').map((instruction) => instruction.getArgumentsContent()!);
    expect(runs).toEqual([expect.stringMatching(/^npm ci --omit=dev --ignore-scripts\b/)]);
    const copiesFromBuild = runtimeInstructions.filter((instruction) => instruction.getKeyword() === 'COPY' && /--from=/.test(instruction.getTextContent()));
    expect(copiesFromBuild.map((instruction) => instruction.getArgumentsContent())).toEqual([expect.stringMatching(/^\/\S+\/dist\/proxy \S+$/)]);
  });

  it('keeps every file the build copies in the .dockerignore allow-list', () => {
    const allowed = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1).replace(/\/\*\*$/, ''));
    const copied = instructions
      .filter((instruction) => instruction.getKeyword() === 'COPY' && !/--from=/.test(instruction.getTextContent()))
      .flatMap((instruction) => instruction.getArgumentsContent()!.split(/\s+/).slice(0, -1));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) expect(allowed).toContain(source);
  });
});

describe('Dockerfile steps, run in a temp folder', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'ws-sidecar-image-'));
  let runtime: BuiltStage;
  let mainJs: string;
  let app: TestApp | undefined;
  beforeAll(() => {
    // One build for the whole file; npm reads its local cache first.
    const stages = buildDockerfile(DOCKERFILE, REPO_ROOT, outDir, { ...process.env, npm_config_prefer_offline: 'true' });
    runtime = stages.at(-1)!;
    mainJs = hostPath(runtime, runtime.entrypoint![1]!);
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('leaves only package files, compiled output and production node_modules in /app', () => {
    const appDir = hostPath(runtime, '/app');
    expect(existsSync(join(appDir, 'dist/proxy/main.js'))).toBe(true);
    expect(existsSync(join(appDir, 'proxy'))).toBe(false);
    expect(existsSync(join(appDir, 'node_modules/ws/package.json'))).toBe(true);
    const devOnly = Object.keys(pkg.devDependencies).filter((name) => existsSync(join(appDir, 'node_modules', name)));
    expect(devOnly).toEqual([]);
  });

  it('ships the native data plane, built in the build stage, and runs on it', async () => {
    expect(existsSync(join(hostPath(runtime, '/app'), 'dist/proxy/data-path/native/ws_sidecar_native.node'))).toBe(true);
    app ??= await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`], { ...runtime.env, WS_SIDECAR_DATA_PLANE: 'auto' }, mainJs);
    try {
      expect((await sidecar.waitForLog((line) => line.msg === 'data plane')).dataPlane).toBe('native');
      const client = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const reply = nextMessage(client);
      client.send('through the native plane');
      expect((await reply).data.toString()).toBe('through the native plane');
      client.terminate();
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  });

  it('prints the package version', async () => {
    const result = await runCli(['--version'], {}, mainJs);
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('proxies a WebSocket round trip to a real app', async () => {
    app ??= await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`], runtime.env, mainJs);
    try {
      const client = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const reply = nextMessage(client);
      client.send('through the image');
      expect((await reply).data.toString()).toBe('through the image');
      const done = closed(client);
      client.close(1000, 'bye');
      expect((await done).code).toBe(1000);
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  });

  it('runs the chat example as the pod does: the app from /app/examples, the sidecar in front', async () => {
    const examples = hostPath(runtime, '/app/examples');
    cpSync(join(REPO_ROOT, 'deploy/examples/chat/chat-server.mjs'), join(examples, 'chat-server.mjs'));
    const chat = spawn(process.execPath, [join(examples, 'chat-server.mjs')], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(createInterface({ input: chat.stdout! }), 'line')) as [string];
      const { port } = JSON.parse(line) as { port: number };
      const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${port}`, '--upstream-check', 'tcp'], runtime.env, mainJs);
      try {
        const alice = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/chat`);
        const bob = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/chat`);
        const toAlice = nextMessage(alice);
        const toBob = nextMessage(bob);
        alice.send('hello room');
        expect((await toAlice).data.toString()).toBe('hello room');
        expect((await toBob).data.toString()).toBe('hello room');
        const page = await fetch(`http://127.0.0.1:${sidecar.dataPort}/`);
        expect(await page.text()).toContain('delay_ms=');
        await Promise.all([alice, bob].map((client) => {
          const done = closed(client);
          client.close();
          return done;
        }));
      } finally {
        sidecar.kill();
        await sidecar.exited;
      }
    } finally {
      chat.kill();
      await once(chat, 'exit');
    }
  });
});
