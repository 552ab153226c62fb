// Flags shared by `inject` and `webhook`: image, mode, token seed, cluster version, and every
// sidecar flag as a default for injected pods. Parsed values → InjectOptions + all problems.
import type { OptionSpecs } from '../config/cli-args.js';
import { RUN_FLAGS } from '../config/flags.js';
import { parseBytes } from '../config/config.js';
import { VERSION } from '../config/version.js';
import { INJECTOR_OWNED_FLAGS } from './annotations.js';
import type { InjectOptions } from './inject.js';
import { checkFlagDefaults } from './sidecar-flags.js';
import { parseKubernetesVersion } from './sidecar-mode.js';

export const DEFAULT_IMAGE = `ghcr.io/ws-sidecar/ws-sidecar:${VERSION}`;
export const TOKEN_SEED_ENV = 'WS_SIDECAR_TOKEN_SEED';

const SIDECAR_DEFAULT_FLAGS = RUN_FLAGS.filter((flag) => !INJECTOR_OWNED_FLAGS.includes(flag.name));

export const INJECTOR_OPTIONS: OptionSpecs = {
  image: { type: 'string' },
  'native-sidecar': { type: 'boolean' },
  'token-seed': { type: 'string' },
  'kubernetes-version': { type: 'string' },
  'memory-limit': { type: 'string' },
  ...Object.fromEntries(SIDECAR_DEFAULT_FLAGS.map((flag) => [flag.name, { type: flag.kind === 'boolean' ? 'boolean' : 'string' }] as const)),
};

export const INJECTOR_HELP = `  --image <image>                image of the sidecar; default ${DEFAULT_IMAGE}
  --native-sidecar               inject an init container with restartPolicy Always (Kubernetes 1.29+;
                                 Services reach its named ports only from 1.33, see docs/injection.md)
  --token-seed <text>            key of the per-pod drain tokens; env ${TOKEN_SEED_ENV}
  --kubernetes-version <x.y>     the cluster's version: falls back to a regular container where a
                                 native sidecar would not work
  --memory-limit <size>          memory limit of injected sidecars (e.g. 256Mi): their cap is derived
                                 from it; unset, the limit is derived from the cap (docs/injection.md)
  --<sidecar flag> <value>       default for injected sidecars (see 'ws-sidecar run --help'); pod
                                 annotations ws-sidecar.io/<flag> override it. Injected pods default
                                 to --drain-delay 5.`;

type Values = Readonly<Record<string, string | boolean | string[] | boolean[] | undefined>>;

export function injectorOptions(values: Values, env: NodeJS.ProcessEnv): { options: InjectOptions; problems: string[] } {
  const problems: string[] = [];
  const flags: Record<string, string> = {};
  for (const spec of SIDECAR_DEFAULT_FLAGS) {
    const value = values[spec.name];
    if (typeof value === 'string') flags[spec.name] = value;
    else if (value === true) flags[spec.name] = 'true';
  }
  problems.push(...checkFlagDefaults(flags));
  const image = typeof values.image === 'string' ? values.image.trim() : DEFAULT_IMAGE;
  if (image === '' || /\s/.test(image)) problems.push(`--image: ${JSON.stringify(values.image)} is not an image reference`);
  let kubernetesVersion;
  if (typeof values['kubernetes-version'] === 'string') {
    kubernetesVersion = parseKubernetesVersion(values['kubernetes-version']);
    if (!kubernetesVersion) problems.push(`--kubernetes-version: ${JSON.stringify(values['kubernetes-version'])} is not a version like 1.33`);
  }
  let memoryLimitBytes: number | undefined;
  if (typeof values['memory-limit'] === 'string') {
    memoryLimitBytes = parseBytes(values['memory-limit']);
    if (memoryLimitBytes === undefined || memoryLimitBytes === 0) problems.push(`--memory-limit: ${JSON.stringify(values['memory-limit'])} is not a size like 256Mi`);
  }
  const seed = typeof values['token-seed'] === 'string' ? values['token-seed'] : env[TOKEN_SEED_ENV];
  const options: InjectOptions = {
    image,
    nativeSidecar: values['native-sidecar'] === true,
    flags,
    ...(seed ? { tokenSeed: seed } : {}),
    ...(kubernetesVersion ? { kubernetesVersion } : {}),
    ...(memoryLimitBytes ? { memoryLimitBytes } : {}),
  };
  return { options, problems };
}
