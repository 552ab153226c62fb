// Headers of a self-contained HTML page (the status page, the rollout demo's): inline script
// and style, fetches to its own origin only, nothing loaded from anywhere else, never cached.
export const SELF_CONTAINED_PAGE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";

export function pageHeaders(page: Buffer): Record<string, string | number> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': page.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': SELF_CONTAINED_PAGE_CSP,
  };
}
