/**
 * `script`: runs a JavaScript function body in a QuickJS interpreter compiled to WebAssembly.
 *
 * The interpreter's WebAssembly is compiled once per process; each call gets a fresh QuickJS
 * runtime and context (own heap, own interrupt handler) inside an instance whose WebAssembly
 * memory is capped by the memory limit (see `loadSandbox`). Nothing from the host is
 * reachable: no `require`, `process`, `fetch`, timers or file system — only the ECMAScript
 * built-ins, `args` (the JSON input) and a `console` that writes through `ctx.log`.
 * Never `vm` or `eval` on the host.
 *
 * The interpreter runs synchronously on the calling thread, so `timeoutMs` also bounds how long
 * the host's event loop is held (the default is 1 s; the hard ceiling is `maxTimeoutMs`).
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import {
  RELEASE_SYNC,
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { ActivityFailure, type ActivityContext, type ActivityHandler } from '../runtime/activity.js';
import { invalidInput, isRecord } from './util.js';

export interface ScriptInput {
  /** A function body; `args` (default `{}`) is in scope; its (JSON-serialisable) return value is the result. */
  code: string;
  args?: unknown;
  /** CPU-time budget (default 1000 ms). */
  timeoutMs?: number;
  /** Heap limit of the sandbox (default 32 MiB). */
  memoryLimitBytes?: number;
}

export interface ScriptActivityOptions {
  defaultTimeoutMs?: number;
  defaultMemoryLimitBytes?: number;
  /** Upper bounds a definition cannot exceed (defaults: 30 s, 256 MiB). */
  maxTimeoutMs?: number;
  maxMemoryLimitBytes?: number;
  /** Largest accepted source (default 1 MiB). */
  maxCodeBytes?: number;
  /** Console lines forwarded to `ctx.log` per call (default 100). */
  maxLogLines?: number;
}

export const SCRIPT_DEFAULTS: Readonly<Record<'timeoutMs' | 'memoryLimitBytes' | 'maxTimeoutMs' | 'maxMemoryLimitBytes' | 'maxCodeBytes' | 'maxLogLines' | 'maxStackBytes', number>> = {
  timeoutMs: 1000,
  memoryLimitBytes: 32 * 1024 * 1024,
  maxTimeoutMs: 30_000,
  maxMemoryLimitBytes: 256 * 1024 * 1024,
  maxCodeBytes: 1024 * 1024,
  maxLogLines: 100,
  /** Interpreter stack; deep recursion fails inside the sandbox well before the WASM stack would. */
  maxStackBytes: 256 * 1024,
};

/** WebAssembly pages are 64 KiB. */
const PAGE = 64 * 1024;
/** The interpreter's own memory (static data, stack, initial heap) granted on top of the script's limit. */
const BASE_MEMORY_BYTES = 16 * 1024 * 1024;
/** Sandboxes kept warm, one per distinct memory limit. */
const MAX_CACHED_SANDBOXES = 4;

let compiled: Promise<WebAssembly.Module | undefined> | undefined;

interface Sandbox {
  module: Promise<QuickJSWASMModule>;
  loaded?: QuickJSWASMModule;
}
const sandboxes = new Map<number, Sandbox>();

/**
 * Compiles the interpreter's WebAssembly once per process. When the `.wasm` file cannot be
 * located, Emscripten's own loader is used instead (slower: it compiles per sandbox).
 */
function compiledInterpreter(): Promise<WebAssembly.Module | undefined> {
  compiled ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const path = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
      return await WebAssembly.compile(await readFile(path));
    } catch {
      return undefined;
    }
  })();
  return compiled;
}

/**
 * A QuickJS module whose WebAssembly memory cannot grow past `BASE_MEMORY_BYTES + limit`.
 * QuickJS's own `setMemoryLimit` under-counts in Emscripten builds (it cannot read allocation
 * sizes, so it only stops single huge allocations); the hard bound is the WebAssembly memory
 * itself: when it is full, `malloc` fails and the script gets "out of memory" while the host
 * stays untouched. Calls run synchronously, so one module serves every call with the same
 * limit, each in a fresh runtime and context.
 */
export function loadSandbox(memoryLimitBytes: number): Promise<QuickJSWASMModule> {
  const pages = Math.ceil((BASE_MEMORY_BYTES + memoryLimitBytes) / PAGE);
  const cached = sandboxes.get(pages);
  if (cached) {
    sandboxes.delete(pages);
    sandboxes.set(pages, cached); // most recently used last
    return cached.module;
  }
  const sandbox = {} as Sandbox;
  sandbox.module = (async () => {
    const wasmModule = await compiledInterpreter();
    const wasmMemory = new WebAssembly.Memory({ initial: BASE_MEMORY_BYTES / PAGE, maximum: pages });
    const variant = newVariant(RELEASE_SYNC, { ...(wasmModule ? { wasmModule } : {}), wasmMemory });
    const module = await newQuickJSWASMModuleFromVariant(variant);
    sandbox.loaded = module;
    return module;
  })();
  sandbox.module.catch(() => {
    if (sandboxes.get(pages) === sandbox) sandboxes.delete(pages);
  });
  sandboxes.set(pages, sandbox);
  while (sandboxes.size > MAX_CACHED_SANDBOXES) sandboxes.delete(sandboxes.keys().next().value as number);
  return sandbox.module;
}

