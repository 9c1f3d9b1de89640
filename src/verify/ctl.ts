import type { Definition } from '../model/schema.js';
import type { TraceEntry } from './verify.js';
export interface PropertyResult { name: string; formula: string; holds: boolean; error?: string; trace?: TraceEntry[] }
export async function checkProperties(_def: Definition, _opts: { maxStates?: number; failures?: boolean }): Promise<PropertyResult[]> { return []; }
