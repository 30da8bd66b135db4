import type { LocalStack } from '../stack';
import { viewState } from './frame';
import { treeRss } from './memory';
import type { StackObserver } from './observe';
import type { DemoRun } from './state';
import type { LiveView } from './view';

/** Samples, observes and draws every 100 ms until `durationMs` of real time have passed or `signal` aborts. */
export function runFor(run: DemoRun, s: LocalStack, observer: StackObserver, view: LiveView, durationMs: number, signal?: AbortSignal): Promise<void> {
  let lastSample = { ok: 0, failed: 0, real: 0 };
  let lastMemory = 0;
  return new Promise<void>((resolveRun) => {
    const onAbort = (): void => {
      run.aborted = true;
      finish();
    };
    const interval = setInterval(() => {
      observer.observe();
      const real = performance.now() - run.realStart;
      if (real - lastSample.real >= 250) {
        const sample = { t: s.clock.now(), real: Math.round(real), ok: run.ok - lastSample.ok, failed: run.failed - lastSample.failed };
        run.timeline.samples.push(sample);
        run.rateNow = ((sample.ok + sample.failed) * 1000) / (real - lastSample.real);
        lastSample = { ok: run.ok, failed: run.failed, real };
      }
      if (real - lastMemory >= 500) {
        lastMemory = real;
        const m = treeRss();
        run.peak = { self: Math.max(run.peak.self, m.self), children: Math.max(run.peak.children, m.children) };
      }
      view.draw(viewState(run, s, durationMs));
      if (real >= durationMs) finish();
    }, 100);
    function finish(): void {
      clearInterval(interval);
      signal?.removeEventListener('abort', onAbort);
      resolveRun();
    }
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort);
  });
}
