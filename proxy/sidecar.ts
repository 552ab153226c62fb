// A running sidecar: data listener, admin listener, registry, drain and metrics wired together.
import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createAdminServer } from './admin/admin-server.js';
import { Admission } from './admission/admission.js';
import type { Address, Config } from './config/config.js';
import { Drain } from './drain/drain.js';
import { createHttpForwarder } from './data-path/http-forward.js';
import { Hygiene } from './data-path/hygiene.js';
import { DataListener } from './data-path/listener.js';
import { AcceptFailures } from './data-path/accept-failures.js';
import { listenerConnectionBudget } from './data-path/fd-budget.js';
import { Lingering } from './data-path/linger.js';
import type { Logger } from './config/logger.js';
import { LoopHealth } from './admin/loop-health.js';
import { Metrics } from './metrics/metrics.js';
import { TunnelRegistry } from './data-path/registry.js';
import { TrafficTotals } from './admin/traffic.js';
import { CLOSE_ABNORMAL } from './data-path/tunnel.js';
import { createDataPlane, type DataPlane } from './data-path/data-plane.js';
import { UpgradeHandler } from './data-path/upgrade-handler.js';
import { UpstreamProbe } from './admin/upstream-check.js';
import { checkReadiness } from './admin/readiness.js';
import { Fleet } from './fleet/fleet.js';
import { budgetSize } from './memory/budget-size.js';
import { MemoryBudget, MEMORY_PRESSURE } from './memory/memory-budget.js';
import { GROWTH_TOLERANCE, MemorySignal } from './memory/memory-signal.js';
import { heapCollector } from './memory/heap-collector.js';
import { RegistryReadThrottle } from './data-path/read-throttle.js';

export interface RunningSidecar {
  readonly config: Config;
  readonly dataAddress: AddressInfo;
  readonly adminAddress: AddressInfo;
  readonly registry: TunnelRegistry;
  readonly drain: Drain;
  readonly metrics: Metrics;
  /** Present in fleet mode (--fleet-redis) only. */
  readonly fleet: Fleet | undefined;
  readonly memory: MemoryBudget;
  /** Stops listening and destroys whatever is still open. */
  close(): Promise<void>;
}

