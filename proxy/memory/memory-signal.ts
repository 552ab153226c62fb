// What the budget compares: "used" bytes. RSS is what the kernel counts, but it
// may not fall after memory is freed: V8 keeps heap pages, glibc keeps freed
// buffers and the native part of closed sockets for reuse (measured: 3,000 stalled
// readers gone, RSS stayed at 133 MiB while V8 held 30). Those pages are not a risk
// (new allocations reuse them before RSS grows again), and a pod kept unready for
// good by them is an outage too. So RSS counts only while it grows; below its last
// high, what was freed since is taken off:
//   used  = min(RSS, RSS at its high − freed since the high)
//   freed = drop of live bytes (V8 heap used + array buffers, where Buffers are,
//           + what the native engine queues; they fall once V8 has collected)
//         + drop of connections × their native cost (sockets, handles: outside V8),
// the native cost per connection taken at each new high as the RSS not explained by
// live bytes beyond the start, over the connections then. An estimate that is too
// kind shows up as RSS growing again: a new high, and used is RSS once more.

export interface MemorySample {
  readonly rssBytes: number;
  /** heapUsed + arrayBuffers + native queued. */
  readonly liveBytes: number;
  readonly usedBytes: number;
}

interface Reference {
  readonly rss: number;
  readonly live: number;
  readonly connections: number;
}

export class MemorySignal {
  private start: Reference | undefined;
  private high: Reference = { rss: 0, live: 0, connections: 0 };
  private nativePerConnection = 0;

  read(nativeQueuedBytes: number, connections: number): MemorySample {
    const usage = process.memoryUsage();
    const now = { rss: usage.rss, live: usage.heapUsed + usage.arrayBuffers + nativeQueuedBytes, connections };
    this.start ??= now;
    if (now.rss >= this.high.rss) {
      this.high = now;
      const unexplained = now.rss - now.live - (this.start.rss - this.start.live);
      this.nativePerConnection = connections > 0 ? Math.max(0, unexplained / connections) : 0;
    }
    const freed = Math.max(0, this.high.live - now.live + (this.high.connections - now.connections) * this.nativePerConnection);
    return { rssBytes: now.rss, liveBytes: now.live, usedBytes: Math.max(0, Math.min(now.rss, this.high.rss - freed)) };
  }
}
