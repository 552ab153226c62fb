// Runs a Dockerfile's steps without a container engine: each stage gets a folder standing in for
// its root filesystem, COPY copies into it, RUN runs in its WORKDIR with the host's node and npm.
// `RUN apk add` is checked, not run: each tool it names must be on the host's PATH.
// Only the instructions our Dockerfile uses are understood; anything else fails loudly.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

export interface BuiltStage {
  readonly name: string;
  /** Stands in for the stage's `/`. */
  readonly root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
}

const IGNORED = new Set(['EXPOSE', 'LABEL']);

/** The host path of a container path in a stage. */
export function hostPath(stage: BuiltStage, containerPath: string): string {
  return join(stage.root, posix.resolve(stage.workdir, containerPath));
}

function flag(instruction: Instruction, name: string): string | undefined {
  const flags = 'getFlags' in instruction ? (instruction as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags() : [];
  return flags.find((candidate) => candidate.getName() === name)?.getValue() ?? undefined;
}

export function buildDockerfile(dockerfilePath: string, contextDir: string, outDir: string, env: NodeJS.ProcessEnv): BuiltStage[] {
  const dockerfile = DockerfileParser.parse(readFileSync(dockerfilePath, 'utf8'));
  const stages: BuiltStage[] = [];
  let stage: BuiltStage | undefined;
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArgumentsContent() ?? '';
    if (keyword === 'FROM') {
      const name = /\bAS\s+(\S+)\s*$/i.exec(args)?.[1] ?? `stage-${stages.length}`;
      stage = { name, root: join(outDir, name), workdir: '/', env: {} };
      mkdirSync(stage.root, { recursive: true });
      stages.push(stage);
      continue;
    }
    if (!stage) throw new Error(`${keyword} before FROM`);
    const current = stage;
    switch (keyword) {
      case 'WORKDIR':
        current.workdir = posix.resolve(current.workdir, args);
        mkdirSync(hostPath(current, '.'), { recursive: true });
        break;
      case 'ENV':
        for (const pair of args.split(/\s+/)) {
          const [key, ...value] = pair.split('=');
          current.env[key!] = value.join('=');
        }
        break;
      case 'COPY': {
        const parts = args.split(/\s+/);
        const destination = parts.pop()!;
        const from = flag(instruction, 'from');
        const source = from ? stages.find((candidate) => candidate.name === from) : undefined;
        if (from && !source) throw new Error(`COPY --from=${from}: no such stage`);
        for (const part of parts) {
          const sourcePath = source ? join(source.root, part) : join(contextDir, part);
          const target = destination.endsWith('/') ? posix.join(destination, posix.basename(part)) : destination;
          cpSync(sourcePath, hostPath(current, target), { recursive: true });
        }
        break;
      }
      case 'RUN':
        if (/^apk add\b/.test(args)) {
          // Alpine's packages: the host brings its own; each tool asked for must be on its PATH.
          for (const tool of args.split(/\s+/).slice(2).filter((word) => !word.startsWith('-'))) execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
          break;
        }
        execFileSync('sh', ['-c', args], { cwd: hostPath(current, '.'), env: { ...env, ...current.env }, stdio: ['ignore', 'pipe', 'pipe'] });
        break;
      case 'USER':
        current.user = args;
        break;
      case 'ENTRYPOINT':
        current.entrypoint = JSON.parse(args) as string[];
        break;
      default:
        if (!IGNORED.has(keyword)) throw new Error(`the Dockerfile runner does not understand ${keyword}`);
    }
  }
  return stages;
}
