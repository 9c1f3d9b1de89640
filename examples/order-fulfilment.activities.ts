/**
 * Activities of `order-fulfilment.yaml`: order validation, an inventory service, a payment
 * gateway, a carrier and a notifier, all simulated in memory. Every call is recorded in a
 * `world` ledger so a test can check what happened in the outside world — in particular that a
 * failed shipment was compensated by a refund and a release, in that order.
 *
 * Failure injection through the workflow input `failAt`:
 *   validate          → invalid_order (the run ends at order_rejected)
 *   reserve           → out_of_stock (non-retryable; the saga compensates)
 *   charge            → card_declined (non-retryable; the saga compensates)
 *   charge-transient  → gateway_timeout on the first two attempts, then success (retry policy)
 *   ship              → carrier_unavailable (non-retryable; charge refunded, stock released)
 *   notify            → smtp_unavailable (the step is `onError: continue`: the order still completes)
 */
import { ActivityFailure, type ActivityRegistry } from '../src/runtime/activity.js';
import { failureRequested, sleep, stableHash } from './support/simulate.js';

export interface OrderItem {
  sku: string;
  quantity: number;
  price: number;
}

export interface LedgerEntry {
  action: 'validated' | 'reserved' | 'released' | 'charged' | 'refunded' | 'shipped' | 'notified';
  orderId: string;
  ref?: string;
  amount?: number;
}

export interface OrderWorld {
  ledger: LedgerEntry[];
  /** Charge attempts per order, for transient failures. */
  chargeAttempts: Map<string, number>;
}

export function createOrderWorld(): OrderWorld {
  return { ledger: [], chargeAttempts: new Map() };
}

/** Used when the input names no items: two mugs at 12.50 (total 25). */
export const DEFAULT_ITEMS: OrderItem[] = [{ sku: 'MUG-RED', quantity: 2, price: 12.5 }];

export function orderTotal(items: OrderItem[]): number {
  return Math.round(items.reduce((sum, i) => sum + i.quantity * i.price, 0) * 100) / 100;
}

function invalid(message: string): ActivityFailure {
  return new ActivityFailure('invalid_order', message, { nonRetryable: true });
}

/** Checks an order and fills in defaults: items, total, currency. */
export function validateOrder(input: { orderId?: unknown; items?: unknown; total?: unknown; currency?: unknown }) {
  if (typeof input?.orderId !== 'string' || input.orderId.trim() === '') throw invalid('orderId is required');
  const items = (input.items ?? DEFAULT_ITEMS) as OrderItem[];
  if (!Array.isArray(items) || items.length === 0) throw invalid(`order ${input.orderId} has no items`);
  for (const [i, item] of items.entries()) {
    if (typeof item?.sku !== 'string' || !(Number(item.quantity) > 0) || !(Number(item.price) >= 0)) {
      throw invalid(`order ${input.orderId}: item ${i + 1} needs sku, quantity > 0 and price ≥ 0`);
    }
  }
  const total = typeof input.total === 'number' ? input.total : orderTotal(items);
  if (!(total >= 0)) throw invalid(`order ${input.orderId}: total must be ≥ 0`);
  return { orderId: input.orderId, items, total, currency: typeof input.currency === 'string' ? input.currency : 'EUR', valid: true };
}

