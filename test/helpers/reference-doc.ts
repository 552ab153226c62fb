// docs/reference.md: the hand-written reference with two generated sections, the `run` flags
// (from the flag table, as `--help` is) and every command's `--help`. `npm run docs` rewrites
// them; test/config/reference-doc.test.ts fails when they are stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../proxy/cli/cli.js';
import { RUN_FLAGS, envNameOf, type FlagSpec } from '../../proxy/config/flags.js';
import { REPO_ROOT } from './kustomize.js';

export const REFERENCE_DOC = join(REPO_ROOT, 'docs/reference.md');

/** The `run` flags as a Markdown table: flag, env var, default, value, meaning. */
export function renderFlagTable(flags: readonly FlagSpec[] = RUN_FLAGS): string {
  const rows = flags.map((flag) => {
    const value = flag.kind === 'enum' ? flag.choices!.map((c) => `\`${c}\``).join(' \\| ') : VALUE_OF_KIND[flag.kind];
    const shown = flag.secret ? 'unset (secret)' : flag.default === '' ? 'unset' : `\`${flag.default}\``;
    return `| \`--${flag.name}\` | \`${envNameOf(flag.name)}\` | ${shown} | ${value} | ${flag.help.replace(/\|/g, '\\|')} |`;
  });
  return ['| flag | env | default | value | what it does |', '|---|---|---|---|---|', ...rows].join('\n');
}

const VALUE_OF_KIND: Record<FlagSpec['kind'], string> = {
  address: '`host:port`, `:port` or `port`',
  url: 'URL',
  count: 'integer ≥ 0',
  rate: 'decimal ≥ 0',
  seconds: 'seconds (decimals allowed)',
  boolean: 'flag (`true`/`false` in env and annotations)',
  enum: '',
  cidrs: 'comma-separated CIDRs',
  check: '`tcp`, `http:<path>` or `ws:<path>`',
  redis: '`redis://[user:pass@]host:port[/db]` or `rediss://…` (password redacted wherever shown)',
  name: 'letters, digits and `. _ / : -`',
  tenant: '`header:<name>`, `query:<name>` or `cookie:<name>`',
  string: 'text',
};

/** The subcommands' `--help`, exactly as the CLI prints it (`run`'s flags are the table). */
export async function renderCommandHelp(): Promise<string> {
  const sections: string[] = [];
  for (const command of ['drain', 'inject', 'webhook']) {
    let text = '';
    const stdout = new Writable({ write: (chunk, _enc, done) => ((text += String(chunk)), done()) });
    await runCli([command, '--help'], { stdout, stderr: stdout, env: {} });
    sections.push(`### \`ws-sidecar ${command}\`\n\n\`\`\`text\n${text.trimEnd()}\n\`\`\``);
  }
  return sections.join('\n\n');
}

/** The document with its generated sections brought up to date. */
export async function renderReference(current = readFileSync(REFERENCE_DOC, 'utf8')): Promise<string> {
  return replaceSection(replaceSection(current, 'flags', renderFlagTable()), 'commands', await renderCommandHelp());
}

function replaceSection(doc: string, name: string, body: string): string {
  const begin = `<!-- generated:${name} (npm run docs) -->`;
  const end = `<!-- /generated:${name} -->`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/reference.md has no ${begin} … ${end} section`);
  return doc.slice(0, from + begin.length) + '\n' + body + '\n' + doc.slice(to);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(REFERENCE_DOC, await renderReference());
