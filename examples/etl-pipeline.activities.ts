/**
 * Activities of `etl-pipeline.yaml`: the seed's ETL handlers (extract, transform, validate,
 * load, error handler) over a simulated customer database. The transform and validation rules
 * are exactly the seed's, and so is the mock data: 19 records `REC-1` … `REC-19`, where every
 * 5th has the email "invalid-email" and every 7th the age −5.
 */
import { ActivityFailure, type ActivityContext, type ActivityRegistry } from '../src/runtime/activity.js';
import { failureRequested, isRecord, sleep } from './support/simulate.js';

export interface DataRecord {
  id: string;
  fields: Record<string, unknown>;
}

export interface TransformRule {
  field: string;
  action: 'uppercase' | 'lowercase' | 'multiply' | 'divide' | 'trim' | 'replace' | string;
  factor?: number;
  divisor?: number;
  pattern?: string;
  replacement?: string;
}

export interface ValidationRule {
  field: string;
  type: 'required' | 'number' | 'integer' | 'string' | 'email' | 'min' | 'max' | 'regex' | string;
  min_value?: number;
  max_value?: number;
  pattern?: string;
  error_message?: string;
}

export interface ValidationError {
  record_index: number;
  field: string;
  rule_type: string;
  message: string;
}

export interface ValidationResult {
  valid_data: DataRecord[];
  invalid_data: DataRecord[];
  validation_errors: ValidationError[];
  valid_count: number;
  invalid_count: number;
  is_valid: boolean;
}

/** The seed's rules, also the workflow's defaults. */
export const SEED_TRANSFORM_RULES: TransformRule[] = [
  { field: 'name', action: 'uppercase' },
  { field: 'score', action: 'multiply', factor: 1.1 },
];
export const SEED_VALIDATION_RULES: ValidationRule[] = [
  { field: 'email', type: 'email', error_message: 'Invalid email format' },
  { field: 'age', type: 'min', min_value: 0, error_message: 'Age must be positive' },
  { field: 'score', type: 'number', error_message: 'Score must be a number' },
];

/** The seed's mock query result: records 1..count (19 by default). */
export function mockCustomerRecords(count = 19): DataRecord[] {
  const records: DataRecord[] = [];
  for (let i = 1; i <= count; i++) {
    const fields: Record<string, unknown> = {
      name: `User ${i}`,
      email: `user${i}@example.com`,
      age: 20 + (i % 50),
      score: 75.5 + i * 0.5,
    };
    if (i % 5 === 0) fields.email = 'invalid-email';
    if (i % 7 === 0) fields.age = -5;
    records.push({ id: `REC-${i}`, fields });
  }
  return records;
}

type Warn = (message: string, fields?: Record<string, unknown>) => void;

/** Applies the rules to every record, in rule order; a rule that does not apply leaves the value alone. */
export function applyTransformRules(records: DataRecord[], rules: TransformRule[], warn: Warn = () => {}): DataRecord[] {
  return records.map((record) => {
    const fields = { ...record.fields };
    for (const rule of rules) {
      const { field, action } = rule;
      if (typeof field !== 'string' || typeof action !== 'string') continue;
      const value = fields[field];
      switch (action) {
        case 'uppercase':
          if (typeof value === 'string') fields[field] = value.toUpperCase();
          break;
        case 'lowercase':
          if (typeof value === 'string') fields[field] = value.toLowerCase();
          break;
        case 'multiply':
          if (typeof rule.factor === 'number' && typeof value === 'number') fields[field] = value * rule.factor;
          break;
        case 'divide':
          if (typeof rule.divisor !== 'number') break;
          if (rule.divisor === 0) {
            warn('Cannot divide by zero', { field });
            break;
          }
          if (typeof value === 'number') fields[field] = value / rule.divisor;
          break;
        case 'trim':
          if (typeof value === 'string') fields[field] = value.trim();
          break;
        case 'replace':
          if (typeof rule.pattern === 'string' && typeof rule.replacement === 'string' && typeof value === 'string') {
            fields[field] = value.split(rule.pattern).join(rule.replacement);
          }
          break;
        default:
          warn('Unknown transform action', { action });
      }
    }
    return { id: record.id, fields };
  });
}