/** `dataPlane` defaults to the one --data-plane names (throwing if `native` cannot load). */
export async function startSidecar(config: Config, logger: Logger, dataPlane: DataPlane = requirePlane(config)): Promise<RunningSidecar> {
  const registry = new TunnelRegistry();
  const drain = new Drain(config, registry, { get pendingHandshakes() { return upgrades.pendingHandshakes; }, abortHandshakes: () => upgrades.abortHandshakes() }, logger);
  const probe = new UpstreamProbe(config.upstream, config.upstreamCheck, config.connectTimeoutMs);
  const traffic = new TrafficTotals(registry);
  const budget = budgetSize(config.maxMemory);
  const throttle = new RegistryReadThrottle(registry, dataPlane, () => upgrades.pendingHandshakes);
  const memory = new MemoryBudget(
    budget.bytes,
    new MemorySignal(budget.bytes * GROWTH_TOLERANCE),
    throttle,
    {
      stateChanged: (from, to, sample) => {
        metrics.memoryStateChangesTotal.inc({ state: to });
        const fields = { from, to, usedBytes: sample.usedBytes, rssBytes: sample.rssBytes, budgetBytes: budget.bytes, queuedBytes: throttle.queuedBytes() };
        if (to === 'normal') logger.info(fields, 'memory budget: back to normal, admitting again');
        else logger.warn(fields, to === 'refusing' ? 'memory budget: refusing new upgrades' : 'memory budget: pausing the sources of the fullest sinks');
      },
      readsPaused: (count) => metrics.memoryReadsPausedTotal.inc(count),
      collected: () => metrics.memoryCollectionsTotal.inc(),
    },
    budget.bytes > 0 ? heapCollector() : undefined,
  );
  const metrics = new Metrics(config.maxConnections, {
    activeConnections: () => registry.size,
    draining: () => drain.isDraining,
    upstreamUp: () => probe.up,
    traffic: () => traffic.read(),
    memory: {
      budgetBytes: () => budget.bytes,
      usedBytes: () => (budget.bytes > 0 ? memory.usedBytes : process.memoryUsage.rss()),
      queuedBytes: () => throttle.queuedBytes(),
      state: () => memory.state,
    },
  });
  const fleet = config.fleetRedis
    ? new Fleet({
        config,
        local: {
          connections: () => registry.size,
          maxConnections: config.maxConnections,
          // The same answer /readyz gives (the probe is cached briefly, so this stays cheap).
          ready: async () => (await checkReadiness({ drain, probe, notReadyReasons })).ready,
          draining: () => drain.isDraining,
        },
        tunnels: registry,
        metricsRegistry: metrics.registry,
        logger,
      })
    : undefined;
  // Admission asks the fleet through its own port; the fleet implements it.
  const admission = new Admission(config, () => drain.rejectsUpgrades, () => registry.size, fleet?.caps);
  // The memory budget refuses upgrades as at the cap while it is not normal.
  admission.addCapacityGate(() => {
    const reason = memory.refusal();
    if (reason !== undefined) metrics.memoryUpgradesRefusedTotal.inc();
    return reason;
  });
  registry.onClosed((tunnel) => {
    admission.tunnelClosed(tunnel.ticket);
    metrics.connectionDuration.observe((Date.now() - tunnel.openedAtMs) / 1000);
    metrics.countClose(tunnel.closeInitiator ?? 'client', tunnel.closeCode ?? CLOSE_ABNORMAL);
    if (logger.isLevelEnabled('debug')) {
      logger.debug({ initiator: tunnel.closeInitiator, code: tunnel.closeCode, active: registry.size }, 'connection closed');
    }
  });

  const forwardHttp = createHttpForwarder(
    {
      upstream: config.upstream,
      connectTimeoutMs: config.connectTimeoutMs,
      closeConnections: () => drain.isDraining,
      onResponse: (statusCode) => metrics.countHttpResponse(statusCode),
    },
    logger,
  );
  // One owner for every client socket answered without a tunnel: refused heads, rejections, failed upgrades.
  const lingering = new Lingering();
  // The upgrade handler declines other protocols through the data listener, made after it.
  const upgrades = new UpgradeHandler(config, admission, registry, metrics, logger, (req, socket, head) => dataListener.declineUpgrade(req, socket, head), dataPlane, lingering);
  upgrades.onTunnelOpened(drain.onTunnelOpened);
  upgrades.onHandshakeSettled(drain.finishIfEmpty);
  const connectionBudget = listenerConnectionBudget();
  const acceptFailures = new AcceptFailures(logger, (reason) => metrics.acceptFailuresTotal.inc({ reason }), connectionBudget);
  const dataListener = new DataListener(config, { onRequest: forwardHttp, onUpgrade: upgrades.handle }, { acceptFailures, connectionBudget, lingering });
  const notReadyReasons = (): string[] => [
    ...(config.unreadyAtCapacity && admission.atCapacity ? ['at_capacity'] : []),
    ...(memory.refusal() !== undefined ? [MEMORY_PRESSURE] : []),
  ];
  if (fleet) drain.onStarted(() => void fleet.membership.beatNow());
  const loopHealth = new LoopHealth();
  const adminServer = createAdminServer({
    config,
    metrics,
    drain,
    probe,
    loopHealth,
    dataPlane,
    activeConnections: () => registry.size,
    notReadyReasons,
    memory: () => memory.status(budget.source, budget.limitBytes),
    fleetView: fleet ? () => fleet.view() : undefined,
    logger,
  });
  const hygiene = new Hygiene(config, registry);

  const dataAddress = await listen(dataListener.server, config.listen);
  let adminAddress: AddressInfo;
  try {
    adminAddress = await listen(adminServer, config.adminListen);
  } catch (err) {
    void dataListener.close();
    loopHealth.stop();
    throw err;
  }
  logger.info({ dataPlane: dataPlane.name, requested: config.dataPlane, fallbackReason: dataPlane.fallbackReason }, 'data plane');
  logger.info(
    { listener: 'data', address: dataAddress.address, port: dataAddress.port, upstream: `${config.upstream.host}:${config.upstream.port}`, dataPlane: dataPlane.name },
    'listening',
  );
  logger.info({ listener: 'admin', address: adminAddress.address, port: adminAddress.port }, 'listening');
  logger.info({ budgetBytes: budget.bytes, source: budget.source, limitBytes: budget.limitBytes }, budget.bytes > 0 ? 'memory budget' : 'memory budget: off');
  memory.start();
  hygiene.start();
  fleet?.start();

  return {
    config,
    dataAddress,
    adminAddress,
    registry,
    drain,
    metrics,
    fleet,
    memory,
    async close() {
      memory.stop();
      hygiene.stop();
      await fleet?.close();
      upgrades.destroyAll();
      for (const tunnel of registry.list()) tunnel.destroy();
      forwardHttp.close();
      loopHealth.stop();
      await Promise.all([dataListener.close(), closeServer(adminServer), probe.close()]);
      dataPlane.close();
    },
  };
}

function requirePlane(config: Config): DataPlane {
  const result = createDataPlane(config.dataPlane);
  if (!result.ok) throw new Error(result.problem);
  return result.plane;
}

function listen(server: Server | NetServer, address: Address): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
