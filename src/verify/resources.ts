import type { Definition } from '../model/schema.js';
import type { Problem } from './verify.js';
export interface ResourceReport { resources: Array<{ name: string; capacity: number; peak: number }>; problems: Problem[] }
export async function analyseResources(_def: Definition, _opts: { maxStates?: number; failures?: boolean }): Promise<ResourceReport | undefined> { return undefined; }
