// Where an HTTP/1.1 response from the app ends, found without buffering it:
// Content-Length, chunked framing, or the connection's close. Used to relay an
// app's refusal of an upgrade byte for byte and then close the client.

/** Feeds body bytes; `feed` returns how many of them belong to the response (the rest is beyond its end). */
export interface ResponseEnd {
  feed(chunk: Buffer): number;
  readonly done: boolean;
}

export function responseEndOf(statusCode: number, headers: ReadonlyMap<string, string>): ResponseEnd {
  if ((statusCode >= 100 && statusCode < 200) || statusCode === 204 || statusCode === 304) return new FixedLength(0);
  if (/(^|,)\s*chunked\s*$/i.test(headers.get('transfer-encoding') ?? '')) return new ChunkedEnd();
  const length = headers.get('content-length');
  if (length !== undefined && /^\d+$/.test(length.trim())) return new FixedLength(Number(length));
  return { feed: (chunk) => chunk.length, done: false }; // until the app closes
}

class FixedLength implements ResponseEnd {
  constructor(private remaining: number) {}

  get done(): boolean {
    return this.remaining === 0;
  }

  feed(chunk: Buffer): number {
    const take = Math.min(this.remaining, chunk.length);
    this.remaining -= take;
    return take;
  }
}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailers,
  Done,
}

/** RFC 9112 §7.1: size line (hex, extensions), data, CRLF; after size 0, trailer lines and an empty line. */
class ChunkedEnd implements ResponseEnd {
  private state = Chunk.Size;
  private line = '';
  private remaining = 0;

  get done(): boolean {
    return this.state === Chunk.Done;
  }

  feed(chunk: Buffer): number {
    let pos = 0;
    while (pos < chunk.length && this.state !== Chunk.Done) {
      if (this.state === Chunk.Data) {
        const take = Math.min(this.remaining, chunk.length - pos);
        this.remaining -= take;
        pos += take;
        if (this.remaining === 0) this.state = Chunk.DataEnd;
        continue;
      }
      const byte = chunk[pos++]!;
      if (byte !== 0x0a) {
        if (byte !== 0x0d && this.line.length < 1024) this.line += String.fromCharCode(byte);
        continue;
      }
      const line = this.line;
      this.line = '';
      if (this.state === Chunk.DataEnd) this.state = Chunk.Size;
      else if (this.state === Chunk.Trailers) {
        if (line === '') this.state = Chunk.Done;
      } else {
        const size = parseInt(line.split(';')[0]!.trim(), 16);
        if (Number.isNaN(size) || size === 0) this.state = Chunk.Trailers;
        else {
          this.remaining = size;
          this.state = Chunk.Data;
        }
      }
    }
    return pos;
  }
}
