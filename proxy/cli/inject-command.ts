// `ws-sidecar inject`: multi-document YAML in (files or stdin), injected YAML out on stdout.
// Nothing is written to stdout unless every input parsed: bad input loses nothing.
import { readFile } from 'node:fs/promises';
import { parseCommandArgs, type OptionSpecs } from '../config/cli-args.js';
import type { CliIo } from './cli-io.js';
import { INJECTOR_HELP, INJECTOR_OPTIONS, injectorOptions } from '../inject/injector-options.js';
import { injectManifests, type ManifestSource } from '../inject/manifests.js';

export const INJECT_OPTIONS: OptionSpecs = {
  filename: { type: 'string', short: 'f', multiple: true },
  all: { type: 'boolean' },
  'keep-target-ports': { type: 'boolean' },
  namespace: { type: 'string', short: 'n' },
  ...INJECTOR_OPTIONS,
};

export const INJECT_HELP = `Usage: ws-sidecar inject [-f FILE|-]... [--all] [--image IMAGE] [--native-sidecar] [flags]

Reads Kubernetes manifests (multi-document YAML or JSON: Pod, Deployment, StatefulSet,
DaemonSet, ReplicaSet, Job, CronJob, List) and prints them with the ws-sidecar injected into
every pod that opts in (annotation ws-sidecar.io/inject: "true"). Other kinds pass through.

  -f, --filename <file|->        input file, repeatable; - or none reads stdin
  --all                          inject every pod that does not opt out ("false")
  --keep-target-ports            leave Services alone: by default a Service in the input that
                                 selects only injected pods and targets the app port by number
                                 (or by default) gets targetPort = the sidecar's port
  -n, --namespace <ns>           namespace of objects that name none (part of the drain token's identity)
${INJECTOR_HELP}

stderr says, per object, what was injected or skipped and why, which Services were rewritten,
and warnings. Exit 2 on unreadable or unparsable input (nothing is printed then).`;

/** Each run without a seed: the tokens are only as secret as the input. */
export const NO_SEED_WARNING =
  'no --token-seed (or WS_SIDECAR_TOKEN_SEED): drain tokens are keyed on the input manifest, so anyone who can read it (a public GitOps repository) can compute them; give a secret seed';

export async function injectCommand(argv: readonly string[], io: CliIo & { stdin?: NodeJS.ReadableStream }): Promise<number> {
  const parsed = parseCommandArgs(argv, INJECT_OPTIONS);
  const { options, problems } = injectorOptions(parsed.values, io.env);
  problems.unshift(...parsed.problems);
  if (problems.length > 0) {
    io.stderr.write(`ws-sidecar inject: invalid flags:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee 'ws-sidecar inject --help'.\n`);
    return 2;
  }
  const files = (parsed.values.filename as string[] | undefined) ?? ['-'];
  const namespace = typeof parsed.values.namespace === 'string' ? parsed.values.namespace : undefined;
  const sources: ManifestSource[] = [];
  const errors: string[] = [];
  for (const file of files) {
    const source = file === '-' ? '<stdin>' : file;
    try {
      sources.push({ source, text: file === '-' ? await readAll(io.stdin ?? process.stdin) : await readFile(file, 'utf8') });
    } catch (err) {
      errors.push(`${source}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const result = injectManifests(sources, {
    ...options,
    all: parsed.values.all === true,
    keepTargetPorts: parsed.values['keep-target-ports'] === true,
    tokenFallback: 'content',
    ...(namespace ? { namespace } : {}),
  });
  if (!result.ok) errors.push(...result.problems);
  if (errors.length > 0 || !result.ok) {
    io.stderr.write(`ws-sidecar inject: input is not valid YAML or cannot be read; nothing was written:\n${errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 2;
  }
  for (const outcome of result.outcomes) {
    for (const line of outcome.said) io.stderr.write(`ws-sidecar inject: ${outcome.source}: ${outcome.object}: ${line}\n`);
    for (const warning of outcome.warnings) io.stderr.write(`ws-sidecar inject: warning: ${outcome.source}: ${outcome.object}: ${warning}\n`);
  }
  if (options.tokenSeed === undefined && result.outcomes.some((outcome) => outcome.said.some((line) => line.startsWith('injected')))) {
    io.stderr.write(`ws-sidecar inject: warning: ${NO_SEED_WARNING}\n`);
  }
  io.stdout.write(joinStreams(result.outputs));
  return 0;
}

/** Files become one stream: each starts a new document. */
function joinStreams(outputs: string[]): string {
  return outputs
    .filter((text) => text.trim() !== '')
    .map((text, index) => {
      const body = text.endsWith('\n') ? text : text + '\n';
      return index === 0 || /^---(\s|$)/.test(body) ? body : `---\n${body}`;
    })
    .join('');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
