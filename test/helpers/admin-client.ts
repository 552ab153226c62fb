// Reading a sidecar's admin port from tests: JSON endpoints and Prometheus scrapes.
import { spawnSync } from 'node:child_process';

export interface AdminResponse<T = unknown> {
  readonly status: number;
  readonly contentType: string;
  readonly body: T;
}

export async function getJson<T = Record<string, unknown>>(adminPort: number, path: string, init: RequestInit = {}): Promise<AdminResponse<T>> {
  const response = await fetch(`http://127.0.0.1:${adminPort}${path}`, init);
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: (await response.json()) as T };
}

export async function scrape(adminPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return response.text();
}

/** Series as written (`name{labels}`) → value. Labels are parsed, so order in the text does not matter. */
export function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    series.set(seriesKey(match[1]!, parseLabels(match[2] ?? '')), Number(match[3]));
  }
  return series;
}

/** The value of one series; undefined when the scrape does not have it. */
export function sample(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  return series.get(seriesKey(name, labels));
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
  return labels;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${labels[key]}"`);
  return sorted.length > 0 ? `${name}{${sorted.join(',')}}` : name;
}

/** `promtool check metrics` on a scrape: its complaints, or undefined when promtool is not installed. */
export function promtoolProblems(exposition: string): string[] | undefined {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  if (result.status === 0) return [];
  return `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '').concat(`exit ${result.status}`);
}

export function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version']).error === undefined;
}
