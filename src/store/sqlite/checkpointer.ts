/**
 * WAL checkpoints off the main thread. With `synchronous=NORMAL` a commit only appends to the WAL;
 * the expensive part (copying pages back into the database file and fsyncing it) is the
 * checkpoint, which SQLite would otherwise run inside whichever COMMIT crosses the threshold — on
 * the engine's thread. A worker with its own connection runs PASSIVE checkpoints (they never block
 * the writer) shortly after commits; the main connection keeps a high auto-checkpoint threshold as
 * a fallback in case the worker falls behind.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
let pending = false;
let running = false;
function run() {
  if (running) return;
  running = true;
  pending = false;
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err) }); }
  running = false;
  if (pending) setTimeout(run, workerData.minIntervalMs);
}
parentPort.on('message', (m) => {
  if (m === 'close') { try { db.close(); } catch {} process.exit(0); }
  if (running) { pending = true; return; }
  setTimeout(run, workerData.minIntervalMs);
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private lastPoke = 0;
  private closed = false;

  constructor(path: string, private readonly minIntervalMs = 50, onError?: (message: string) => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, minIntervalMs } });
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => { if (m.error && onError) onError(m.error); });
    this.worker.on('error', (err) => onError?.(String(err)));
  }

  /** After a commit: asks for a checkpoint (at most one message per interval). */
  poke(): void {
    if (this.closed) return;
    const now = Date.now();
    if (now - this.lastPoke < this.minIntervalMs) return;
    this.lastPoke = now;
    this.worker.postMessage('poke');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.ref(); // keep the process alive until the worker has closed its connection
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    await Promise.race([exited, new Promise<void>((r) => { timer = setTimeout(r, 1000); })]);
    clearTimeout(timer);
    await this.worker.terminate().catch(() => undefined);
  }
}
