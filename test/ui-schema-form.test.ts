// The form generator's DOM-free part (web/src/forms/schema.ts): fields from a JSON Schema, typed
// values from what was typed, validation with Ajv by field, the server's 400 mapped to fields.
// The drawing and the browser flow are covered by test/ui-lists.test.ts (inbox).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, describeForm, humanize, initialRaw, schemaMessages, serverFieldErrors, validateForm } from '../web/src/forms/schema.js';

const SCHEMA = {
  type: 'object',
  required: ['amount', 'decision', 'email'],
  properties: {
    amount: { type: 'integer', title: 'Amount (EUR)', minimum: 1, maximum: 1000, description: 'What to refund' },
    ratio: { type: 'number', minimum: 0, maximum: 1 },
    decision: { type: 'string', enum: ['refund', 'credit'] },
    email: { type: 'string', format: 'email' },
    dueDate: { type: 'string', format: 'date' },
    urgent: { type: 'boolean', default: true },
    tags: { type: 'array', items: { type: 'string' } },
    scores: { type: 'array', items: { type: 'integer', minimum: 0 } },
    address: { type: 'object', required: ['city'], properties: { city: { type: 'string' }, zip: { type: 'string' } } },
    extra: { type: 'array', items: { type: 'object' } },
  },
};

describe('schema form (DOM-free)', () => {
  test('fields: kinds, labels from titles or names, required, bounds, nested objects', () => {
    const fields = describeForm(SCHEMA);
    const by = Object.fromEntries(fields.map((f) => [f.name, f]));
    assert.deepEqual(fields.map((f) => f.kind), ['integer', 'number', 'enum', 'email', 'date', 'boolean', 'list', 'list', 'object', 'json']);
    assert.equal(by.amount!.label, 'Amount (EUR)');
    assert.equal(by.amount!.description, 'What to refund');
    assert.equal(by.amount!.minimum, 1);
    assert.equal(by.amount!.maximum, 1000);
    assert.equal(by.dueDate!.label, 'Due date');
    assert.deepEqual(fields.filter((f) => f.required).map((f) => f.name), ['amount', 'decision', 'email']);
    assert.deepEqual(by.decision!.options, ['refund', 'credit']);
    assert.deepEqual(by.scores!.item, { kind: 'integer', minimum: 0 });
    assert.deepEqual(by.address!.fields!.map((f) => [f.path, f.required]), [['address.city', true], ['address.zip', false]]);
    assert.deepEqual(describeForm(undefined), []);
    assert.equal(humanize('first_name'), 'First name');
  });

  test('values: typed from the inputs, empty optional fields left out, defaults and initial data used', () => {
    const fields = describeForm(SCHEMA);
    const raw = initialRaw(fields);
    assert.equal(raw.urgent, true, 'the default');
    assert.deepEqual(raw.tags, []);
    const value = collect(fields, {
      ...raw, amount: '12', ratio: '0.5', decision: '"credit"', email: 'a@b.example', tags: ['x', ' ', 'y'], scores: ['3'],
      'address.city': 'Lyon', extra: '[{"k": 1}]',
    });
    assert.deepEqual(value, {
      amount: 12, ratio: 0.5, decision: 'credit', email: 'a@b.example', urgent: true, tags: ['x', 'y'], scores: [3],
      address: { city: 'Lyon' }, extra: [{ k: 1 }],
    });
    // Not a number stays text, so validation names it.
    assert.equal(collect(fields, { ...raw, amount: 'twelve' }).amount, 'twelve');
    const again = initialRaw(fields, { amount: 7, decision: 'refund', address: { city: 'Oslo' } });
    assert.equal(again.amount, '7');
    assert.equal(again.decision, '"refund"');
    assert.equal(again['address.city'], 'Oslo');
  });

  test('validation: errors by field (required, bounds, type, format, nested, list items)', () => {
    const fields = describeForm(SCHEMA);
    const errors = validateForm(SCHEMA, { amount: 5000, ratio: 'x', email: 'not-an-email', scores: [1, -2], address: {} }, fields);
    assert.deepEqual(errors, {
      decision: 'is required',
      amount: 'must be at most 1000',
      ratio: 'must be a number',
      email: 'must be a valid email',
      scores: 'must be at least 0',
      'address.city': 'is required',
    });
    assert.deepEqual(validateForm(SCHEMA, { amount: 3, decision: 'refund', email: 'a@b.example' }, fields), {});
    assert.deepEqual(validateForm(SCHEMA, { amount: 3.5, decision: 'refund', email: 'a@b.example' }, fields), { amount: 'must be a whole number' });
    assert.deepEqual(validateForm(SCHEMA, { amount: 3, decision: 'maybe', email: 'a@b.example', dueDate: '30/11/2026' }, fields), {
      decision: 'must be one of the choices', dueDate: 'must be a valid date',
    });
  });

  test('the server 400: Ajv details go to their fields; a request-level field error too; the rest is general', () => {
    const fields = describeForm(SCHEMA);
    assert.deepEqual(serverFieldErrors([{ instancePath: '', keyword: 'required', params: { missingProperty: 'decision' }, message: "must have required property 'decision'" }], 'form data is invalid', fields),
      { decision: 'is required' });
    assert.deepEqual(serverFieldErrors([{ instancePath: '/address/zip', keyword: 'maxLength', params: { limit: 5 }, message: 'must NOT have more than 5 characters' }], 'x', fields),
      { 'address.zip': 'must NOT have more than 5 characters' });
    assert.deepEqual(serverFieldErrors({ in: 'body', field: 'data.amount' }, 'body.data.amount is bad', fields), { amount: 'body.data.amount is bad' });
    assert.deepEqual(serverFieldErrors(undefined, 'task is claimed by bob', fields), { '': 'task is claimed by bob' });
  });

  test('input checked as JSON text: every message with its path', () => {
    assert.deepEqual(schemaMessages({ type: 'object', required: ['n'], properties: { n: { type: 'integer' } } }, {}), ['n is required']);
    assert.deepEqual(schemaMessages({ type: 'object', properties: { n: { type: 'integer' } } }, { n: 'x' }), ['n must be integer']);
    assert.deepEqual(schemaMessages({ type: 'object' }, {}), []);
    assert.deepEqual(schemaMessages(undefined, 1), []);
  });
});