/** Checks one present value against one rule. */
function passes(rule: ValidationRule, value: unknown, warn: Warn): boolean {
  switch (rule.type) {
    case 'required':
      return value !== null && value !== '';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'string':
      return typeof value === 'string';
    case 'email':
      return typeof value === 'string' && value.includes('@') && value.includes('.');
    case 'min':
      return typeof rule.min_value !== 'number' || (typeof value === 'number' && value >= rule.min_value);
    case 'max':
      return typeof rule.max_value !== 'number' || (typeof value === 'number' && value <= rule.max_value);
    case 'regex': {
      if (typeof rule.pattern !== 'string') return true;
      let re: RegExp;
      try {
        re = new RegExp(rule.pattern);
      } catch (err) {
        throw new ActivityFailure('invalid_rule', `rule on "${rule.field}": invalid regex: ${(err as Error).message}`, { nonRetryable: true });
      }
      return typeof value === 'string' && re.test(value);
    }
    default:
      warn('Unknown validation rule type', { rule_type: rule.type });
      return true;
  }
}

/**
 * The seed's validator: a record is invalid when any rule fails; a missing field fails only a
 * `required` rule. Errors of invalid records are reported with the record's index.
 */
export function validateRecords(records: DataRecord[], rules: ValidationRule[], warn: Warn = () => {}): ValidationResult {
  const valid: DataRecord[] = [];
  const invalid: DataRecord[] = [];
  const errors: ValidationError[] = [];
  records.forEach((record, index) => {
    const recordErrors: ValidationError[] = [];
    for (const rule of rules) {
      if (typeof rule.field !== 'string' || typeof rule.type !== 'string') continue;
      const present = Object.prototype.hasOwnProperty.call(record.fields, rule.field);
      if (present) {
        if (!passes(rule, record.fields[rule.field], warn)) {
          recordErrors.push({
            record_index: index,
            field: rule.field,
            rule_type: rule.type,
            message: rule.error_message ?? `Field '${rule.field}' failed '${rule.type}' validation`,
          });
        }
      } else if (rule.type === 'required') {
        recordErrors.push({
          record_index: index,
          field: rule.field,
          rule_type: rule.type,
          message: rule.error_message ?? `Required field '${rule.field}' is missing`,
        });
      }
    }
    if (recordErrors.length === 0) valid.push(record);
    else {
      invalid.push(record);
      errors.push(...recordErrors);
    }
  });
  return {
    valid_data: valid,
    invalid_data: invalid,
    validation_errors: errors,
    valid_count: valid.length,
    invalid_count: invalid.length,
    is_valid: invalid.length === 0,
  };
}

function bad(message: string): ActivityFailure {
  return new ActivityFailure('invalid_input', message, { nonRetryable: true });
}

/** Accepts `{id, fields}` records, or flat objects (whose `id` is kept and the rest become fields). */
export function toRecords(data: unknown, what: string): DataRecord[] {
  if (!Array.isArray(data)) throw bad(`${what} must be an array of records`);
  return data.map((item, i) => {
    if (!isRecord(item)) throw bad(`${what}[${i}] is not an object`);
    if (isRecord(item.fields)) return { id: String(item.id ?? `REC-${i + 1}`), fields: { ...item.fields } };
    const { id, ...fields } = item;
    return { id: String(id ?? `REC-${i + 1}`), fields };
  });
}

function rulesOf<T>(value: unknown, what: string): T[] {
  if (!Array.isArray(value)) throw bad(`no ${what} specified`);
  return value as T[];
}

function warner(ctx: ActivityContext): Warn {
  return (message, fields) => ctx.log(message, { level: 'warn', ...fields });
}

