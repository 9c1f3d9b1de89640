import type { Definition } from '../model/schema.js';
import type { Problem } from './verify.js';
export interface TimeReport { minMs: number; maxMs: number; criticalPath: string[]; problems: Problem[] }
export function analyseTime(_def: Definition): TimeReport { return { minMs: 0, maxMs: 0, criticalPath: [], problems: [] }; }
