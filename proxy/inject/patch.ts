// RFC 6902 JSON Patch from the difference of two JSON values. A missing parent is added whole,
// so parents always exist before their children; array items are only appended or removed
// from the end (what the injector does), never shifted.

export type PatchOperation =
  | { readonly op: 'add' | 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** RFC 6901: `~` → `~0` first, then `/` → `~1`. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(tokens: ReadonlyArray<string | number>): string {
  return tokens.map((token) => '/' + escapePointerToken(String(token))).join('');
}

/** An operation with its path as tokens (numbers index arrays), for editors other than JSON. */
export type PathOperation =
  | { readonly op: 'add' | 'replace'; readonly path: Array<string | number>; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: Array<string | number> };

export function diffOperations(original: unknown, modified: unknown): PathOperation[] {
  const operations: PathOperation[] = [];
  diff(original, modified, [], operations);
  return operations;
}

export function createPatch(original: unknown, modified: unknown): PatchOperation[] {
  return diffOperations(original, modified).map((operation) => ({ ...operation, path: pointer(operation.path) }));
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function kindOf(value: unknown): 'array' | 'object' | 'scalar' {
  if (Array.isArray(value)) return 'array';
  return value !== null && typeof value === 'object' ? 'object' : 'scalar';
}

function diff(before: unknown, after: unknown, path: Array<string | number>, out: PathOperation[]): void {
  const kind = kindOf(before);
  if (kind !== kindOf(after)) {
    out.push({ op: 'replace', path, value: after });
    return;
  }
  if (kind === 'scalar') {
    if (before !== after) out.push({ op: 'replace', path, value: after });
    return;
  }
  if (kind === 'array') {
    const a = before as Json[];
    const b = after as Json[];
    const common = Math.min(a.length, b.length);
    for (let i = 0; i < common; i++) diff(a[i], b[i], [...path, i], out);
    // Highest index first, so each index is still valid when its turn comes.
    for (let i = a.length - 1; i >= b.length; i--) out.push({ op: 'remove', path: [...path, i] });
    for (let i = a.length; i < b.length; i++) out.push({ op: 'add', path: [...path, i], value: b[i] });
    return;
  }
  const a = before as Record<string, Json>;
  const b = after as Record<string, Json>;
  for (const key of Object.keys(a)) {
    if (!Object.hasOwn(b, key)) out.push({ op: 'remove', path: [...path, key] });
  }
  for (const [key, value] of Object.entries(b)) {
    if (!Object.hasOwn(a, key)) out.push({ op: 'add', path: [...path, key], value });
    else diff(a[key], value, [...path, key], out);
  }
}
