// Incremental, header-only RFC 6455 frame scanner for one direction of a tunnel.
// It walks the bytes already in hand, keeps at most one frame header (≤ 14 bytes)
// between chunks and never copies payload. The caller forwards bytes itself and
// asks the scanner where it may cut: `scan()` returns the offset of the next
// "stop" (an event the tunnel cares about) or the chunk's end.

/** Why `scan()` stopped. */
export const enum ScanEvent {
  /** Reached the end of the chunk. */
  None = 0,
  /** A control frame starts at the returned offset (only with `stopBeforeControl`). */
  ControlStart = 1,
  /** A control frame ends at the returned offset; see `lastOpcode`, `closeCode`. */
  ControlEnd = 2,
  /** The boundary asked for with `wantBoundary` is at the returned offset. */
  Boundary = 3,
  /** Protocol garbage; see `error`. The returned offset is where the bad frame starts or was detected. */
  Error = 4,
}

export const enum Boundary {
  None = 0,
  Frame = 1,
  Message = 2,
}

export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;
/** Close code meaning "no status code was present" (never sent on the wire). */
export const CLOSE_NO_STATUS = 1005;

export interface FrameError {
  /** Stable machine code, e.g. `WS_SIDECAR_FRAME_RESERVED_OPCODE`. */
  readonly code: string;
  readonly message: string;
  /** True when no byte of the bad frame was forwarded: a close frame can still be injected. */
  readonly atFrameStart: boolean;
}

const MAX_CONTROL_PAYLOAD = 125;

export class FrameScanner {
  /** Completed data messages. */
  messages = 0;
  /** Payload bytes of data frames (as on the wire, i.e. after any compression). */
  payloadBytes = 0;
  /** Where `scan()` stopped and why. */
  event: ScanEvent = ScanEvent.None;
  /** Opcode of the control frame behind the last ControlStart/ControlEnd event. */
  lastOpcode = 0;
  /** Status code of the last complete close frame (1005 when it had none). */
  closeCode = 0;
  error: FrameError | undefined;
  /** Ask `scan()` to stop at the next boundary of this kind. */
  wantBoundary: Boundary = Boundary.None;
  /** Ask `scan()` to stop before each control frame too (to cut pongs out). */
  stopBeforeControl = false;

  private readonly masked: boolean;
  /** Payload bytes left in the current frame; -1 while reading a header. */
  private remaining = -1;
  private opcode = 0;
  private fin = false;
  /** A fragmented data message is in progress. */
  private fragmented = false;
  private header: Buffer | undefined;
  private headerFill = 0;
  private startReported = false;
  private payloadIndex = 0;
  private maskKey = 0;
  private codeHigh = 0;
  private codeLow = 0;

  constructor(expectMasked: boolean) {
    this.masked = expectMasked;
  }

  /** Between two frames: a control frame may be inserted here. */
  get atFrameBoundary(): boolean {
    return this.remaining < 0 && this.headerFill === 0 && this.error === undefined;
  }

  /** Between two messages: any frame may be inserted here. */
  get atMessageBoundary(): boolean {
    return this.atFrameBoundary && !this.fragmented;
  }

