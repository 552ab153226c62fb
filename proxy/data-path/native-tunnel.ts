// A tunnel whose bytes the native engine pumps (native/src/engine.cc). The
// close handshake, teardown and timers are the JS Tunnel's (tunnel.ts, the
// reference), line for line; only the pumps and sockets are handles to the
// engine, whose commands act on the stream between two chunks as the JS pump does.
import type { AdmissionTicket } from '../admission/admission.js';
import { Boundary, type FrameError } from '../protocol/frame-scanner.js';
import { buildCloseFrame, CloseCode, hintReason, reconnectDelayMs } from '../protocol/frames.js';
import type { NativeEngine } from './native-addon.js';
import type { PumpShape, TunnelShape, TunnelShapeObserver } from './tunnel-shape.js';
import { CLOSE_ABNORMAL, type CloseInitiator, type TunnelOptions } from './tunnel.js';

const CLIENT = 0;
const UPSTREAM = 1;

/** One socket of the tunnel, as the engine holds it (net.Socket's end/destroy). */
class NativeSide {
  constructor(
    private readonly tunnel: NativeTunnel,
    readonly index: number,
  ) {}
  get writableEnded(): boolean {
    return (this.tunnel.engine.sideState(this.tunnel.id, this.index) & 1) !== 0;
  }
  get destroyed(): boolean {
    return (this.tunnel.engine.sideState(this.tunnel.id, this.index) & 2) !== 0;
  }
  /** Bytes the engine still holds for this socket (net.Socket's writableLength > 0). */
  get queued(): boolean {
    return (this.tunnel.engine.sideState(this.tunnel.id, this.index) & 4) !== 0;
  }
  end(): void {
    this.tunnel.engine.end(this.tunnel.id, this.index);
  }
  destroy(): void {
    this.tunnel.engine.destroy(this.tunnel.id, this.index, false);
  }
  resetAndDestroy(): void {
    this.tunnel.engine.destroy(this.tunnel.id, this.index, true);
  }
}

/** One direction (pump.ts's Pump), by its index: 0 = to the app, 1 = to the client. */
class NativePump implements PumpShape {
  readonly source: NativeSide;
  readonly sink: NativeSide;
  readonly scanner: { readonly messages: number; readonly payloadBytes: number };

  constructor(
    private readonly tunnel: NativeTunnel,
    readonly index: number,
  ) {
    this.source = new NativeSide(tunnel, index);
    this.sink = new NativeSide(tunnel, 1 - index);
    const counter = (slot: number): number => tunnel.counters()[index * 2 + slot]!;
    this.scanner = {
      get messages() {
        return counter(0);
      },
      get payloadBytes() {
        return counter(1);
      },
    };
  }
  private get engine(): NativeEngine {
    return this.tunnel.engine;
  }
  get sealed(): boolean {
    return (this.engine.directionState(this.tunnel.id, this.index) & 1) !== 0;
  }
  get sourceClosed(): boolean {
    return (this.engine.directionState(this.tunnel.id, this.index) & 2) !== 0;
  }
  injectAndSeal(frame: Buffer, boundary: Boundary): boolean {
    return this.engine.injectAndSeal(this.tunnel.id, this.index, frame, boundary);
  }
  injectBeforeSourceClose(frame: Buffer): void {
    this.engine.injectBeforeSourceClose(this.tunnel.id, this.index, frame);
  }
  relaxToFrameBoundary(): void {
    this.engine.relaxToFrameBoundary(this.tunnel.id, this.index);
  }
  sealAtFrameBoundary(frame: Buffer): boolean {
    return this.engine.sealAtFrameBoundary(this.tunnel.id, this.index, frame);
  }
  writeAtFrameBoundary(frame: Buffer): boolean {
    return this.engine.writeAtFrameBoundary(this.tunnel.id, this.index, frame);
  }
  writeAndSeal(frame: Buffer): void {
    this.engine.writeAndSeal(this.tunnel.id, this.index, frame);
  }
}

export class NativeTunnel implements TunnelShape {
  readonly toApp: NativePump;
  readonly toClient: NativePump;
  readonly openedAtMs = Date.now();
  closeInitiator: CloseInitiator | undefined;
  closeCode: number | undefined;
  idleSweeps = 0;
  pingsUnanswered = 0;
  private socketsOpen = 2;
  private closing = false;
  private timers: NodeJS.Timeout[] | undefined;
  /** The engine's last counters, kept once it has let the tunnel go. */
  private finalCounters: Float64Array | undefined;

  constructor(
    readonly engine: NativeEngine,
    readonly id: number,
    readonly ticket: AdmissionTicket,
    private readonly options: TunnelOptions,
    private readonly observer: TunnelShapeObserver,
  ) {
    this.toApp = new NativePump(this, 0);
    this.toClient = new NativePump(this, 1);
  }

  get clientIp(): string {
    return this.ticket.clientIp;
  }

  get active(): boolean {
    return this.engine.takeActive(this.id, false);
  }

