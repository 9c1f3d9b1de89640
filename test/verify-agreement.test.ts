/**
 * The verifier and the engine agree (principle 2). For random valid definitions:
 * 1. every execution the engine produces — real conditions over real data, random order of the
 *    world's answers — is a path in the verifier's (unreduced) state space;
 * 2. when the verifier says "sound", random engine runs always end.
 * For about half the definitions the verifier runs with `signals: 'early'` and the driver also
 * sends signals before their wait starts (the core buffers them), so those runs are checked too.
 * test/verify-semantics.test.ts does the same for `conditions: 'simple'` with real inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { definitionArb } from '../src/core/testing/generators.js';
import { compileDefinition } from '../src/core/compiled.js';
import { execute } from '../src/core/engine.js';
import { CommandRejected } from '../src/core/errors.js';
import type { InstanceState } from '../src/core/types.js';
import { DefinitionSystem, VERIFY_T0 } from '../src/verify/definition-system.js';
import { explore } from '../src/verify/graph.js';
import { verifyDefinition } from '../src/verify/verify.js';

describe('verifier ⇔ engine agreement', () => {
  it('engine executions are paths of the state space, and sound definitions always end', async () => {
    let checked = 0;
    let early = 0;
    await fc.assert(fc.asyncProperty(definitionArb(2), fc.array(fc.nat(), { minLength: 40, maxLength: 40 }), fc.boolean(), async (definition, choices, earlyMode) => {
      const signals = earlyMode ? 'early' as const : 'awaited' as const;
      const sys = new DefinitionSystem(definition, { reduce: false, signals });
      const g = await explore(sys, { maxStates: 1500 });
      if (g.truncated) return;
      checked++;
      const edges = new Set<string>();
      g.edges.forEach((list, v) => list.forEach((e) => edges.add(`${g.keys[v]}\n${g.keys[e.target]}`)));
      const real = compileDefinition(definition);
      const verdict = await verifyDefinition(definition, { soundnessOnly: true, maxStates: 1500, signals });
      for (let runNo = 0; runNo < 3; runNo++) {
        let state: InstanceState = (await execute(real, null, { type: 'StartWorkflow', instanceId: 'verify', input: { items: [1] } }, { now: VERIFY_T0, random: 0.5 })).state;
        assert.ok(edges.has(`init\n${sys.key(state)}`) || g.keys.includes(sys.key(state)), 'the engine starts in a state the verifier knows');
        let steps = 0;
        while (!sys.isFinal(state) && steps < 500) {
          const units = [...sys.commandsOf(state).values()].flat();
          if (units.length === 0) break;
          const cmd = units[(choices[steps % choices.length] + runNo * 7 + steps) % units.length];
          const before = sys.key(state);
          if (cmd.type === 'Signal' && !Object.values(state.active).some((r) => r.status === 'waiting_event' && r.wait?.event === cmd.name)) early++;
          try {
            // Real data: activity outputs drive the generated conditions (`vars.c`).
            const withData = cmd.type === 'CompleteActivity' || cmd.type === 'ChildFinished' || cmd.type === 'CompleteHumanTask' || cmd.type === 'Signal' || cmd.type === 'DeliverEvent'
              ? { ...cmd, ...(cmd.type === 'CompleteHumanTask' ? { data: { c: steps % 7 } } : cmd.type === 'Signal' || cmd.type === 'DeliverEvent' ? { payload: { c: steps % 7 } } : { output: { c: (choices[steps % choices.length] + steps) % 7 } }) }
              : cmd;
            state = (await execute(real, structuredClone(state), withData, { now: VERIFY_T0 + steps * 1000, random: 0.5 })).state;
          } catch (err) {
            if (err instanceof CommandRejected) { steps++; continue; }
            throw err;
          }
          assert.ok(edges.has(`${before}\n${sys.key(state)}`), `engine step ${cmd.type} from\n${before}\nto\n${sys.key(state)}\nis not an edge of the verifier's state space`);
          steps++;
        }
        if (verdict.verdict === 'sound') assert.ok(sys.isFinal(state), `sound, yet the engine run did not end: ${state.status}`);
      }
    }), { numRuns: 12, seed: 5 });
    assert.ok(checked >= 4, `only ${checked} definitions were small enough to check`);
    assert.ok(early > 0, 'the driver sent no early signal');
  });
});
