// Connections the data listener could not take (out of fds, or an accept error):
// each one counted, and one warning per interval saying how many since the last,
// so a storm of them is visible without flooding the log.
import type { Logger } from '../config/logger.js';

export type AcceptFailureReason = 'fd_limit' | 'error';

export const ACCEPT_FAILURE_LOG_INTERVAL_MS = 10_000;

export class AcceptFailures {
  private sinceLastLog = 0;
  private lastLogAtMs = -Infinity;

  constructor(
    private readonly logger: Logger,
    private readonly count: (reason: AcceptFailureReason) => void,
    private readonly fdBudget: number | undefined,
  ) {}

  record(reason: AcceptFailureReason, err?: Error): void {
    this.count(reason);
    this.sinceLastLog++;
    const now = performance.now();
    if (now - this.lastLogAtMs < ACCEPT_FAILURE_LOG_INTERVAL_MS) return;
    this.lastLogAtMs = now;
    this.logger.warn({ failed: this.sinceLastLog, reason, err, fdBudget: this.fdBudget }, 'accepts failing: connections dropped');
    this.sinceLastLog = 0;
  }
}
