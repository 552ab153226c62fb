// node:util parseArgs, but every problem (unknown flag, missing value, stray
// argument) collected instead of thrown one at a time.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  readonly positionals: string[];
  readonly problems: string[];
}

export function parseCommandArgs(argv: readonly string[], options: OptionSpecs, maxPositionals = 0): ParsedArgs {
  const { values, positionals, tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const problems: string[] = [];
  for (const token of tokens ?? []) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (!spec) problems.push(`unknown flag ${token.rawName}`);
    else if (spec.type === 'string' && token.value === undefined) problems.push(`${token.rawName} needs a value`);
    else if (spec.type === 'boolean' && token.inlineValue) problems.push(`${token.rawName} takes no value`);
  }
  if (positionals.length > maxPositionals) {
    problems.push(`unexpected argument${positionals.length - maxPositionals > 1 ? 's' : ''}: ${positionals.slice(maxPositionals).join(' ')}`);
  }
  return { values: values as ParsedArgs['values'], positionals, problems };
}
