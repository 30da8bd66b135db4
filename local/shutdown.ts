/**
 * Calls `stop` once, on SIGINT, SIGTERM or SIGHUP, or when the process that started this one goes away.
 *
 * Why the last one: `npm run` starts scripts through `sh -c`, and on SIGTERM npm signals that shell, which dies
 * without passing the signal on. Without this, `kill <npm pid>` would leave the local stack (and moto) running.
 *
 * @returns a function that removes the handlers.
 */
export function onShutdown(stop: (reason: string) => void, pollMs = 500): () => void {
  const parent = process.ppid;
  let done = false;
  const once = (reason: string): void => {
    if (done) return;
    done = true;
    stop(reason);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const handlers = signals.map((signal) => [signal, () => once(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const timer = setInterval(() => {
    if (process.ppid !== parent) once('parent process exited');
  }, pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
