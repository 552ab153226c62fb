// One HTTPS request on a fresh TLS connection (agent: false), trusting only the test CA.
import { request, type Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpsReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** Fingerprint of the certificate the server presented. */
  readonly fingerprint256: string;
}

export function httpsRequest(
  port: number,
  options: { ca: string; method?: string; path?: string; headers?: Record<string, string | number>; body?: string | Buffer; agent?: Agent },
): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers, ca: options.ca, agent: options.agent ?? false },
      (res) => {
        const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint256 }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
