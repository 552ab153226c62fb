// What drain, hygiene, the registry and metrics see of a tunnel, whichever data
// plane moves its bytes: the JS Tunnel (tunnel.ts) and the NativeTunnel both have it.
import type { AdmissionTicket } from '../admission/admission.js';
import type { CloseInitiator } from './tunnel.js';

export interface PumpShape {
  /** Counters of one direction, read at scrape time. */
  readonly scanner: { readonly messages: number; readonly payloadBytes: number };
  /** Writes a frame between two frames if the stream is there now (a ping); false otherwise. */
  writeAtFrameBoundary(frame: Buffer): boolean;
}

export interface TunnelShape {
  /** client → app */
  readonly toApp: PumpShape;
  /** app → client */
  readonly toClient: PumpShape;
  readonly openedAtMs: number;
  /** The slots admission gave this connection: given back when both sockets are gone. */
  readonly ticket: AdmissionTicket;
  readonly clientIp: string;
  readonly closeInitiator: CloseInitiator | undefined;
  readonly closeCode: number | undefined;
  /** Set whenever bytes are forwarded; cleared by the idle sweep. */
  active: boolean;
  idleSweeps: number;
  pingsUnanswered: number;
  readonly isClosing: boolean;
  close(clientCode: number, clientReason: string, appCode: number, appReason: string): void;
  destroy(): void;
}

/** Told once both sockets of a tunnel are closed (the registry). */
export interface TunnelShapeObserver {
  onTunnelClosed(tunnel: TunnelShape): void;
}
