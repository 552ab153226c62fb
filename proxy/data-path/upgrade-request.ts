// What the upgrade path reads of a request: Node's IncomingMessage (upgrades that
// came through the HTTP server, e.g. on a keep-alive connection) and the head
// reader's parsed head both have this shape.
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHead } from '../protocol/request-head.js';

export interface UpgradeRequest {
  readonly method?: string;
  readonly url?: string;
  readonly httpVersion: string;
  readonly rawHeaders: readonly string[];
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;
}

/** A head read off the raw socket, with its socket: no stream, no parser, no response object. */
export class HeadRequest implements UpgradeRequest {
  constructor(
    private readonly head: RequestHead,
    readonly socket: Socket,
  ) {}

  get method(): string {
    return this.head.method;
  }

  get url(): string {
    return this.head.url;
  }

  get httpVersion(): string {
    return this.head.httpVersion;
  }

  get rawHeaders(): readonly string[] {
    return this.head.rawHeaders;
  }

  get headers(): IncomingHttpHeaders {
    return this.head.headers;
  }
}
