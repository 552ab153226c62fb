// --data-plane js|native|auto: which engine pumps the bytes of a tunnel after
// its handshake. Everything before (handshake, admission) and every decision
// after (drain, hygiene, teardown) is the same TypeScript on both planes.
import type { Socket } from 'node:net';
import type { AdmissionTicket } from '../admission/admission.js';
import { loadNativeAddon } from './native-addon.js';
import { NativePlane } from './native-plane.js';
import type { TunnelShape, TunnelShapeObserver } from './tunnel-shape.js';
import { Tunnel, type TunnelObserver, type TunnelOptions } from './tunnel.js';

export type DataPlaneChoice = 'js' | 'native' | 'auto';
export type DataPlaneName = 'js' | 'native';

export interface DataPlane {
  readonly name: DataPlaneName;
  /** Why `auto` runs the JS plane (the addon's load error), if it does. */
  readonly fallbackReason: string | undefined;
  /** Starts the tunnel of an upgraded connection; the bytes that came with the handshake go first. */
  open(client: Socket, upstream: Socket, clientHead: Buffer, upstreamHead: Buffer, ticket: AdmissionTicket, options: TunnelOptions, observer: TunnelShapeObserver & TunnelObserver): TunnelShape;
  /** Tunnels the native engine holds (0 on the JS plane). */
  nativeTunnels(): number;
  /** Bytes the native engine holds for slow sinks (0 on the JS plane). */
  nativeQueuedBytes(): number;
  close(): void;
}

export type NativePlaneStats = Pick<DataPlane, 'nativeQueuedBytes'>;

export type DataPlaneResult = { ok: true; plane: DataPlane } | { ok: false; problem: string };

export function createDataPlane(choice: DataPlaneChoice): DataPlaneResult {
  if (choice === 'js') return { ok: true, plane: jsPlane(undefined) };
  const load = loadNativeAddon();
  if (!load.ok) {
    if (choice === 'native') return { ok: false, problem: `--data-plane native: ${load.reason}` };
    return { ok: true, plane: jsPlane(load.reason) };
  }
  const native = new NativePlane(load.addon);
  return {
    ok: true,
    plane: {
      name: 'native',
      fallbackReason: undefined,
      open(client, upstream, clientHead, upstreamHead, ticket, options, observer) {
        // Rare: the kernel did not take the 101 at once; this one tunnel stays on the JS plane.
        if (!native.canAdopt(client, upstream)) return openJsTunnel(client, upstream, clientHead, upstreamHead, ticket, options, observer);
        // Out of fds for the duplicates: this one tunnel stays on the JS plane rather than fail.
        return native.adopt(client, upstream, clientHead, upstreamHead, ticket, options, observer) ?? openJsTunnel(client, upstream, clientHead, upstreamHead, ticket, options, observer);
      },
      nativeTunnels: () => native.size,
      nativeQueuedBytes: () => native.queuedBytes(),
      close: () => native.close(),
    },
  };
}

function jsPlane(fallbackReason: string | undefined): DataPlane {
  return { name: 'js', fallbackReason, open: openJsTunnel, nativeTunnels: () => 0, nativeQueuedBytes: () => 0, close: () => undefined };
}

function openJsTunnel(client: Socket, upstream: Socket, clientHead: Buffer, upstreamHead: Buffer, ticket: AdmissionTicket, options: TunnelOptions, observer: TunnelObserver): TunnelShape {
  const tunnel = new Tunnel(client, upstream, ticket, options, observer);
  tunnel.start(clientHead, upstreamHead);
  return tunnel;
}