export default function register(registry: ActivityRegistry): void {
  registry.register('etl.extract', async (input: { data_source?: string; query?: string; records?: unknown; failAt?: unknown }, ctx) => {
    if (!input?.query) throw bad('no query specified');
    if (!input.data_source) throw bad('no data_source specified');
    ctx.log('Extracting data', { data_source: input.data_source, query: input.query });
    await sleep(20, ctx.signal); // the seed's query takes 500 ms; kept short here
    if (failureRequested(input.failAt, 'extract')) {
      throw new ActivityFailure('source_unavailable', `Database query failed: ${input.data_source} is unreachable (injected)`, { nonRetryable: true });
    }
    const data = input.records !== undefined && input.records !== null ? toRecords(input.records, 'records') : mockCustomerRecords();
    return { data, record_count: data.length };
  });

  registry.register('etl.transform', async (input: { data?: unknown; transform_rules?: unknown; failAt?: unknown }, ctx) => {
    if (input?.data === undefined) throw bad('No input data found');
    const records = toRecords(input.data, 'data');
    const rules = rulesOf<TransformRule>(input.transform_rules, 'transform_rules');
    if (failureRequested(input.failAt, 'transform')) {
      throw new ActivityFailure('transform_failed', 'transformation failed (injected)', { nonRetryable: true });
    }
    const transformed = applyTransformRules(records, rules, warner(ctx));
    ctx.log('Data transformation completed', { record_count: transformed.length });
    return { transformed_data: transformed, record_count: transformed.length };
  });

  registry.register('etl.validate', async (input: { transformed_data?: unknown; validation_rules?: unknown; failAt?: unknown }, ctx) => {
    if (input?.transformed_data === undefined) throw bad('No transformed data found');
    const records = toRecords(input.transformed_data, 'transformed_data');
    const rules = rulesOf<ValidationRule>(input.validation_rules, 'validation_rules');
    if (failureRequested(input.failAt, 'validate')) {
      throw new ActivityFailure('validation_crashed', 'validator crashed (injected)', { nonRetryable: true });
    }
    const result = validateRecords(records, rules, warner(ctx));
    ctx.log(`Validated ${records.length} records. ${result.valid_count} valid, ${result.invalid_count} invalid`);
    return result;
  });

  registry.register('etl.load', async (input: { target_db?: string; target_table?: string; valid_data?: unknown; failAt?: unknown }, ctx) => {
    if (!input?.target_table) throw bad('No target_table specified');
    if (!input.target_db) throw bad('No target_db specified');
    if (input.valid_data === undefined) throw bad('No valid data found');
    const records = toRecords(input.valid_data, 'valid_data');
    if (records.length === 0) {
      ctx.log('No valid records to load');
      return { loaded_count: 0 };
    }
    await sleep(Math.min(records.length, 40), ctx.signal); // the seed: 50 ms per record
    if (failureRequested(input.failAt, 'load')) {
      throw new ActivityFailure('target_unavailable', `Database insert failed: ${input.target_db} is unreachable (injected)`, { nonRetryable: true });
    }
    ctx.log(`Loaded ${records.length} records`, { target: `${input.target_db}.${input.target_table}` });
    return { loaded_count: records.length, target: `${input.target_db}.${input.target_table}` };
  });

  registry.register('etl.error_handler', async (input: { invalid_data?: unknown; validation_errors?: unknown; error_log_path?: string; notify_email?: string }, ctx) => {
    if (input?.invalid_data === undefined) throw bad('No invalid data found');
    if (!Array.isArray(input.validation_errors)) throw bad('No validation errors found');
    const errors = input.validation_errors as ValidationError[];
    const errorLogPath = input.error_log_path || './errors.log';
    ctx.log('Logging validation errors', { error_count: errors.length, error_log_path: errorLogPath });
    // A real handler appends to the log file; the example only logs.
    for (const e of errors) {
      ctx.log('Validation error', { level: 'error', record_index: e.record_index, field: e.field, rule: e.rule_type, message: e.message });
    }
    if (input.notify_email) {
      ctx.log('Sending error notification email', { email: input.notify_email, error_count: errors.length });
      await sleep(10, ctx.signal); // the seed's simulated email takes 100 ms
    }
    return { error_count: errors.length, error_log_path: errorLogPath, notified: input.notify_email ?? null };
  });
}
