// Reads every pod's connections and accepted upgrades four times a second: when the busiest
// pod came within 1.2× the mean, and the hardest any pod was hit by handshakes in one second.
import type { FleetPod } from './fleet-pod.js';

const SAMPLE_MS = 250;
export const BALANCED_RATIO = 1.2;

interface Sample {
  readonly at: number;
  /** pod name → counts */
  readonly pods: Map<string, { active: number; accepted: number }>;
}

export class BalanceSampler {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(private readonly pods: () => readonly FleetPod[]) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** performance.now() of the first sample with max ≤ 1.2 × mean (held for two samples), or undefined. */
  async waitForBalance(timeoutMs: number): Promise<number | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const recent = this.samples.slice(-2);
      if (recent.length === 2 && recent.every((sample) => balanced(sample) && sample.pods.size === this.pods().length)) return recent[0]!.at;
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
    return undefined;
  }

  /** The most upgrades any one pod accepted within one second (sliding over the samples). */
  peakAcceptsPerSecond(): number {
    let peak = 0;
    for (let i = 0; i < this.samples.length; i++) {
      const later = this.samples[i]!;
      const earlier = this.samples.find((sample) => later.at - sample.at <= 1000 + SAMPLE_MS / 2);
      if (!earlier || earlier === later) continue;
      const seconds = Math.max(1, (later.at - earlier.at) / 1000);
      for (const [name, counts] of later.pods) {
        const before = earlier.pods.get(name)?.accepted ?? 0;
        peak = Math.max(peak, (counts.accepted - before) / seconds);
      }
    }
    return Math.round(peak);
  }

  private async sample(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const pods = this.pods();
      const at = performance.now();
      const reads = await Promise.all(pods.map((pod) => pod.read().catch(() => undefined)));
      const map = new Map<string, { active: number; accepted: number }>();
      reads.forEach((read, i) => read && map.set(pods[i]!.name, read));
      this.samples.push({ at, pods: map });
    } finally {
      this.reading = false;
    }
  }
}

function balanced(sample: Sample): boolean {
  const counts = [...sample.pods.values()].map((pod) => pod.active);
  if (counts.length === 0) return false;
  const mean = counts.reduce((sum, count) => sum + count, 0) / counts.length;
  return mean > 0 && Math.max(...counts) <= BALANCED_RATIO * mean;
}
