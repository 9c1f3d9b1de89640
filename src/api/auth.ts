/**
 * The one authorization hook (SPEC C8): every REST route, every WebSocket message and every
 * command passes through `authorize(caller, action, resource)`. The default allows everything;
 * authentication (JWT, API keys) and RBAC replace `authenticate`/`authorize` later without
 * touching routes. The caller's identity and namespace are threaded through to commands (`by`).
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

export interface Caller {
  /** User or service id (`anonymous` when nobody authenticated). */
  identity: string;
  /** Tenant boundary; `default` unless the caller names one. */
  namespace: string;
  /** Where the call came from (IP), for audit. */
  from?: string;
}

/** What is being done: `<resource>.<verb>`, e.g. `instance.start`, `instance.command.Pause`, `ws.subscribe`. */
export type Action = string;

export interface Resource {
  type: 'definition' | 'instance' | 'human-task' | 'event' | 'worker' | 'queue' | 'system' | 'ws' | 'schedule' | 'node' | 'metrics';
  id?: string;
}

export interface AuthHooks {
  /** Who is calling. Default: `x-weft-user` / `x-weft-namespace` headers, else anonymous/default. */
  authenticate?: (req: { headers: Record<string, string | string[] | undefined>; ip?: string }) => Caller | Promise<Caller>;
  /** Throw (or return false) to refuse. Default: allow all. */
  authorize?: (caller: Caller, action: Action, resource: Resource) => boolean | void | Promise<boolean | void>;
}

export function defaultAuthenticate(req: { headers: Record<string, string | string[] | undefined>; ip?: string }): Caller {
  const h = (n: string) => { const v = req.headers[n]; return Array.isArray(v) ? v[0] : v; };
  return { identity: h('x-weft-user') || 'anonymous', namespace: h('x-weft-namespace') || 'default', ...(req.ip !== undefined && { from: req.ip }) };
}

export class Authorizer {
  constructor(private readonly hooks: AuthHooks = {}) {}

  authenticate(req: { headers: Record<string, string | string[] | undefined>; ip?: string }): Caller | Promise<Caller> {
    return (this.hooks.authenticate ?? defaultAuthenticate)(req);
  }

  async check(caller: Caller, action: Action, resource: Resource): Promise<void> {
    if (!this.hooks.authorize) return;
    const ok = await this.hooks.authorize(caller, action, resource);
    if (ok === false) throw new ApiError('forbidden', `${caller.identity} may not ${action} ${resource.type}${resource.id ? ` ${resource.id}` : ''}`);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** The action the authorization hook sees for this route (`instance.start`, …). */
    action?: Action;
    /** The resource type; its id is taken from the `:id` / `:instanceId` parameter. */
    resource?: Resource['type'];
  }
}

/** The resource a route acts on, from its config and params. */
export function resourceOf(req: FastifyRequest): Resource {
  const type = req.routeOptions.config?.resource ?? 'system';
  const p = (req.params ?? {}) as Record<string, string | undefined>;
  const id = p.instanceId ?? p.id;
  return { type, ...(id !== undefined && { id }) };
}
