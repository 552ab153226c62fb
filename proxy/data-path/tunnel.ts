// One proxied WebSocket connection after the app's 101: two pumps, the close
// handshake, and a symmetric teardown (one side ending ends the other).
import type { Socket } from 'node:net';
import type { AdmissionTicket } from '../admission/admission.js';
import { Boundary, type FrameError } from '../protocol/frame-scanner.js';
import { buildCloseFrame, CloseCode, hintReason, reconnectDelayMs } from '../protocol/frames.js';
import { abortSocket } from './abort-socket.js';
import { Pump, type PumpOwner } from './pump.js';

export type CloseInitiator = 'client' | 'upstream' | 'sidecar';

/** Close code recorded when a connection ended without any close frame. */
export const CLOSE_ABNORMAL = 1006;

export interface TunnelOptions {
  readonly closeTimeoutMs: number;
  readonly boundaryGraceMs: number;
  /** Base of the `delay_ms` hint sent with an "upstream lost" close. */
  readonly retryAfterMs: number;
  /** When the sidecar pings clients, their answers are consumed, not forwarded. */
  readonly pingIntervalMs: number;
}

export interface TunnelObserver {
  onTunnelClosed(tunnel: Tunnel): void;
}

export class Tunnel implements PumpOwner {
  /** client → app */
  readonly toApp: Pump;
  /** app → client */
  readonly toClient: Pump;
  readonly openedAtMs = Date.now();
  closeInitiator: CloseInitiator | undefined;
  closeCode: number | undefined;
  /** Set whenever bytes are forwarded; cleared by the idle sweep. */
  active = true;
  /** Idle sweeps in a row that found no traffic. */
  idleSweeps = 0;
  /** Sidecar pings sent since the client's last answer. */
  pingsUnanswered = 0;
  private closing = false;
  /** Both sockets are gone and the observer was told: once. */
  private finished = false;
  /** Close-handshake timers, created only once a close begins. */
  private timers: NodeJS.Timeout[] | undefined;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    /** The slots admission gave this connection: given back when both sockets are gone. */
    readonly ticket: AdmissionTicket,
    private readonly options: TunnelOptions,
    private readonly observer: TunnelObserver,
  ) {
    this.toApp = new Pump(client, upstream, true, this);
    this.toClient = new Pump(upstream, client, false, this);
    if (options.pingIntervalMs > 0) this.toApp.consumePongs();
    // An error (which also ends in 'close') is handled like an end; listening for it
    // keeps a peer's reset from crashing the process.
    const clientEnded = (): void => this.onSourceEnded(this.toApp);
    const upstreamEnded = (): void => this.onSourceEnded(this.toClient);
    const clientErrored = (): void => {
      clientEnded();
      this.finishIfGone();
    };
    const upstreamErrored = (): void => {
      upstreamEnded();
      this.finishIfGone();
    };
    client.on('end', clientEnded).on('error', clientErrored).on('close', this.onSocketClose);
    upstream.on('end', upstreamEnded).on('error', upstreamErrored).on('close', this.onSocketClose);
  }

  /** Bytes that arrived with the handshake are the first bytes of each stream. */
  start(clientHead: Buffer, upstreamHead: Buffer): void {
    if (clientHead.length > 0) this.toApp.receive(clientHead);
    if (upstreamHead.length > 0) this.toClient.receive(upstreamHead);
    // Not a plain resume(): that would undo a pause the bytes just fed set for backpressure.
    this.toApp.start();
    this.toClient.start();
  }

  /** The client's address as admission saw it (X-Forwarded-For from trusted proxies). */
  get clientIp(): string {
    return this.ticket.clientIp;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /**
   * Sidecar-initiated close: `appCode` to the app first (at a message boundary
   * if one comes within the grace, else at a frame boundary), then `clientCode`
   * to the client in place of the app's close reply, so every message the app
   * sent before it learned of the close still reaches the client. If the app
   * does not answer within half the close timeout, the client is told anyway.
   * A close handshake already under way is left to finish.
   */
  close(clientCode: number, clientReason: string, appCode: number, appReason: string): void {
    if (this.closing || this.client.destroyed || this.upstream.destroyed) return;
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

  /** Immediate teardown of both sockets; the tunnel is gone when this returns. */
  destroy(): void {
    this.closeInitiator ??= 'sidecar';
    this.closeCode ??= CLOSE_ABNORMAL;
    this.client.destroy();
    this.upstream.destroy();
    this.finishIfGone();
  }

  onActivity(): void {
    this.active = true;
  }

  onSidecarPong(): void {
    this.pingsUnanswered = 0;
  }

  onCloseFrame(pump: Pump, code: number): void {
    if (!this.closing) this.beginClosing(pump === this.toApp ? 'client' : 'upstream', code);
    if (this.opposite(pump).sourceClosed && this.client.writableLength === 0 && this.upstream.writableLength === 0) {
      // Both close frames have passed and nothing is queued: the app's socket goes at once, as
      // nginx lets it go (no shutdown(), no waiting for its FIN; what was written is in the
      // kernel's hands). The client's gets our FIN instead: closing it outright would answer
      // with a reset a client still sending after its close frame (RFC 6455 forbids that, but
      // it happens, and its bytes may not even have been read yet). Its FIN, or the close
      // timeout, ends the tunnel.
      this.upstream.destroy();
      if (!this.client.writableEnded) this.client.end();
      this.finishIfGone();
      return;
    }
    // The peer answered a close we injected: its side of the handshake is done.
    if (this.opposite(pump).sealed && !pump.source.writableEnded) pump.source.end();
  }

  onProtocolError(pump: Pump, error: FrameError): void {
    this.beginClosing('sidecar', CloseCode.protocolError);
    if (!error.atFrameStart) {
      this.destroy();
      return;
    }
    const reason = `protocol error: ${error.message}`;
    // Nothing of the bad frame was forwarded: the receiver can still get a clean close.
    pump.writeAndSeal(buildCloseFrame(CloseCode.protocolError, reason, pump === this.toApp));
    pump.sink.end();
    const back = this.opposite(pump);
    if (back.sealAtFrameBoundary(buildCloseFrame(CloseCode.protocolError, reason, back === this.toApp))) back.sink.end();
    else abortSocket(back.sink);
  }

  private beginClosing(initiator: CloseInitiator, code: number): void {
    this.closeInitiator ??= initiator;
    this.closeCode ??= code;
    if (this.closing) return;
    this.closing = true;
    // A close handshake needs both directions to flow: the memory budget's hold ends here.
    this.toApp.release();
    this.toClient.release();
    this.after(this.options.closeTimeoutMs, () => this.destroy());
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(fn, ms);
    timer.unref();
    (this.timers ??= []).push(timer);
  }

  /** `pump.source` is gone or half-closed: finish the other side politely if we can. */
  private onSourceEnded(pump: Pump): void {
    if (pump.sourceClosed || pump.sealed) {
      // A close frame was exchanged (or we sent ours): plain TCP teardown follows.
      if (!pump.sink.writableEnded) pump.sink.end();
      return;
    }
    this.beginClosing(pump === this.toApp ? 'client' : 'upstream', CLOSE_ABNORMAL);
    const lostFrame =
      pump === this.toApp
        ? buildCloseFrame(CloseCode.goingAway, 'client gone', true)
        : buildCloseFrame(CloseCode.badGateway, hintReason('upstream lost', reconnectDelayMs(this.options.retryAfterMs)), false);
    if (pump.sealAtFrameBoundary(lostFrame)) pump.sink.end();
    else abortSocket(pump.sink);
    if (!pump.source.destroyed) pump.source.destroy();
  }

  private opposite(pump: Pump): Pump {
    return pump === this.toApp ? this.toClient : this.toApp;
  }

  private readonly onSocketClose = (): void => {
    if (!this.client.destroyed || !this.upstream.destroyed) {
      // One socket is gone without an 'end' (destroyed or reset): finish the other.
      this.onSourceEnded(this.client.destroyed ? this.toApp : this.toClient);
    }
    this.finishIfGone();
  };

  /**
   * Done once both sockets are destroyed, without waiting for their 'close':
   * a socket whose handle failed to close never emits one, and the tunnel's
   * slot must come back anyway.
   */
  private finishIfGone(): void {
    if (this.finished || !this.client.destroyed || !this.upstream.destroyed) return;
    this.finished = true;
    for (const timer of this.timers ?? []) clearTimeout(timer);
    this.observer.onTunnelClosed(this);
  }
}
