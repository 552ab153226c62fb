// The native data plane of one process: one engine (one epoll thread) for all
// tunnels, its events dispatched to their NativeTunnel by id. A tunnel it cannot
// take (Node still holds bytes to write, or shows no fd) stays on the JS plane.
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { AdmissionTicket } from '../admission/admission.js';
import { NativeEventKind, type NativeAddon, type NativeEngine } from './native-addon.js';
import { nativeFrameError } from './native-frame-errors.js';
import { NativeTunnel } from './native-tunnel.js';
import { socketFd, takeOverSocket } from './socket-fd.js';
import type { TunnelShapeObserver } from './tunnel-shape.js';
import type { TunnelOptions } from './tunnel.js';

export class NativePlane {
  private readonly engine: NativeEngine;
  private readonly tunnels = new Map<number, NativeTunnel>();
  private readonly width: number;

  constructor(private readonly addon: NativeAddon) {
    this.width = addon.eventWidth;
    this.engine = new addon.NativeEngine(this.onEvents);
  }

  /** Both sockets can be handed over now (connected, nothing left to write in Node). */
  canAdopt(client: Socket, upstream: Socket): boolean {
    return client.writableLength === 0 && upstream.writableLength === 0 && socketFd(client) !== undefined && socketFd(upstream) !== undefined;
  }

  /**
   * Hands both sockets to the engine; `clientHead`/`upstreamHead` came with the handshake. Call
   * after canAdopt(). Undefined when the fds cannot be duplicated (out of fds): both sockets are
   * then untouched and the caller keeps the tunnel on the JS plane.
   */
  adopt(client: Socket, upstream: Socket, clientHead: Buffer, upstreamHead: Buffer, ticket: AdmissionTicket, options: TunnelOptions, observer: TunnelShapeObserver): NativeTunnel | undefined {
    const copies = this.duplicateBoth(socketFd(client)!, socketFd(upstream)!);
    if (copies === undefined) return undefined;
    const takenClient = takeOverSocket(client, () => copies[0])!;
    const takenUpstream = takeOverSocket(upstream, () => copies[1])!;
    const head = (first: Buffer, later: Buffer): Buffer => (later.length === 0 ? first : Buffer.concat([first, later]));
    const id = this.engine.adopt(
      takenClient.fd,
      takenUpstream.fd,
      head(clientHead, takenClient.buffered),
      head(upstreamHead, takenUpstream.buffered),
      options.pingIntervalMs > 0,
    );
    const tunnel = new NativeTunnel(this.engine, id, ticket, options, observer);
    this.tunnels.set(id, tunnel);
    return tunnel;
  }

  /** Both duplicates, or neither: a dup that fails (EMFILE) closes the one already made. */
  private duplicateBoth(clientFd: number, upstreamFd: number): [number, number] | undefined {
    let first: number | undefined;
    try {
      first = this.addon.dupFd(clientFd);
      return [first, this.addon.dupFd(upstreamFd)];
    } catch {
      if (first !== undefined) closeSync(first);
      return undefined;
    }
  }

  get size(): number {
    return this.tunnels.size;
  }

  /** Bytes the engine holds for sinks that are slow to read (all tunnels). */
  queuedBytes(): number {
    return this.engine.queuedBytes();
  }

  close(): void {
    this.engine.close();
  }

  private readonly onEvents = (rows: Float64Array): void => {
    for (let at = 0; at < rows.length; at += this.width) {
      const tunnel = this.tunnels.get(rows[at + 1]!);
      if (!tunnel) continue;
      const a = rows[at + 2]!;
      switch (rows[at] as NativeEventKind) {
        case NativeEventKind.CloseFrame:
          tunnel.onCloseFrame(a, rows[at + 3]!);
          break;
        case NativeEventKind.ProtocolError:
          tunnel.onProtocolError(a, nativeFrameError(rows[at + 3]!, rows[at + 5]!, rows[at + 4]! === 1));
          break;
        case NativeEventKind.Ended:
          tunnel.onEnded(a);
          break;
        case NativeEventKind.Closed:
          tunnel.onClosed(a);
          break;
        case NativeEventKind.SidecarPong:
          tunnel.onSidecarPong();
          break;
        case NativeEventKind.Finished:
          this.tunnels.delete(tunnel.id);
          tunnel.onFinished(rows.slice(at + 6, at + 10));
          break;
      }
    }
  };
}