  set active(value: boolean) {
    // Only the idle sweep writes it, to clear it; the engine sets it on traffic.
    if (!value) this.engine.takeActive(this.id, true);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  counters(): Float64Array {
    return this.finalCounters ?? this.engine.counters(this.id) ?? new Float64Array(4);
  }

  /** Same contract as Tunnel.close(). */
  close(clientCode: number, clientReason: string, appCode: number, appReason: string): void {
    if (this.closing || this.socketsOpen < 2) return;
    this.beginClosing('sidecar', clientCode);
    const toClientFrame = buildCloseFrame(clientCode, clientReason, false);
    this.toClient.injectBeforeSourceClose(toClientFrame);
    this.toApp.injectAndSeal(buildCloseFrame(appCode, appReason, true), Boundary.Message);
    const grace = this.options.boundaryGraceMs;
    this.after(grace, () => this.toApp.relaxToFrameBoundary());
    this.after(this.options.closeTimeoutMs / 2, () => {
      if (this.toClient.sealed || this.toClient.injectAndSeal(toClientFrame, Boundary.Message)) return;
      this.after(grace, () => this.toClient.relaxToFrameBoundary());
    });
  }

  /** Immediate teardown of both sockets; the tunnel is gone when this returns (as Tunnel.destroy()). */
  destroy(): void {
    this.closeInitiator ??= 'sidecar';
    this.closeCode ??= CLOSE_ABNORMAL;
    const last = this.engine.counters(this.id);
    this.engine.destroy(this.id, CLIENT, false);
    this.engine.destroy(this.id, UPSTREAM, false);
    if (last) this.onFinished(last);
  }

  // Engine events, dispatched by NativePlane.
  onCloseFrame(direction: number, code: number): void {
    const pump = this.pump(direction);
    if (!this.closing) this.beginClosing(pump === this.toApp ? 'client' : 'upstream', code);
    if (this.opposite(pump).sourceClosed && !pump.source.queued && !pump.sink.queued) {
      // Both close frames have passed and nothing is queued: as in Tunnel, the app's socket
      // goes at once and the client's gets our FIN (a reset could meet its late bytes).
      this.engine.destroy(this.id, UPSTREAM, false);
      this.engine.end(this.id, CLIENT);
      return;
    }
    if (this.opposite(pump).sealed && !pump.source.writableEnded) pump.source.end();
  }

  onProtocolError(direction: number, error: FrameError): void {
    const pump = this.pump(direction);
    this.beginClosing('sidecar', CloseCode.protocolError);
    if (!error.atFrameStart) {
      this.destroy();
      return;
    }
    const reason = `protocol error: ${error.message}`;
    pump.writeAndSeal(buildCloseFrame(CloseCode.protocolError, reason, pump === this.toApp));
    pump.sink.end();
    const back = this.opposite(pump);
    if (back.sealAtFrameBoundary(buildCloseFrame(CloseCode.protocolError, reason, back === this.toApp))) back.sink.end();
    else back.sink.resetAndDestroy();
  }

  onSidecarPong(): void {
    this.pingsUnanswered = 0;
  }

  /** A side's source ended (EOF) or failed. */
  onEnded(side: number): void {
    this.onSourceEnded(this.pump(side));
  }

  onClosed(side: number): void {
    if (--this.socketsOpen > 0) this.onSourceEnded(this.pump(side));
  }

  onFinished(counters: Float64Array): void {
    if (this.finalCounters) return;
    this.finalCounters = counters;
    for (const timer of this.timers ?? []) clearTimeout(timer);
    this.observer.onTunnelClosed(this);
  }

  private pump(index: number): NativePump {
    return index === 0 ? this.toApp : this.toClient;
  }

  private beginClosing(initiator: CloseInitiator, code: number): void {
    this.closeInitiator ??= initiator;
    this.closeCode ??= code;
    if (this.closing) return;
    this.closing = true;
    this.after(this.options.closeTimeoutMs, () => this.destroy());
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(fn, ms);
    timer.unref();
    (this.timers ??= []).push(timer);
  }

  private onSourceEnded(pump: NativePump): void {
    if (pump.sourceClosed || pump.sealed) {
      if (!pump.sink.writableEnded) pump.sink.end();
      return;
    }
    this.beginClosing(pump === this.toApp ? 'client' : 'upstream', CLOSE_ABNORMAL);
    const lostFrame =
      pump === this.toApp
        ? buildCloseFrame(CloseCode.goingAway, 'client gone', true)
        : buildCloseFrame(CloseCode.badGateway, hintReason('upstream lost', reconnectDelayMs(this.options.retryAfterMs)), false);
    if (pump.sealAtFrameBoundary(lostFrame)) pump.sink.end();
    else if (!pump.sink.destroyed) pump.sink.resetAndDestroy();
    if (!pump.source.destroyed) pump.source.destroy();
  }

  private opposite(pump: NativePump): NativePump {
    return pump === this.toApp ? this.toClient : this.toApp;
  }
}
