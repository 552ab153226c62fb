// SIGTERM/SIGINT: the first starts a graceful stop, a second one stops at once.
export interface StopSignalHandlers {
  onFirst(signal: NodeJS.Signals): Promise<void> | void;
  onSecond(signal: NodeJS.Signals): void;
}

export function handleStopSignals(handlers: StopSignalHandlers): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    received++;
    if (received === 1) void handlers.onFirst(signal);
    else handlers.onSecond(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
