/**
 * Runs the verifier for the editor: in a Web Worker (a long exploration never blocks typing; a
 * newer request terminates a busy worker rather than queueing behind it), or on the page when
 * workers are unavailable.
 */
import type { Definition } from '../../../src/model/schema.js';
import type { VerificationReport, VerifyOptions } from '../../../src/verify/verify.js';

export interface VerifyRequest { seq: number; definition: Definition; options: VerifyOptions }
export type VerifyResponse = { seq: number; report: VerificationReport; error?: undefined } | { seq: number; error: string; report?: undefined };

/** Bounded so a verdict comes back in well under a second for definitions people draw. */
export const EDITOR_VERIFY_OPTIONS: VerifyOptions = { maxStates: 20_000 };

const WORKER_FAILED = 'worker failed';
const WORKER_START_MS = 5000;

export class Verifier {
  private worker?: Worker;
  private busy = false;
  private seq = 0;
  private pending = new Map<number, (r: VerifyResponse) => void>();
  private workerFailed = false;

  /** The latest request wins: an older one still running is abandoned (resolves with `undefined`). */
  async verify(definition: Definition, options: VerifyOptions = EDITOR_VERIFY_OPTIONS): Promise<VerifyResponse | undefined> {
    const seq = ++this.seq;
    for (const [s, resolve] of this.pending) if (s < seq) { resolve({ seq: s, error: 'superseded' }); this.pending.delete(s); }
    if (this.busy) this.stop();
    const worker = this.ensureWorker();
    if (!worker) {
      const { verifyDefinition } = await import('../../../src/verify/verify.js');
      try {
        const report = await verifyDefinition(definition, options);
        return seq === this.seq ? { seq, report } : undefined;
      } catch (err) {
        return seq === this.seq ? { seq, error: (err as Error).message } : undefined;
      }
    }
    this.busy = true;
    const answer = await new Promise<VerifyResponse>((resolve) => {
      this.pending.set(seq, resolve);
      worker.postMessage({ seq, definition, options } satisfies VerifyRequest);
    });
    if (answer.error === WORKER_FAILED && seq === this.seq) return this.verify(definition, options);
    return answer.seq === this.seq && answer.error !== 'superseded' ? answer : undefined;
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker) return this.worker;
    if (typeof Worker === 'undefined' || this.workerFailed) return undefined;
    try {
      this.worker = new Worker(new URL('./verify.worker.ts', import.meta.url), { type: 'module' });
    } catch {
      return undefined;
    }
    // A worker that has not said it is running after a while never will (blocked, or starved of a
    // thread): verify on the page instead of waiting forever.
    const worker = this.worker;
    const watchdog = setTimeout(() => { if (this.worker === worker) this.fail(`did not start within ${WORKER_START_MS / 1000} s`); }, WORKER_START_MS);
    this.worker.onmessage = (e: MessageEvent<VerifyResponse | { ready: true }>) => {
      if ('ready' in e.data) { clearTimeout(watchdog); return; }
      this.busy = false;
      const resolve = this.pending.get(e.data.seq);
      this.pending.delete(e.data.seq);
      resolve?.(e.data);
    };
    // A worker that cannot load or crashes: verify on the page from now on (slower, but an answer).
    this.worker.onerror = (e) => { clearTimeout(watchdog); this.fail(e.message || 'no message'); };
    return this.worker;
  }

  private fail(why: string): void {
    console.warn(`verifier worker failed (${why}); verifying on the page instead`);
    this.workerFailed = true;
    const waiting = [...this.pending];
    this.pending.clear();
    this.stop();
    for (const [s, resolve] of waiting) resolve({ seq: s, error: WORKER_FAILED });
  }

  /** Ends a busy worker (a new one starts with the next request). */
  private stop(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.busy = false;
  }

  dispose(): void {
    for (const [s, resolve] of this.pending) resolve({ seq: s, error: 'superseded' });
    this.pending.clear();
    this.stop();
  }
}
