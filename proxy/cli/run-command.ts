// `ws-sidecar [run]`: validate everything, then open ports; drain on SIGTERM/SIGINT.
import { parseCommandArgs, type OptionSpecs } from '../config/cli-args.js';
import { loadConfig, type RawValues } from '../config/config.js';
import { RUN_FLAGS, envNameOf } from '../config/flags.js';
import { createLogger } from '../config/logger.js';
import { createDataPlane } from '../data-path/data-plane.js';
import { startSidecar, type RunningSidecar } from '../sidecar.js';
import { VERSION } from '../config/version.js';
import { handleStopSignals } from '../drain/signals.js';
import type { CliIo } from './cli-io.js';

export const RUN_OPTIONS: OptionSpecs = Object.fromEntries(
  RUN_FLAGS.map((flag) => [flag.name, { type: flag.kind === 'boolean' ? 'boolean' : 'string' }] as const),
);

export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(argv, RUN_OPTIONS);
  const result = loadConfig(parsed.values as RawValues, io.env);
  const problems = [...parsed.problems, ...(result.ok ? [] : result.problems)];
  if (problems.length > 0 || !result.ok) {
    io.stderr.write(`ws-sidecar: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee 'ws-sidecar --help'.\n`);
    return 2;
  }
  const config = result.config;
  const plane = createDataPlane(config.dataPlane);
  if (!plane.ok) {
    io.stderr.write(`ws-sidecar: invalid configuration:\n  - ${plane.problem}\nSee 'ws-sidecar --help'.\n`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  return new Promise<number>((resolve) => {
    // Before any port opens, so a SIGTERM that comes during start-up drains instead of killing.
    let started: Promise<RunningSidecar | undefined> | undefined;
    handleStopSignals({
      onFirst: async (signal) => {
        const running = await started;
        if (!running) return;
        await running.drain.start(signal);
        await running.close();
        resolve(0);
      },
      onSecond: (signal) => {
        logger.warn({ signal }, 'second signal: exiting at once');
        resolve(1);
      },
    });
    logger.info({ version: VERSION, pid: process.pid }, 'starting');
    started = startSidecar(config, logger, plane.plane).catch((err: unknown) => {
      logger.error({ err }, 'could not start');
      resolve(1);
      return undefined;
    });
  });
}

export function runHelp(): string {
  const lines = RUN_FLAGS.map((flag) => {
    const name = `--${flag.name}${flag.kind === 'boolean' ? '' : ' <' + valueHint(flag.kind) + '>'}`;
    const shown = flag.secret ? '(unset)' : flag.default === '' ? '(none)' : flag.default;
    return `  ${name.padEnd(34)} ${flag.help}\n  ${''.padEnd(34)} env ${envNameOf(flag.name)}, default ${shown}`;
  });
  return lines.join('\n');
}

function valueHint(kind: string): string {
  return { address: 'host:port', url: 'url', count: 'n', rate: 'n/s', seconds: 'seconds', enum: 'choice', cidrs: 'cidrs', check: 'check', tenant: 'source:name', redis: 'url', name: 'name', string: 'text' }[kind] ?? 'value';
}
