// Subcommands: run (default), drain, inject, webhook, version, help.
import type { CliIo } from './cli-io.js';
import { drainCommand, DRAIN_HELP } from './drain-command.js';
import { injectCommand, INJECT_HELP } from './inject-command.js';
import { runCommand, runHelp } from './run-command.js';
import { VERSION } from '../config/version.js';
import { webhookCommand, WEBHOOK_HELP } from './webhook-command.js';

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: () => string }> = {
  run: { run: runCommand, help: () => `Usage: ws-sidecar [run] [flags]\n\nFlags (every flag also reads its env var; flags win):\n${runHelp()}` },
  drain: { run: drainCommand, help: () => DRAIN_HELP },
  inject: { run: injectCommand, help: () => INJECT_HELP },
  webhook: { run: webhookCommand, help: () => WEBHOOK_HELP },
};

function usage(): string {
  return `ws-sidecar ${VERSION}: a sidecar proxy that caps, measures and politely drains WebSocket connections.

Usage:
  ws-sidecar [run] [flags]     proxy --listen to the app at --upstream
  ws-sidecar drain [flags]     ask a running sidecar to drain
  ws-sidecar inject [-f FILE]  print manifests with the sidecar injected
  ws-sidecar webhook [flags]   serve the mutating admission webhook (HTTPS)
  ws-sidecar <command> --help  flags of a command
  ws-sidecar --version

${COMMANDS.run!.help()}
`;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(usage());
    return 0;
  }
  const named = first !== undefined && COMMANDS[first] !== undefined;
  const command = named ? COMMANDS[first]! : COMMANDS.run!;
  const args = named ? rest : argv;
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(command.help() + '\n');
    return 0;
  }
  if (!named && first !== undefined && !first.startsWith('-')) {
    io.stderr.write(`ws-sidecar: unknown command ${JSON.stringify(first)}. See 'ws-sidecar --help'.\n`);
    return 2;
  }
  return command.run(args, io);
}
