// `ws-sidecar webhook`: the mutating admission webhook over HTTPS until SIGTERM/SIGINT.
import { parseCommandArgs, type OptionSpecs } from '../config/cli-args.js';
import type { CliIo } from './cli-io.js';
import { parseAddress } from '../config/config.js';
import { LOG_LEVELS } from '../config/flags.js';
import { INJECTOR_HELP, INJECTOR_OPTIONS, injectorOptions } from '../inject/injector-options.js';
import { DEFAULT_MAX_BODY_BYTES, startWebhook } from '../inject/webhook.js';
import { createLogger } from '../config/logger.js';
import { handleStopSignals } from '../drain/signals.js';

export const WEBHOOK_OPTIONS: OptionSpecs = {
  ...INJECTOR_OPTIONS,
  listen: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'webhook-log-level': { type: 'string' },
};

export const WEBHOOK_HELP = `Usage: ws-sidecar webhook --tls-cert FILE --tls-key FILE [--listen :8443] [flags]

Mutating admission webhook: POST /mutate takes an AdmissionReview (v1) for a Pod CREATE and
answers with a JSONPatch that injects the sidecar; /mutate/namespace treats the pod's
namespace as opted in (point the webhook entry with the namespace selector there). GET /healthz.
Never denies a pod. Reloads the certificate when the files change.

  --listen <host:port>           HTTPS listener; default :8443
  --tls-cert <file>              PEM certificate (chain)
  --tls-key <file>               PEM private key
  --max-body-bytes <n>           largest AdmissionReview accepted; default ${DEFAULT_MAX_BODY_BYTES}
  --webhook-log-level <level>    the webhook's own log level; default info
${INJECTOR_HELP}
  Without --token-seed, every pod gets a random drain token.`;

export async function webhookCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(argv, WEBHOOK_OPTIONS);
  const { options, problems } = injectorOptions(parsed.values, io.env);
  problems.unshift(...parsed.problems);
  const listen = parseAddress(String(parsed.values.listen ?? ':8443'));
  if (!listen) problems.push(`--listen: ${JSON.stringify(parsed.values.listen)} is not an address like :8443`);
  const certFile = parsed.values['tls-cert'];
  const keyFile = parsed.values['tls-key'];
  if (typeof certFile !== 'string' || certFile === '') problems.push('--tls-cert is required');
  if (typeof keyFile !== 'string' || keyFile === '') problems.push('--tls-key is required');
  const maxBodyRaw = String(parsed.values['max-body-bytes'] ?? DEFAULT_MAX_BODY_BYTES);
  const maxBodyBytes = Number(maxBodyRaw);
  if (!/^\d+$/.test(maxBodyRaw) || maxBodyBytes < 1024) problems.push(`--max-body-bytes: ${JSON.stringify(maxBodyRaw)} is not a byte count of at least 1024`);
  const level = String(parsed.values['webhook-log-level'] ?? 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`--webhook-log-level: ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`);
  if (problems.length > 0 || !listen) {
    io.stderr.write(`ws-sidecar webhook: invalid flags:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee 'ws-sidecar webhook --help'.\n`);
    return 2;
  }
  const logger = createLogger(level, 'ws-sidecar-webhook');
  let webhook;
  try {
    webhook = await startWebhook({ certFile: certFile as string, keyFile: keyFile as string, inject: options, maxBodyBytes, logger }, listen.host, listen.port);
  } catch (err) {
    logger.error({ err }, 'could not start');
    return 1;
  }
  logger.info({ listener: 'webhook', host: listen.host, port: webhook.port, tokenSeed: options.tokenSeed !== undefined }, 'listening');
  const running = webhook;
  return new Promise<number>((resolve) => {
    handleStopSignals({
      onFirst: async () => {
        await running.close();
        resolve(0);
      },
      onSecond: () => resolve(1),
    });
  });
}