/** Drops a sandbox whose WebAssembly instance may be damaged, so the next call builds a fresh one. */
function discardSandbox(module: QuickJSWASMModule): void {
  for (const [pages, sandbox] of sandboxes) if (sandbox.loaded === module) sandboxes.delete(pages);
}

export function createScriptActivity(options: ScriptActivityOptions = {}): ActivityHandler<ScriptInput, unknown> {
  const limits = { ...SCRIPT_DEFAULTS, ...stripUndefined(options) };
  return async (input, ctx) => {
    const { code, args, timeoutMs, memoryLimitBytes } = checkInput(input, limits);
    if (ctx.signal.aborted) throw new ActivityFailure('script_aborted', 'script: the task was cancelled before it started');
    const module = await loadSandbox(memoryLimitBytes);
    return runInSandbox(module, code, args, { timeoutMs, memoryLimitBytes, maxLogLines: limits.maxLogLines }, ctx);
  };
}

export const script = createScriptActivity();

type Limits = typeof SCRIPT_DEFAULTS & ScriptActivityOptions;

function checkInput(input: ScriptInput, limits: Limits) {
  if (!isRecord(input)) throw invalidInput('script', 'input must be an object {code, args?, timeoutMs?, memoryLimitBytes?}');
  if (typeof input.code !== 'string' || input.code.trim() === '') throw invalidInput('script', '"code" must be a non-empty string');
  if (Buffer.byteLength(input.code) > limits.maxCodeBytes) throw invalidInput('script', `"code" is larger than ${limits.maxCodeBytes} bytes`);
  const timeoutMs = positive(input.timeoutMs, limits.defaultTimeoutMs ?? limits.timeoutMs, 'timeoutMs');
  const memoryLimitBytes = positive(input.memoryLimitBytes, limits.defaultMemoryLimitBytes ?? limits.memoryLimitBytes, 'memoryLimitBytes');
  if (timeoutMs > limits.maxTimeoutMs) throw invalidInput('script', `"timeoutMs" may be at most ${limits.maxTimeoutMs}`);
  if (memoryLimitBytes > limits.maxMemoryLimitBytes) throw invalidInput('script', `"memoryLimitBytes" may be at most ${limits.maxMemoryLimitBytes}`);
  let argsJson: string;
  try {
    argsJson = JSON.stringify(input.args === undefined ? {} : input.args);
  } catch (err) {
    throw invalidInput('script', `"args" is not JSON-serialisable: ${(err as Error).message}`);
  }
  return { code: input.code, args: argsJson, timeoutMs, memoryLimitBytes };
}

function positive(value: unknown, fallback: number, name: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalidInput('script', `"${name}" must be a positive number`);
  return value;
}

interface RunLimits {
  timeoutMs: number;
  memoryLimitBytes: number;
  maxLogLines: number;
}

