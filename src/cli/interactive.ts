/**
 * Questions asked on a terminal when a run reaches a human task or a wait and no scripted
 * answer exists: choose an action, fill the form (fields from the task's JSON Schema), or deliver
 * the awaited event with a payload. Each may be declined, leaving the instance waiting.
 */
import { confirm, input, number, select } from '@inquirer/prompts';
import type { HumanTaskInfo } from '../core/types.js';
import { compactJson } from './format.js';

export interface HumanDecision {
  action: string;
  data?: unknown;
}

const LEAVE = '\u0000leave';

export async function askHumanTask(stepId: string, task: HumanTaskInfo, shown: unknown): Promise<HumanDecision | undefined> {
  const title = task.title ? `${task.title} (step ${stepId})` : `Step ${stepId}`;
  const context = shown === undefined ? '' : `\n  data: ${compactJson(shown, 400)}`;
  const action = await select({
    message: `${task.kind === 'manual' ? 'Manual intervention' : 'Human task'}: ${title}${context}\n  Choose an action`,
    choices: [...task.actions.map((a) => ({ name: a, value: a })), { name: 'leave it waiting', value: LEAVE }],
  });
  if (action === LEAVE) return undefined;
  const data = await askForm(task.form);
  return { action, data };
}

interface FieldSchema {
  type?: string | string[];
  enum?: unknown[];
  title?: string;
  description?: string;
  default?: unknown;
}

/** One question per property of an object schema; anything fancier is typed as JSON. */
export async function askForm(form: unknown): Promise<unknown> {
  if (!form || typeof form !== 'object') return undefined;
  const schema = form as { type?: string; properties?: Record<string, FieldSchema>; required?: string[] };
  if (!schema.properties) {
    const text = await input({ message: 'Form data (JSON, empty for none)', validate: validJsonOrEmpty });
    return text.trim() === '' ? undefined : JSON.parse(text);
  }
  const required = new Set(schema.required ?? []);
  const data: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.properties)) {
    const value = await askField(name, field, required.has(name));
    if (value !== undefined) data[name] = value;
  }
  return data;
}

async function askField(name: string, field: FieldSchema, required: boolean): Promise<unknown> {
  const label = `${field.title ?? name}${field.description ? ` — ${field.description}` : ''}${required ? '' : ' (optional)'}`;
  const type = Array.isArray(field.type) ? field.type.find((t) => t !== 'null') : field.type;
  if (field.enum) {
    const choices = field.enum.map((v) => ({ name: String(v), value: v }));
    return select({ message: label, choices: required ? choices : [...choices, { name: '(none)', value: undefined }] });
  }
  switch (type) {
    case 'boolean':
      return confirm({ message: label, default: typeof field.default === 'boolean' ? field.default : false });
    case 'number':
    case 'integer': {
      const value = await number({ message: label, required, step: type === 'integer' ? 1 : 'any', default: typeof field.default === 'number' ? field.default : undefined });
      return value ?? undefined;
    }
    case 'string': {
      const text = await input({ message: label, required, default: typeof field.default === 'string' ? field.default : undefined });
      return text === '' && !required ? undefined : text;
    }
    default: {
      const text = await input({ message: `${label} (JSON)`, required, validate: validJsonOrEmpty });
      return text.trim() === '' ? undefined : JSON.parse(text);
    }
  }
}

export async function askEvent(stepId: string, event: string, key: unknown): Promise<{ key: unknown; payload: unknown } | undefined> {
  const keyText = key === undefined ? '' : ` with key ${compactJson(key)}`;
  const deliver = await confirm({ message: `Step ${stepId} waits for event "${event}"${keyText}. Deliver it now?`, default: true });
  if (!deliver) return undefined;
  const text = await input({ message: 'Event payload (JSON, empty for none)', validate: validJsonOrEmpty });
  return { key, payload: text.trim() === '' ? undefined : JSON.parse(text) };
}

function validJsonOrEmpty(text: string): true | string {
  if (text.trim() === '') return true;
  try {
    JSON.parse(text);
    return true;
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
}
