// What the budget compares: "used" bytes. RSS is what the kernel counts, but it
// may not fall after memory is freed: V8 keeps heap pages, glibc keeps freed
// buffers and the native part of closed sockets for reuse (measured: 3,000 stalled
// readers gone, RSS stayed at 133 MiB while V8 held 30). Those pages are not a risk
// (new allocations reuse them before RSS grows again), and a pod kept unready for
// good by them is an outage too. So "used" is a running figure, RSS less the pages
// known to be freed and kept for reuse. Each sample, with
//   accounted = what the process's own accounting grew by (negative when freed):
//               live bytes (V8 heap used + array buffers, where Buffers are, + what
//               the native engine queues) and connections × their native cost
//               (sockets, handles: outside V8),
//   grew      = what RSS grew by,
// an allocation is served from kept pages before RSS grows (used += max(accounted,
// grew)), a free adds to the kept pages, and RSS growth nobody explains still counts
// (used += accounted + max(grew, 0)). Used stays between "what is live plus the empty
// process" and RSS.
// Except when RSS passes the RSS of its last reset by more than a tolerance (2% of the
// budget): then it is new memory whatever the accounting says, "used" is RSS and the
// credit starts again — without it, frees during a ramp-up let RSS run past the budget
// (seen in CI: 157 MiB of 150). An earlier version reset at every new high, and one late
// page of growth with every connection gone wiped the credit and kept a pod unready for
// good (seen in CI: 138 MiB "used" of 150, V8 at 27): creep within the tolerance does not.
// The native cost per connection is estimated at each RSS high with enough connections
// to say something: the RSS not explained by live bytes beyond the start, over them.

export interface MemorySample {
  readonly rssBytes: number;
  /** heapUsed + arrayBuffers + native queued. */
  readonly liveBytes: number;
  readonly usedBytes: number;
}

/** One reading of the process: what `MemorySignal.next` takes. */
export interface MemoryReading {
  readonly rss: number;
  readonly live: number;
  readonly connections: number;
}

/** Below this many connections a high says nothing about their cost (one page of noise per connection). */
export const MIN_CONNECTIONS_TO_ESTIMATE = 100;

/** The share of the budget RSS may grow past its last reset before it counts in full. */
export const GROWTH_TOLERANCE = 0.02;

export class MemorySignal {
  private start: MemoryReading | undefined;
  private previous: MemoryReading | undefined;
  private highRss = 0;
  /** RSS when "used" was last set to RSS. */
  private resetRss = 0;
  private nativePerConnection = 0;
  private used = 0;

  /** `toleranceBytes`: how far RSS may grow past its last reset on the running figure (budget × GROWTH_TOLERANCE). */
  constructor(private readonly toleranceBytes: number) {}

  /** Reads this process: `nativeQueuedBytes` and `connections` come from the data path. */
  read(nativeQueuedBytes: number, connections: number): MemorySample {
    const usage = process.memoryUsage();
    return this.next({ rss: usage.rss, live: usage.heapUsed + usage.arrayBuffers + nativeQueuedBytes, connections });
  }

  /** The next sample after `now` (pure: the readings are the whole input). */
  next(now: MemoryReading): MemorySample {
    const start = (this.start ??= now);
    const previous = this.previous ?? now;
    if (now.rss > this.highRss) {
      this.highRss = now.rss;
      if (now.connections >= MIN_CONNECTIONS_TO_ESTIMATE) {
        const unexplained = now.rss - now.live - (start.rss - start.live);
        this.nativePerConnection = Math.max(0, unexplained / now.connections);
      }
    }
    const accounted = now.live - previous.live + (now.connections - previous.connections) * this.nativePerConnection;
    const floor = Math.min(now.rss, Math.max(0, now.live + start.rss - start.live));
    const grew = now.rss - previous.rss;
    const step = accounted >= 0 ? Math.max(accounted, grew) : accounted + Math.max(grew, 0);
    if (this.previous === undefined || now.rss > this.resetRss + this.toleranceBytes) {
      this.used = now.rss;
      this.resetRss = now.rss;
    } else {
      this.used = Math.min(now.rss, Math.max(floor, this.used + step));
    }
    this.previous = now;
    return { rssBytes: now.rss, liveBytes: now.live, usedBytes: this.used };
  }
}
