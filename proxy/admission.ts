// Whether a new WebSocket connection may go to the app. Decisions are values.
// An admitted connection holds a slot from the decision until both its sockets
// are gone: as a pending handshake first, then as a live tunnel.
import type { IncomingMessage } from 'node:http';
import type { Config } from './config.js';
import { CloseCode } from './frames.js';
import type { ConnectionOutcome } from './metrics.js';
import type { Rejection } from './rejection.js';

export type AdmissionDecision =
  | { readonly admitted: true; readonly release: () => void }
  | { readonly admitted: false; readonly outcome: Exclude<ConnectionOutcome, 'accepted' | 'upstream_failed'>; readonly rejection: Rejection };

export class Admission {
  /** Admitted connections still waiting for the app's answer. */
  private pending = 0;

  constructor(
    private readonly config: Config,
    private readonly isRejectingForDrain: () => boolean,
    private readonly liveTunnels: () => number,
  ) {}

  /** Slots held: pending handshakes plus live tunnels. */
  get held(): number {
    return this.pending + this.liveTunnels();
  }

  decide(_req: IncomingMessage): AdmissionDecision {
    const retryAfterMs = this.config.retryAfterMs;
    if (this.isRejectingForDrain()) {
      return {
        admitted: false,
        outcome: 'rejected_draining',
        rejection: { status: 503, closeCode: CloseCode.serviceRestart, reason: 'draining', retryAfterMs },
      };
    }
    const max = this.config.maxConnections;
    if (max > 0 && this.held >= max) {
      return {
        admitted: false,
        outcome: 'rejected_capacity',
        rejection: { status: 503, closeCode: CloseCode.tryAgainLater, reason: 'at_capacity', retryAfterMs },
      };
    }
    this.pending++;
    let released = false;
    return {
      admitted: true,
      // Called once the handshake has ended; a tunnel (if any) is in the registry by then.
      release: () => {
        if (released) return;
        released = true;
        this.pending--;
      },
    };
  }
}
