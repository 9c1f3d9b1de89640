/**
 * Activities of `iot-monitoring.yaml`: a simulated MQTT temperature sensor, an e-mail notifier
 * and an enterprise system (SAP-like) that accepts maintenance requests. The sensor's readings
 * are a fixed wave, rotated by a hash of the device id, so every run sees the same sequence:
 * for `sensor-001` it is 28.1, 31.7, 29.3, 33.2, 27.6, 30.4, 25.9, 26.4 (°C), repeating.
 */
import { ActivityFailure, type ActivityRegistry } from '../src/runtime/activity.js';
import { failureRequested, simulatedTime, sleep, stableHash } from './support/simulate.js';

const TEMPERATURE_WAVE = [26.4, 28.1, 31.7, 29.3, 33.2, 27.6, 30.4, 25.9];

/** The simulated temperature of `deviceId` at monitoring cycle `iteration` (0-based). */
export function deviceTemperature(deviceId: string, iteration: number, override?: unknown): number {
  if (Array.isArray(override) && override.length > 0) {
    const v = Number(override[iteration % override.length]);
    if (Number.isFinite(v)) return v;
  }
  const offset = stableHash(deviceId) % TEMPERATURE_WAVE.length;
  return TEMPERATURE_WAVE[(iteration + offset) % TEMPERATURE_WAVE.length];
}

export interface DeviceState {
  device_id: string;
  metrics: { temperature: number; humidity: number; battery: number };
  last_updated: string;
  iteration: number;
}

/** The whole simulated reading at `iteration`: temperature from the wave, humidity and battery drifting. */
export function deviceState(deviceId: string, iteration: number, override?: unknown): DeviceState {
  return {
    device_id: deviceId,
    metrics: {
      temperature: deviceTemperature(deviceId, iteration, override),
      humidity: 55 + ((iteration * 3) % 20),
      battery: Math.max(0, 100 - iteration * 0.5),
    },
    last_updated: simulatedTime(iteration * 60_000),
    iteration,
  };
}

function requireDevice(input: { device_id?: unknown } | undefined): string {
  if (typeof input?.device_id !== 'string' || input.device_id === '') {
    throw new ActivityFailure('invalid_input', 'device_id is required', { nonRetryable: true });
  }
  return input.device_id;
}

export default function register(registry: ActivityRegistry): void {
  registry.register('iot.send_command', async (input: { device_id?: string; connector?: string; command?: string; parameters?: unknown; failAt?: unknown }, ctx) => {
    const device = requireDevice(input);
    if (!input.command) throw new ActivityFailure('invalid_input', 'command is required', { nonRetryable: true });
    await sleep(5, ctx.signal);
    if (failureRequested(input.failAt, 'initialize')) {
      throw new ActivityFailure('device_unreachable', `device ${device} did not acknowledge "${input.command}" (injected)`, { nonRetryable: true });
    }
    ctx.log(`command ${input.command} sent to ${device}`, { connector: input.connector ?? 'mqtt_connector' });
    return { device_id: device, command: input.command, parameters: input.parameters ?? {}, status: 'acknowledged' };
  });

  registry.register('iot.query_state', async (input: { device_id?: string; metrics?: string[]; iteration?: number; temperatures?: unknown; failAt?: unknown }, ctx) => {
    const device = requireDevice(input);
    const iteration = Number.isInteger(input.iteration) ? (input.iteration as number) : 0;
    await sleep(5, ctx.signal);
    if (failureRequested(input.failAt, 'query')) {
      throw new ActivityFailure('device_unreachable', `device ${device} did not answer the state query (injected)`, { nonRetryable: true });
    }
    const state = deviceState(device, iteration, input.temperatures);
    if (Array.isArray(input.metrics) && input.metrics.length > 0) {
      const wanted = new Set(input.metrics);
      state.metrics = Object.fromEntries(Object.entries(state.metrics).filter(([k]) => wanted.has(k))) as DeviceState['metrics'];
    }
    return state;
  });

  registry.register('notification.email', async (input: { recipients?: unknown; subject?: string; body?: string; failAt?: unknown }, ctx) => {
    const recipients = Array.isArray(input?.recipients) ? input.recipients.map(String) : typeof input?.recipients === 'string' ? [input.recipients] : [];
    if (recipients.length === 0) throw new ActivityFailure('invalid_input', 'recipients are required', { nonRetryable: true });
    await sleep(5, ctx.signal);
    if (failureRequested(input.failAt, 'alert')) {
      throw new ActivityFailure('smtp_unavailable', 'mail relay refused the message (injected)', { nonRetryable: true });
    }
    ctx.log(`alert e-mail to ${recipients.join(', ')}: ${input.subject ?? ''}`, { body: input.body });
    return { sent: true, recipients, message_id: `MSG-${stableHash(`${input.subject}|${input.body}`).toString(16)}` };
  });

  registry.register('enterprise.create_maintenance_request', async (input: { connector?: string; device_id?: string; temperature?: number; humidity?: number; timestamp?: string; alert_level?: string }, ctx) => {
    const device = requireDevice(input);
    await sleep(5, ctx.signal);
    const requestId = `MR-${stableHash(`${device}|${input.timestamp}`).toString(16).toUpperCase()}`;
    ctx.log(`maintenance request ${requestId} created in ${input.connector ?? 'sap_connector'}`, { device, temperature: input.temperature });
    return { request_id: requestId, status: 'created', alert_level: input.alert_level ?? 'high' };
  });
}