function runInSandbox(module: QuickJSWASMModule, code: string, argsJson: string, limits: RunLimits, ctx: ActivityContext): unknown {
  const runtime = module.newRuntime();
  const deadline = Date.now() + limits.timeoutMs;
  let interrupted: 'timeout' | 'aborted' | undefined;
  runtime.setInterruptHandler(() => {
    if (ctx.signal.aborted) interrupted = 'aborted';
    else if (Date.now() > deadline) interrupted = 'timeout';
    return interrupted !== undefined;
  });
  runtime.setMemoryLimit(limits.memoryLimitBytes);
  runtime.setMaxStackSize(SCRIPT_DEFAULTS.maxStackBytes);

  let vm: QuickJSContext | undefined;
  const handles: QuickJSHandle[] = [];
  const keep = (h: QuickJSHandle) => (handles.push(h), h);
  try {
    vm = runtime.newContext();
    installConsole(vm, ctx, limits.maxLogLines, keep);
    const context = vm;
    context.setProp(context.global, '__weft_args', keep(context.newString(argsJson)));

    // Captured before user code runs, so a script that replaces JSON.stringify only spoils its own result.
    const stringify = keep(unwrap(context, context.evalCode(
      '((s) => (v) => { const t = s(v); return t === undefined ? "null" : t; })(JSON.stringify.bind(JSON))',
      'weft-stringify.js',
    )));
    const source =
      '(function () {\n"use strict";\nconst __a = JSON.parse(globalThis.__weft_args);\ndelete globalThis.__weft_args;\n' +
      `return (function (args) {\n${code}\n})(__a);\n})()`;
    let value = keep(unwrap(context, context.evalCode(source, 'script.js')));

    // A script may return a promise (e.g. from an async IIFE); settle it within the same budget.
    const state = context.getPromiseState(value);
    if (state.type === 'fulfilled' && state.notAPromise) {
      if (state.value !== value) keep(state.value);
    } else {
      if (state.type === 'fulfilled') keep(state.value);
      else if (state.type === 'rejected') keep(state.error);
      const jobs = runtime.executePendingJobs();
      if (jobs.error) throw toFailure(context, keep(jobs.error), interrupted);
      const settled = context.getPromiseState(value);
      if (settled.type === 'pending') {
        throw new ActivityFailure('script_error', 'script returned a promise that never settled (there are no timers or I/O in the sandbox)', { nonRetryable: true });
      }
      if (settled.type === 'rejected') throw toFailure(context, keep(settled.error), interrupted);
      value = keep(settled.value);
    }

    const json = keep(unwrap(context, context.callFunction(stringify, context.undefined, value)));
    return JSON.parse(context.getString(json));

    function unwrap(c: QuickJSContext, result: ReturnType<QuickJSContext['evalCode']>): QuickJSHandle {
      if (result.error) throw toFailure(c, keep(result.error), interrupted);
      return result.value;
    }
  } catch (err) {
    if (err instanceof ActivityFailure) throw err;
    // Anything else came from the WASM machinery itself; do not trust the module again.
    discardSandbox(module);
    if (interrupted === 'timeout') throw timeoutFailure(limits.timeoutMs);
    const message = (err as Error)?.message ?? String(err);
    if (/out of memory/i.test(message)) throw memoryFailure(limits.memoryLimitBytes);
    throw new ActivityFailure('script_error', `script sandbox failed: ${message}`, { nonRetryable: true });
  } finally {
    for (const h of handles.reverse()) if (h.alive) h.dispose();
    try {
      vm?.dispose();
      runtime.dispose();
    } catch {
      discardSandbox(module);
    }
  }
}

function installConsole(vm: QuickJSContext, ctx: ActivityContext, maxLines: number, keep: (h: QuickJSHandle) => QuickJSHandle): void {
  let lines = 0;
  const consoleObject = keep(vm.newObject());
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const fn = keep(vm.newFunction(level, (...args: QuickJSHandle[]) => {
      if (++lines > maxLines) return;
      const text = args.map((a) => {
        const v = vm.dump(a);
        return typeof v === 'string' ? v : safeJson(v);
      }).join(' ');
      ctx.log(text.length > 10_000 ? `${text.slice(0, 10_000)}…` : text, { level: level === 'log' ? 'info' : level, source: 'script' });
    }));
    vm.setProp(consoleObject, level, fn);
  }
  vm.setProp(vm.global, 'console', consoleObject);
}

function toFailure(vm: QuickJSContext, errorHandle: QuickJSHandle, interrupted: 'timeout' | 'aborted' | undefined): ActivityFailure {
  if (interrupted === 'aborted') return new ActivityFailure('script_aborted', 'script interrupted: the task was cancelled');
  let dumped: unknown;
  try {
    dumped = vm.dump(errorHandle);
  } catch {
    dumped = undefined;
  }
  const name = isRecord(dumped) && typeof dumped.name === 'string' ? dumped.name : undefined;
  const message = isRecord(dumped) && typeof dumped.message === 'string' ? dumped.message : safeJson(dumped);
  if (interrupted === 'timeout' || (name === 'InternalError' && message === 'interrupted')) {
    return timeoutFailure(undefined);
  }
  if (dumped === null || /out of memory/i.test(message)) {
    // QuickJS throws `null` when it cannot even allocate the error object.
    return memoryFailure(undefined);
  }
  const stack = isRecord(dumped) && typeof dumped.stack === 'string' ? dumped.stack : undefined;
  return new ActivityFailure('script_error', `${name ?? 'Error'}: ${message}`, { nonRetryable: true, details: stack ? { stack } : undefined });
}

function timeoutFailure(timeoutMs: number | undefined): ActivityFailure {
  return new ActivityFailure('script_timeout', `script exceeded its CPU-time budget${timeoutMs ? ` of ${timeoutMs} ms` : ''}`, { nonRetryable: true });
}

function memoryFailure(limit: number | undefined): ActivityFailure {
  return new ActivityFailure('script_memory', `script exceeded its memory limit${limit ? ` of ${limit} bytes` : ''}`, { nonRetryable: true });
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
