// One direction of a tunnel: source socket → sink socket, with a frame scanner
// that knows where frames and messages end, so a control frame can be injected
// between two frames without corrupting the stream.
import type { Socket } from 'node:net';
import { Boundary, FrameScanner, OPCODE_CLOSE, OPCODE_PONG, ScanEvent, type FrameError } from '../protocol/frame-scanner.js';
import { isSidecarPong } from '../protocol/frames.js';
import { onChunks } from './bounded-reads.js';

export interface PumpOwner {
  /** The source sent a close frame with this code. */
  onCloseFrame(pump: Pump, code: number): void;
  /** The source sent protocol garbage; nothing of it was forwarded when `error.atFrameStart`. */
  onProtocolError(pump: Pump, error: FrameError): void;
  /** Bytes were forwarded: liveness for the idle timeout. */
  onActivity(): void;
  /** The source answered one of the sidecar's own pings (the pong was not forwarded). */
  onSidecarPong(): void;
}

/** The pump reading from a socket, and the one writing to it: listeners are shared functions, not per-pump closures. */
const kSourceOf = Symbol('ws-sidecar.pumpReading');
const kSinkOf = Symbol('ws-sidecar.pumpWriting');
type PumpSocket = Socket & { [kSourceOf]?: Pump; [kSinkOf]?: Pump };

/** True when no reference to `chunk` is left (bounded-reads.ts then reuses its memory). */
function onSourceData(this: PumpSocket, chunk: Buffer): boolean {
  return this[kSourceOf]!.receive(chunk);
}

function onSinkDrain(this: PumpSocket): void {
  this[kSinkOf]!.drained();
}

export class Pump {
  readonly scanner: FrameScanner;
  private isSealed = false;
  /** The source has sent its close frame. */
  sourceClosed = false;
  private pending: Buffer | undefined;
  private consumingPongs = false;
  /** The sink refused more (write returned false): the source stays paused until 'drain'. */
  private waitingForDrain = false;
  /** Paused by the memory budget: not resumed on 'drain' until released. */
  private held = false;
  /** A pong being held back (≤ 131 bytes) until it is whole and can be judged. */
  private heldPong: Buffer[] | undefined;

  constructor(
    readonly source: Socket,
    readonly sink: Socket,
    sourceIsClient: boolean,
    private readonly owner: PumpOwner,
  ) {
    this.scanner = new FrameScanner(sourceIsClient);
    (source as PumpSocket)[kSourceOf] = this;
    (sink as PumpSocket)[kSinkOf] = this;
    // An upstream source reads at most 16 KiB at a time (bounded-reads.ts); a client emits 'data'.
    onChunks(source, onSourceData);
    sink.on('drain', onSinkDrain);
  }

  /** Set once this pump has written its last frame (an injected close): nothing more goes to the sink. */
  get sealed(): boolean {
    return this.isSealed;
  }

  /**
   * Every chunk the source sends enters here, and so do the bytes that came with
   * the handshake, before the tunnel started.
   */
  receive(chunk: Buffer): boolean {
    return this.onData(chunk);
  }

  /** Lets the source flow, unless what `receive()` fed already filled the sink. */
  start(): void {
    if (!this.waitingForDrain && !this.held) this.source.resume();
  }