export function registerOrderActivities(registry: ActivityRegistry, world: OrderWorld): void {
  registry.register('order.validate', async (input: { orderId?: string; items?: unknown; total?: number; failAt?: unknown }, ctx) => {
    await sleep(5, ctx.signal);
    if (failureRequested(input?.failAt, 'validate')) throw invalid(`order ${input.orderId} failed validation (injected)`);
    const order = validateOrder(input);
    world.ledger.push({ action: 'validated', orderId: order.orderId, amount: order.total });
    return order;
  });

  registry.register('inventory.reserve', async (input: { orderId: string; items: OrderItem[]; failAt?: unknown }, ctx) => {
    await sleep(10, ctx.signal);
    if (failureRequested(input.failAt, 'reserve')) {
      throw new ActivityFailure('out_of_stock', `not enough stock for order ${input.orderId} (injected)`, { nonRetryable: true });
    }
    const reservationId = `RES-${input.orderId}`;
    world.ledger.push({ action: 'reserved', orderId: input.orderId, ref: reservationId });
    return { reservationId, items: input.items, warehouse: 'WH-NORTH' };
  });

  registry.register('inventory.release', async (input: { orderId: string; reservationId?: string }, ctx) => {
    await sleep(5, ctx.signal);
    world.ledger.push({ action: 'released', orderId: input.orderId, ref: input.reservationId });
    return { released: true, reservationId: input.reservationId ?? null };
  });

  registry.register('payment.charge', async (input: { orderId: string; amount: number; currency?: string; failAt?: unknown }, ctx) => {
    await sleep(20, ctx.signal); // slower than the reservation, so the saga's order is deterministic
    const attempts = (world.chargeAttempts.get(input.orderId) ?? 0) + 1;
    world.chargeAttempts.set(input.orderId, attempts);
    if (failureRequested(input.failAt, 'charge')) {
      throw new ActivityFailure('card_declined', `card declined for order ${input.orderId} (injected)`, { nonRetryable: true });
    }
    if (failureRequested(input.failAt, 'charge-transient') && attempts <= 2) {
      throw new ActivityFailure('gateway_timeout', `payment gateway timed out (attempt ${attempts}, injected)`);
    }
    const chargeId = `CH-${stableHash(input.orderId).toString(16).toUpperCase()}`;
    world.ledger.push({ action: 'charged', orderId: input.orderId, ref: chargeId, amount: input.amount });
    return { chargeId, amount: input.amount, currency: input.currency ?? 'EUR', attempts };
  });

  registry.register('payment.refund', async (input: { orderId: string; chargeId?: string; amount?: number }, ctx) => {
    await sleep(5, ctx.signal);
    if (!input.chargeId) return { refunded: false, reason: 'nothing was charged' };
    world.ledger.push({ action: 'refunded', orderId: input.orderId, ref: input.chargeId, amount: input.amount });
    return { refunded: true, refundId: `RF-${input.chargeId}`, amount: input.amount ?? null };
  });

  registry.register('shipping.ship', async (input: { orderId: string; reservationId?: string; items?: OrderItem[]; failAt?: unknown }, ctx) => {
    await sleep(10, ctx.signal);
    if (failureRequested(input.failAt, 'ship')) {
      throw new ActivityFailure('carrier_unavailable', `no carrier accepted order ${input.orderId} (injected)`, { nonRetryable: true });
    }
    const trackingNumber = `TRK-${stableHash(`ship:${input.orderId}`).toString(36).toUpperCase()}`;
    world.ledger.push({ action: 'shipped', orderId: input.orderId, ref: trackingNumber });
    return { trackingNumber, carrier: 'ParcelCo' };
  });

  registry.register('notification.send', async (input: { orderId?: string; to?: string; template?: string; data?: unknown; failAt?: unknown }, ctx) => {
    await sleep(5, ctx.signal);
    if (failureRequested(input.failAt, 'notify')) {
      throw new ActivityFailure('smtp_unavailable', 'mail relay refused the message (injected)', { nonRetryable: true });
    }
    world.ledger.push({ action: 'notified', orderId: input.orderId ?? '', ref: input.template });
    ctx.log(`sent "${input.template}" to ${input.to ?? 'the customer'}`);
    return { sent: true, template: input.template ?? null };
  });
}

/** What `--activities examples/order-fulfilment.activities.ts` loads: the activities over a fresh world. */
export default function register(registry: ActivityRegistry): void {
  registerOrderActivities(registry, createOrderWorld());
}