  /** Scans `buf` from `pos`; returns the offset of the next stop (see `event`) or `buf.length`. */
  scan(buf: Buffer, pos: number): number {
    const end = buf.length;
    this.event = ScanEvent.None;
    if (this.error) return this.fail(end, this.error.code, this.error.message, false);
    while (pos < end) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, end - pos);
        if (this.opcode === OPCODE_CLOSE && this.payloadIndex < 2) this.captureCode(buf, pos, take);
        this.payloadIndex += take;
        this.remaining -= take;
        pos += take;
        if (this.remaining > 0) return end;
        if (this.frameEnded()) return pos;
        continue;
      }
      if (this.headerFill === 0) {
        const b0 = buf[pos]!;
        if (b0 & 0x08 && this.stopBeforeControl && !this.startReported) {
          this.startReported = true;
          this.lastOpcode = b0 & 0x0f;
          this.event = ScanEvent.ControlStart;
          return pos;
        }
        const problem = this.checkFirstByte(b0);
        if (problem) return this.fail(pos, problem[0], problem[1], true);
        // Fast path: the whole header is in this chunk.
        if (end - pos >= 2) {
          const length = headerLength(buf[pos + 1]!);
          if (end - pos >= length) {
            const problem = this.readHeader(buf, pos);
            if (problem) return this.fail(pos, problem[0], problem[1], true);
            pos += length;
            if (this.remaining === 0 && this.frameEnded()) return pos;
            continue;
          }
        }
      }
      // Slow path: the header is split across chunks; keep only its bytes.
      this.header ??= Buffer.allocUnsafe(14);
      const frameStart = this.headerFill === 0 ? pos : -1;
      this.header[this.headerFill++] = buf[pos++]!;
      if (this.headerFill < 2 || this.headerFill < headerLength(this.header[1]!)) continue;
      const problem = this.readHeader(this.header, 0);
      this.headerFill = 0;
      if (problem) return this.fail(frameStart >= 0 ? frameStart : pos, problem[0], problem[1], frameStart >= 0);
      if (this.remaining === 0 && this.frameEnded()) return pos;
    }
    return end;
  }

  private checkFirstByte(b0: number): [string, string] | undefined {
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa) return ['WS_SIDECAR_FRAME_RESERVED_OPCODE', `reserved opcode ${opcode}`];
    if (opcode >= 0x8 && !fin) return ['WS_SIDECAR_FRAME_FRAGMENTED_CONTROL', 'fragmented control frame'];
    if (opcode === 0 && !this.fragmented) return ['WS_SIDECAR_FRAME_UNEXPECTED_CONTINUATION', 'continuation frame without a message'];
    if ((opcode === 1 || opcode === 2) && this.fragmented) return ['WS_SIDECAR_FRAME_INTERLEAVED_MESSAGE', 'new message inside a fragmented one'];
    return undefined;
  }

  /** Reads a complete header at `buf[at]` (its first byte already checked); returns a problem or sets up the payload. */
  private readHeader(buf: Buffer, at: number): [string, string] | undefined {
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    this.opcode = b0 & 0x0f;
    this.fin = (b0 & 0x80) !== 0;
    const isMasked = (b1 & 0x80) !== 0;
    if (isMasked !== this.masked) {
      return ['WS_SIDECAR_FRAME_MASK', this.masked ? 'unmasked frame from a client' : 'masked frame from a server'];
    }
    let length = b1 & 0x7f;
    let next = at + 2;
    if (length === 126) {
      length = buf.readUInt16BE(next);
      next += 2;
    } else if (length === 127) {
      const high = buf.readUInt32BE(next);
      if (high > 0x1fffff) return ['WS_SIDECAR_FRAME_TOO_LONG', 'payload length beyond 2^53 - 1'];
      length = high * 0x1_0000_0000 + buf.readUInt32BE(next + 4);
      next += 8;
    }
    if (this.opcode >= 0x8 && length > MAX_CONTROL_PAYLOAD) {
      return ['WS_SIDECAR_FRAME_CONTROL_TOO_LONG', `control frame of ${length} bytes`];
    }
    if (this.opcode === OPCODE_CLOSE && length === 1) return ['WS_SIDECAR_FRAME_BAD_CLOSE', 'close frame with a 1-byte payload'];
    // Only a close frame's payload is ever read (its code), so only it needs the key.
    this.maskKey = isMasked && this.opcode === OPCODE_CLOSE ? buf.readUInt32BE(next) : 0;
    this.remaining = length;
    this.payloadIndex = 0;
    if (this.opcode < 0x8) this.payloadBytes += length;
    else this.codeHigh = this.codeLow = -1;
    return undefined;
  }

  private captureCode(buf: Buffer, pos: number, take: number): void {
    for (let i = 0; i < take && this.payloadIndex + i < 2; i++) {
      const index = this.payloadIndex + i;
      const maskByte = (this.maskKey >>> (24 - 8 * index)) & 0xff;
      const value = buf[pos + i]! ^ maskByte;
      if (index === 0) this.codeHigh = value;
      else this.codeLow = value;
    }
  }

  /** Bookkeeping at the end of a frame; true when `scan()` should stop here. */
  private frameEnded(): boolean {
    this.remaining = -1;
    this.startReported = false;
    if (this.opcode >= 0x8) {
      this.lastOpcode = this.opcode;
      if (this.opcode === OPCODE_CLOSE) {
        this.closeCode = this.codeHigh < 0 ? CLOSE_NO_STATUS : this.codeHigh * 256 + this.codeLow;
      }
      this.event = ScanEvent.ControlEnd;
      return true;
    }
    if (this.fin) {
      this.fragmented = false;
      this.messages++;
    } else {
      this.fragmented = true;
    }
    if (this.wantBoundary === Boundary.Frame || (this.wantBoundary === Boundary.Message && this.fin)) {
      this.event = ScanEvent.Boundary;
      return true;
    }
    return false;
  }

  private fail(pos: number, code: string, message: string, atFrameStart: boolean): number {
    this.error ??= { code, message, atFrameStart };
    this.event = ScanEvent.Error;
    return pos;
  }
}

/** Header size implied by the second header byte. */
function headerLength(b1: number): number {
  const length = b1 & 0x7f;
  return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}
