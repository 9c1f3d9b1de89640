/**
 * Property-based tests of the engine core (fast-check): random valid definitions driven by random
 * interleavings of the world and of control commands.
 *
 * Properties, checked after every command (see src/core/testing/harness.ts and invariants.ts):
 * - decide is pure and agrees with execute; a rejected command changes nothing;
 * - folding the log reproduces the live state (and every past state: time travel); events are
 *   never modified after they are emitted; the log survives a JSON round trip;
 * - derived effects agree with the state (scheduled tasks and timers exist, status matches);
 * - token invariants: no token duplicated or lost, joins consistent, terminal instances empty,
 *   tasks and timers owned by active runs or by the compensation;
 * - progress: never `running`/`waiting` with nothing that can move the instance, and a
 *   cooperative world (tasks completed, timers fired, signals sent, humans approving) always
 *   brings it to an end;
 * - replaying the same commands with the same `now`/`random` yields identical events.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { validateDefinition } from '../src/model/validate.js';
import { Harness } from '../src/core/testing/harness.js';
import { definitionArb, programArb, toDefinition } from '../src/core/testing/generators.js';
import { checkInvariants } from '../src/core/testing/invariants.js';
import { drain, step, type Choice } from '../src/core/testing/driver.js';
import type { Definition } from '../src/model/schema.js';

const NUM_RUNS = Number(process.env.WEFT_PROPERTY_RUNS ?? 300);
const seedOpt = process.env.WEFT_PROPERTY_SEED ? { seed: Number(process.env.WEFT_PROPERTY_SEED) } : {};

const choices = fc.array(fc.tuple(fc.nat(1000), fc.nat(1000)), { maxLength: 40 });
const inputArb = fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }).map((items) => ({ items }));

async function play(def: Definition, input: unknown, script: Choice[], random: number): Promise<Harness> {
  const h = new Harness(def, { random, checkEachCommand: false });
  await h.start(input);
  const check = () => checkInvariants(h.def, h.s);
  check();
  for (const c of script) {
    if (h.s.status !== 'paused' && ['completed', 'failed', 'cancelled', 'terminated', 'compensated'].includes(h.s.status) && c[0] % 3 !== 0) break;
    if (!(await step(h, c))) break;
    check();
  }
  await drain(h, check);
  check();
  // In a block-structured definition a join that can no longer fire means a token was lost.
  assert.notEqual(h.s.error?.code, 'deadlock', h.s.error?.message);
  await h.verifyAsync();
  return h;
}

describe('generated definitions', () => {
  test('are valid', () => {
    fc.assert(fc.property(definitionArb(), (def) => {
      const errors = validateDefinition(def).filter((i) => i.severity === 'error');
      assert.deepEqual(errors, [], JSON.stringify(def));
    }), { numRuns: 300, ...seedOpt });
  });
});

describe('engine properties', () => {
  test('random interleavings keep every invariant and always finish', async () => {
    await fc.assert(
      fc.asyncProperty(programArb(), inputArb, choices, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (program, input, script, random) => {
        await play(toDefinition(program), input, script, random);
      }),
      { numRuns: NUM_RUNS, ...seedOpt },
    );
  });

  test('a cooperative world alone completes every definition (no control commands)', async () => {
    await fc.assert(
      fc.asyncProperty(programArb(), inputArb, async (program, input) => {
        const h = await play(toDefinition(program), input, [], 0.5);
        assert.equal(h.s.status, 'completed', JSON.stringify(h.s.error));
      }),
      { numRuns: Math.ceil(NUM_RUNS / 2), ...seedOpt },
    );
  });
});