  /** Bytes this direction holds in memory: written to the sink but not yet taken by its kernel, plus any read not yet forwarded. */
  get queuedBytes(): number {
    return this.sink.writableLength + this.source.readableLength;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** The memory budget stops this source reading (the kernel holds what the app or client sends meanwhile). */
  hold(): void {
    this.held = true;
    this.source.pause();
  }

  /** The memory budget lets it read again, unless its sink is still full. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (!this.waitingForDrain && !this.source.destroyed) this.source.resume();
  }

  /** Consume the pongs that answer the sidecar's keep-alive pings instead of forwarding them. */
  consumePongs(): void {
    this.consumingPongs = true;
    this.scanner.stopBeforeControl = true;
  }

  /**
   * Writes `frame` to the sink at the next boundary of the kind given (now if
   * the stream is there already) and then stops forwarding. Returns true if
   * written at once.
   */
  injectAndSeal(frame: Buffer, boundary: Boundary): boolean {
    if (this.sealed) return false;
    this.pending = frame;
    this.scanner.wantBoundary = boundary;
    this.scanner.stopBeforeControl = true;
    if (this.boundaryReached()) this.flushPending();
    return this.sealed;
  }

  /**
   * Holds `frame` back until the source sends its own close frame, then writes
   * it in that frame's place: everything the source sent before closing arrives.
   */
  injectBeforeSourceClose(frame: Buffer): void {
    if (this.sealed) return;
    this.pending = frame;
    this.scanner.wantBoundary = Boundary.None;
    this.scanner.stopBeforeControl = true;
  }

  /** After a grace period, a frame boundary will do. */
  relaxToFrameBoundary(): void {
    if (this.sealed || this.pending === undefined) return;
    this.scanner.wantBoundary = Boundary.Frame;
    if (this.scanner.atFrameBoundary) this.flushPending();
  }

  /**
   * Writes a last frame between two frames if the stream is there now, then
   * forwards nothing more. A close already waiting to be injected wins over `frame`.
   */
  sealAtFrameBoundary(frame: Buffer): boolean {
    if (!this.writeAtFrameBoundary(this.pending ?? frame)) return false;
    this.pending = undefined;
    this.isSealed = true;
    return true;
  }

  /** Writes a frame between two frames if the stream is there now (e.g. a ping); false otherwise. */
  writeAtFrameBoundary(frame: Buffer): boolean {
    if (this.sealed || !this.scanner.atFrameBoundary || !this.sink.writable) return false;
    this.sink.write(frame);
    return true;
  }

  /** Writes a frame now (the caller knows the stream is at a frame boundary) and stops forwarding. */
  writeAndSeal(frame: Buffer): void {
    if (this.sealed) return;
    this.pending = frame;
    this.flushPending();
  }

  /** The sink took what was queued ('drain'): the source may flow again. */
  drained(): void {
    this.waitingForDrain = false;
    if (!this.held) this.source.resume();
  }

  /** Returns true when no reference to `chunk` is left (nothing queued in the sink, no pong held). */
  private onData(chunk: Buffer): boolean {
    const scanner = this.scanner;
    let from = 0; // first byte not yet forwarded, dropped or held
    let pos = 0;
    for (;;) {
      const stop = scanner.scan(chunk, pos);
      const event = scanner.event;
      if (event === ScanEvent.None) break;
      if (event === ScanEvent.Error) {
        this.forward(chunk, from, stop);
        if (!this.sealed) this.owner.onProtocolError(this, scanner.error!);
        return false;
      }
      if (event === ScanEvent.ControlStart) {
        if (this.pending !== undefined && scanner.lastOpcode === OPCODE_CLOSE) {
          // Our close goes first; the source's own close (often its reply to ours) is consumed.
          this.forward(chunk, from, stop);
          from = stop;
          this.flushPending();
        } else if (this.consumingPongs && scanner.lastOpcode === OPCODE_PONG) {
          this.forward(chunk, from, stop);
          from = stop;
          this.heldPong = [];
        }
      } else if (event === ScanEvent.ControlEnd) {
        if (this.heldPong !== undefined) {
          this.heldPong.push(chunk.subarray(from, stop));
          from = stop;
          this.judgePong(Buffer.concat(this.heldPong));
        }
        if (scanner.lastOpcode === OPCODE_CLOSE && !this.sourceClosed) {
          this.sourceClosed = true;
          this.forward(chunk, from, stop);
          from = stop;
          this.owner.onCloseFrame(this, scanner.closeCode);
        }
      }
      if (this.pending !== undefined && this.boundaryReached()) {
        this.forward(chunk, from, stop);
        from = stop;
        this.flushPending();
      }
      pos = stop;
    }
    if (this.heldPong !== undefined) {
      this.heldPong.push(chunk.subarray(from));
      return false;
    }
    this.forward(chunk, from, chunk.length);
    return this.sink.writableLength === 0;
  }

  private judgePong(frame: Buffer): void {
    this.heldPong = undefined;
    if (isSidecarPong(frame)) this.owner.onSidecarPong();
    else this.forward(frame, 0, frame.length);
  }

  private boundaryReached(): boolean {
    const want = this.scanner.wantBoundary;
    if (want === Boundary.None) return false;
    return want === Boundary.Message ? this.scanner.atMessageBoundary : this.scanner.atFrameBoundary;
  }

  private flushPending(): void {
    const frame = this.pending!;
    this.pending = undefined;
    this.scanner.wantBoundary = Boundary.None;
    if (this.sink.writable) this.sink.write(frame);
    this.isSealed = true;
  }

  /** Sends bytes [from, to) to the sink unless sealed; pauses the source on backpressure. */
  private forward(chunk: Buffer, from: number, to: number): void {
    if (this.sealed || from >= to || !this.sink.writable) return;
    const piece = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
    this.owner.onActivity();
    if (!this.sink.write(piece)) {
      this.waitingForDrain = true;
      this.source.pause();
    }
  }
}
