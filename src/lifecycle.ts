/**
 * Bounded shutdown: runs `stop` at most once, waits for it at most `timeoutMs`, and on a signal
 * re-raises that signal afterwards so the process ends exactly as it would have without us (exit
 * status 128+n), unless the app has its own handler for it, in which case the app decides.
 */
export function installShutdownHooks(stop: () => Promise<void>, timeoutMs: number, handleSignals: boolean): () => void {
  let stopping: Promise<void> | undefined;
  const bounded = (): Promise<void> => {
    stopping ??= Promise.race([
      stop().catch(() => undefined),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    const othersListening = process.listenerCount(signal) > 1;
    process.removeListener(signal, handlers[signal]!);
    // Keep the process alive until the flush is done or times out, however idle it is.
    const keepAlive = setTimeout(() => undefined, timeoutMs + 1000);
    void bounded().then(() => {
      clearTimeout(keepAlive);
      if (!othersListening) process.kill(process.pid, signal);
    });
  };
  const handlers: Partial<Record<NodeJS.Signals, () => void>> = {
    SIGTERM: () => onSignal('SIGTERM'),
    SIGINT: () => onSignal('SIGINT'),
  };
  if (handleSignals) for (const [s, h] of Object.entries(handlers)) process.once(s as NodeJS.Signals, h);
  const onBeforeExit = (): void => { void bounded(); };
  process.once('beforeExit', onBeforeExit);
  return () => {
    for (const [s, h] of Object.entries(handlers)) process.removeListener(s, h);
    process.removeListener('beforeExit', onBeforeExit);
  };
}
