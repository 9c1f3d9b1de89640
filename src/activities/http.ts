/**
 * `http`: one HTTP(S) request through the global `fetch`, cancelled by the task's signal or its
 * own timeout. Failures carry stable codes so retry policies and `on: error` transitions can
 * tell them apart: `http_<status>` (408, 429 and 5xx retryable, other statuses not),
 * `http_timeout`, `http_network`, `http_aborted` (retryable) and `invalid_input`,
 * `http_invalid_json`, `http_response_too_large` (not).
 */
import { ActivityFailure, type ActivityContext, type ActivityHandler } from '../runtime/activity.js';
import { parseDuration } from '../core/duration.js';
import { invalidInput, isRecord } from './util.js';

export interface HttpInput {
  url: string;
  /** Default `GET`, or `POST` when a body is given. */
  method?: string;
  headers?: Record<string, string | number | boolean>;
  query?: Record<string, string | number | boolean | null | Array<string | number | boolean>>;
  /** A string is sent as is (`text/plain` unless a content type is set); anything else as JSON. */
  body?: unknown;
  /** Duration (`"5s"`) or milliseconds; default 30 s. */
  timeout?: string | number;
  /** Statuses that count as success; default any 2xx. */
  expectStatus?: number[];
  auth?: { bearer: string } | { basic: { user: string; password: string } };
  /** Default: JSON when the response says `application/json` (or `+json`), else text. */
  responseType?: 'json' | 'text';
}

export interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface HttpActivityOptions {
  /** Replaces the global fetch (tests, proxies, recording). */
  fetch?: typeof fetch;
  /** Default request timeout in ms (30 000). */
  defaultTimeoutMs?: number;
  /** Responses larger than this fail with `http_response_too_large` (default 10 MiB). */
  maxResponseBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Whether a failed status is worth retrying: the server may answer differently next time. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function createHttpActivity(options: HttpActivityOptions = {}): ActivityHandler<HttpInput, HttpOutput> {
  const doFetch = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  return async (input, ctx) => {
    const request = buildRequest(input, options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), request.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout.signal]);
    try {
      let response: Response;
      try {
        response = await doFetch(request.url, { method: request.method, headers: request.headers, body: request.body, signal });
      } catch (err) {
        throw abortOrNetworkFailure(err, ctx, timeout.signal, request);
      }
      let text: string;
      try {
        text = await readLimited(response, maxBytes);
      } catch (err) {
        if (err instanceof ActivityFailure) throw err;
        throw abortOrNetworkFailure(err, ctx, timeout.signal, request);
      }
      const headers = Object.fromEntries(response.headers.entries());
      const body = decodeBody(text, headers['content-type'], input.responseType, response.ok || isExpected(input, response.status));
      const result: HttpOutput = { status: response.status, headers, body };
      if (!isExpected(input, response.status)) {
        const retryAfterMs = parseRetryAfter(headers['retry-after']);
        throw new ActivityFailure(
          `http_${response.status}`,
          `${request.method} ${request.displayUrl} answered ${response.status} ${response.statusText}`.trim(),
          {
            nonRetryable: !isRetryableStatus(response.status),
            details: { ...result, body: truncate(body), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
          },
        );
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  };
}

export const http = createHttpActivity();

interface PreparedRequest {
  url: string;
  /** The URL without its query string, for messages (queries may carry secrets). */
  displayUrl: string;
  method: string;
  headers: Headers;
  body: string | undefined;
  timeoutMs: number;
}

function buildRequest(input: HttpInput, defaultTimeoutMs: number): PreparedRequest {
  if (!isRecord(input)) throw invalidInput('http', 'input must be an object with at least "url"');
  if (typeof input.url !== 'string' || input.url === '') throw invalidInput('http', '"url" must be a non-empty string');
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw invalidInput('http', `"url" is not a valid URL: ${input.url}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidInput('http', `only http and https URLs are allowed, not ${url.protocol}`);
  }
  if (input.query !== undefined) {
    if (!isRecord(input.query)) throw invalidInput('http', '"query" must be an object');
    for (const [key, value] of Object.entries(input.query)) {
      if (value === null || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
    }
  }

  const method = (input.method ?? (input.body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!METHODS.has(method)) throw invalidInput('http', `unsupported method "${input.method}"`);

  const headers = new Headers();
  if (input.headers !== undefined) {
    if (!isRecord(input.headers)) throw invalidInput('http', '"headers" must be an object');
    for (const [k, v] of Object.entries(input.headers)) {
      try {
        headers.set(k, String(v));
      } catch {
        throw invalidInput('http', `invalid header "${k}"`);
      }
    }
  }
  if (input.auth !== undefined) headers.set('authorization', authorization(input.auth));

  let body: string | undefined;
  if (input.body !== undefined) {
    if (method === 'GET' || method === 'HEAD') throw invalidInput('http', `a ${method} request cannot have a body`);
    if (typeof input.body === 'string') {
      body = input.body;
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
    } else {
      body = JSON.stringify(input.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
  }
  if (!headers.has('accept')) headers.set('accept', 'application/json, text/plain;q=0.9, */*;q=0.8');

  let timeoutMs = defaultTimeoutMs;
  if (input.timeout !== undefined) {
    try {
      timeoutMs = parseDuration(input.timeout);
    } catch {
      throw invalidInput('http', `"timeout" is not a duration: ${String(input.timeout)}`);
    }
    if (!(timeoutMs > 0)) throw invalidInput('http', '"timeout" must be positive');
  }

  if (input.expectStatus !== undefined) {
    if (!Array.isArray(input.expectStatus) || !input.expectStatus.every((s) => Number.isInteger(s))) {
      throw invalidInput('http', '"expectStatus" must be an array of status codes');
    }
  }
  if (input.responseType !== undefined && input.responseType !== 'json' && input.responseType !== 'text') {
    throw invalidInput('http', '"responseType" must be "json" or "text"');
  }

  return { url: url.toString(), displayUrl: `${url.origin}${url.pathname}`, method, headers, body, timeoutMs };
}

function authorization(auth: unknown): string {
  if (isRecord(auth) && typeof auth.bearer === 'string') return `Bearer ${auth.bearer}`;
  if (isRecord(auth) && isRecord(auth.basic) && typeof auth.basic.user === 'string') {
    const password = auth.basic.password === undefined ? '' : String(auth.basic.password);
    return `Basic ${Buffer.from(`${auth.basic.user}:${password}`).toString('base64')}`;
  }
  throw invalidInput('http', '"auth" must be {bearer: token} or {basic: {user, password}}');
}

function isExpected(input: HttpInput, status: number): boolean {
  return input.expectStatus ? input.expectStatus.includes(status) : status >= 200 && status < 300;
}

function abortOrNetworkFailure(err: unknown, ctx: ActivityContext, timeoutSignal: AbortSignal, req: PreparedRequest): ActivityFailure {
  if (timeoutSignal.aborted) {
    return new ActivityFailure('http_timeout', `${req.method} ${req.displayUrl} timed out after ${req.timeoutMs} ms`);
  }
  if (ctx.signal.aborted) {
    return new ActivityFailure('http_aborted', `${req.method} ${req.displayUrl} was aborted: the task was cancelled or timed out`);
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
  return new ActivityFailure('http_network', `${req.method} ${req.displayUrl} failed: ${reason}`);
}

/** Reads the body as text, refusing to buffer more than `maxBytes`. */
async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(maxBytes: number): ActivityFailure {
  return new ActivityFailure('http_response_too_large', `response body exceeds ${maxBytes} bytes`, { nonRetryable: true });
}

function decodeBody(text: string, contentType: string | undefined, responseType: 'json' | 'text' | undefined, strict: boolean): unknown {
  const looksJson = /\bjson\b|\+json/i.test(contentType ?? '');
  const wantJson = responseType === 'json' || (responseType === undefined && looksJson);
  if (!wantJson) return text;
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    // An error page served with a JSON content type should not hide the status code behind a parse error.
    if (responseType === 'json' && strict) {
      throw new ActivityFailure('http_invalid_json', 'response body is not valid JSON', { nonRetryable: true, details: { body: truncate(text) } });
    }
    return text;
  }
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const DETAIL_LIMIT = 4096;
function truncate(body: unknown): unknown {
  if (typeof body === 'string') return body.length > DETAIL_LIMIT ? `${body.slice(0, DETAIL_LIMIT)}…` : body;
  const text = JSON.stringify(body);
  return text !== undefined && text.length > DETAIL_LIMIT ? `${text.slice(0, DETAIL_LIMIT)}…` : body;
}
