/**
 * Watches instances in an open engine until each one is finished or can only move on with
 * outside input nobody is going to give. Along the way it feeds the step trackers (for the
 * view) and answers human tasks and waits: from the answers file first, then by asking on the
 * terminal. Child instances of watched instances are watched too.
 */
import type { Definition } from '../model/schema.js';
import { TERMINAL_STATUSES, type InstanceState, type StepRun } from '../core/types.js';
import type { CommittedBatch, Engine } from '../runtime/api.js';
import type { AnswerBook } from './answers.js';
import { compactJson, formatClock } from './format.js';
import { askEvent, askHumanTask, type HumanDecision } from './interactive.js';
import { StepTracker } from './step-tracker.js';

export interface DriverOptions {
  /** Scripted answers for an instance (children use their parent's). */
  answersFor?(instanceId: string): AnswerBook | undefined;
  /** Ask on the terminal when no scripted answer exists. */
  interactive: boolean;
  /** Human deadlines and wait timeouts due within this window are waited out; later ones are not. */
  patienceMs: number;
  note(text: string): void;
  /** Called around terminal questions, so the live view stops redrawing meanwhile. */
  beforeQuestion(): void;
  afterQuestion(): void;
  onChange(): void;
}

export interface WaitingItem {
  instanceId: string;
  stepId: string;
  kind: 'human' | 'event' | 'paused' | 'other';
  description: string;
  /** One answers-file entry that would answer it (YAML flow style). */
  example?: string;
}

const HISTORY_PAGE = 5_000;
const ALWAYS_FIRES = new Set(['retry', 'attempt-timeout', 'timer']);

export class InstanceDriver {
  readonly trackers = new Map<string, StepTracker>();
  readonly states = new Map<string, InstanceState>();
  private readonly loading = new Map<string, CommittedBatch[]>();
  private readonly handled = new Set<string>();
  private readonly books = new Map<string, AnswerBook | undefined>();
  private readonly busy = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private questions: Promise<void> = Promise.resolve();
  private readonly unsubscribe: Array<() => void>;
  private settled?: () => void;
  private ticker?: NodeJS.Timeout;

  constructor(private readonly engine: Engine, private readonly options: DriverOptions) {
    this.unsubscribe = [
      engine.on('committed', (batch) => this.onBatch(batch)),
      engine.on('activity', (notice) => {
        if (notice.type !== 'started') return;
        this.trackers.get(notice.instanceId)?.noteActivityStarted(notice.taskId, notice.attempt);
        options.onChange();
      }),
    ];
  }

  /** Starts following an instance: replays its history, then applies live batches. */
  async watch(instanceId: string, definition?: Definition): Promise<void> {
    if (this.trackers.has(instanceId)) return;
    const tracker = new StepTracker(instanceId, definition);
    this.trackers.set(instanceId, tracker);
    this.loading.set(instanceId, []);
    try {
      const state = await this.engine.getState(instanceId);
      if (!definition && state) {
        const def = await this.engine.getDefinition(state.definitionId, state.definitionVersion);
        if (def) tracker.setDefinition(def);
      }
      for (let fromSeq = 1; ; ) {
        const page = await this.engine.getHistory(instanceId, { fromSeq, limit: HISTORY_PAGE });
        tracker.applyAll(page);
        if (page.length < HISTORY_PAGE) break;
        fromSeq = page[page.length - 1].seq + 1;
      }
      if (state) this.noteState(state);
      this.bindAnswers(instanceId, state, tracker);
    } finally {
      const buffered = this.loading.get(instanceId) ?? [];
      this.loading.delete(instanceId);
      for (const batch of buffered) this.applyBatch(batch);
    }
    this.options.onChange();
    this.schedule(instanceId);
  }

  /** Picks the instance's answers, minus those its history shows were already given (after a crash). */
  private bindAnswers(instanceId: string, state: InstanceState | undefined, tracker: StepTracker): void {
    const parent = state?.parent?.instanceId;
    const book = parent && this.books.has(parent) ? this.books.get(parent) : this.options.answersFor?.(instanceId);
    this.books.set(instanceId, book);
    if (!book) return;
    for (const stepId of tracker.humanAnswersGiven) book.takeHuman(stepId);
    for (const event of tracker.eventsReceived) book.takeEvent(event);
  }

  /** Resolves once every watched instance is finished or blocked on outside input. */
  untilSettled(): Promise<void> {
    return new Promise((resolve) => {
      this.settled = resolve;
      this.ticker = setInterval(() => this.checkSettled(), 500);
      this.checkSettled();
    });
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    if (this.ticker) clearInterval(this.ticker);
  }

  isTerminal(instanceId: string): boolean {
    const state = this.states.get(instanceId);
    return state !== undefined && TERMINAL_STATUSES.has(state.status);
  }

  /** What the unfinished instances wait for, in words. */
  waiting(): WaitingItem[] {
    const items: WaitingItem[] = [];
    for (const [instanceId, state] of this.states) {
      if (TERMINAL_STATUSES.has(state.status)) continue;
      if (state.status === 'paused') items.push({ instanceId, stepId: '-', kind: 'paused', description: 'the instance is paused' });
      for (const run of Object.values(state.active)) {
        const item = describeWait(instanceId, run);
        if (item) items.push(item);
      }
    }
    return items;
  }

  private onBatch(batch: CommittedBatch): void {
    const buffer = this.loading.get(batch.instanceId);
    if (buffer) return void buffer.push(batch);
    if (this.trackers.has(batch.instanceId)) return this.applyBatch(batch);
    const parent = batch.state.parent?.instanceId;
    if (parent && this.trackers.has(parent)) void this.watch(batch.instanceId).catch((err) => this.options.note(`cannot follow child ${batch.instanceId}: ${(err as Error).message}`));
  }

  private applyBatch(batch: CommittedBatch): void {
    this.trackers.get(batch.instanceId)?.applyAll(batch.events);
    this.noteState(batch.state);
    this.options.onChange();
    this.schedule(batch.instanceId);
  }

  private noteState(state: InstanceState): void {
    const known = this.states.get(state.id);
    if (!known || state.seq >= known.seq) this.states.set(state.id, state);
  }

  private schedule(instanceId: string): void {
    const previous = this.chains.get(instanceId) ?? Promise.resolve();
    const next = previous
      .then(() => this.answerWhatWaits(instanceId))
      .catch((err) => this.options.note(`error while answering ${instanceId}: ${(err as Error).message}`))
      .finally(() => this.checkSettled());
    this.chains.set(instanceId, next);
  }

  private async answerWhatWaits(instanceId: string): Promise<void> {
    const state = this.states.get(instanceId);
    if (!state || TERMINAL_STATUSES.has(state.status)) return;
    for (const run of Object.values(state.active)) {
      const task = run.human;
      if (task && (run.status === 'waiting_human' || run.manualTaskId)) this.answerHuman(instanceId, run, run.manualTaskId ?? task.taskId);
      else if (run.status === 'waiting_event' && run.wait) this.answerWait(instanceId, run);
    }
  }

  private answerHuman(instanceId: string, run: StepRun, taskId: string): void {
    const handledKey = `human:${instanceId}:${taskId}`;
    if (this.handled.has(handledKey)) return;
    this.handled.add(handledKey);
    const scripted = this.books.get(instanceId)?.takeHuman(run.stepId);
    if (scripted) {
      this.track(instanceId, this.completeHuman(instanceId, run, taskId, scripted, 'answers file').then(() => undefined));
    } else if (this.options.interactive && run.human) {
      const task = run.human;
      this.ask(instanceId, async () => {
        const decision = await askHumanTask(run.stepId, task, run.input);
        if (!decision) return;
        const accepted = await this.completeHuman(instanceId, run, taskId, decision, 'you');
        if (!accepted) {
          this.handled.delete(handledKey); // ask again
          this.schedule(instanceId);
        }
      });
    }
  }

  private async completeHuman(instanceId: string, run: StepRun, taskId: string, decision: HumanDecision & { reason?: string; by?: string }, source: string): Promise<boolean> {
    try {
      const by = decision.by ?? 'cli';
      if (decision.action === 'reject' && decision.data === undefined) {
        await this.engine.send({ type: 'RejectHumanTask', instanceId, taskId, reason: decision.reason, by });
      } else {
        await this.engine.send({ type: 'CompleteHumanTask', instanceId, taskId, action: decision.action, data: decision.data, by });
      }
      this.options.note(`→ ${run.stepId}: ${decision.action}${decision.data !== undefined ? ` ${compactJson(decision.data, 80)}` : ''}${decision.reason ? ` (${decision.reason})` : ''} (${source})`);
      return true;
    } catch (err) {
      this.options.note(`✖ ${run.stepId}: the answer "${decision.action}" (${source}) was refused: ${(err as Error).message}`);
      return false;
    }
  }

  private answerWait(instanceId: string, run: StepRun): void {
    const wait = run.wait!;
    const handledKey = `wait:${instanceId}:${run.id}`;
    if (this.handled.has(handledKey)) return;
    this.handled.add(handledKey);
    const scripted = this.books.get(instanceId)?.takeEvent(wait.event);
    if (scripted) {
      const key = 'key' in scripted ? scripted.key : wait.key;
      this.track(instanceId, (async () => {
        if (scripted.afterMs) await new Promise((r) => setTimeout(r, scripted.afterMs));
        await this.deliver(instanceId, run, key, scripted.payload, 'answers file');
      })());
    } else if (this.options.interactive) {
      this.ask(instanceId, async () => {
        const answer = await askEvent(run.stepId, wait.event, wait.key);
        if (answer) await this.deliver(instanceId, run, answer.key, answer.payload, 'you');
      });
    }
  }

  private async deliver(instanceId: string, run: StepRun, key: unknown, payload: unknown, source: string): Promise<void> {
    const name = run.wait!.event;
    try {
      await this.engine.send({ type: 'DeliverEvent', instanceId, name, key, payload, by: 'cli' });
      this.options.note(`→ ${run.stepId}: event "${name}"${key !== undefined ? ` key ${compactJson(key, 40)}` : ''} delivered (${source})`);
    } catch (err) {
      this.options.note(`✖ ${run.stepId}: event "${name}" (${source}) was not accepted: ${(err as Error).message}`);
    }
  }

  /** Counts work under way for an instance: it is not blocked while an answer is on its way. */
  private track(instanceId: string, work: Promise<unknown>): void {
    this.busy.set(instanceId, (this.busy.get(instanceId) ?? 0) + 1);
    void work.finally(() => {
      this.busy.set(instanceId, (this.busy.get(instanceId) ?? 1) - 1);
      this.checkSettled();
    });
  }

  private ask(instanceId: string, question: () => Promise<void>): void {
    const asked = this.questions.then(async () => {
      if (this.isTerminal(instanceId)) return;
      this.options.beforeQuestion();
      try {
        await question();
      } catch (err) {
        if ((err as Error).name === 'ExitPromptError') this.options.note('(question dismissed; the step keeps waiting)');
        else throw err;
      } finally {
        this.options.afterQuestion();
      }
    });
    this.questions = asked.catch(() => undefined);
    this.track(instanceId, asked.catch((err) => this.options.note(`question failed: ${(err as Error).message}`)));
  }

  private canProgress(instanceId: string, now: number): boolean {
    const state = this.states.get(instanceId);
    if (!state) return true; // not loaded yet
    if (TERMINAL_STATUSES.has(state.status)) return false;
    if ((this.busy.get(instanceId) ?? 0) > 0) return true;
    if (state.status === 'paused') return false;
    if (Object.keys(state.tasks).length > 0) return true;
    for (const timer of Object.values(state.timers)) {
      if (ALWAYS_FIRES.has(timer.kind) || timer.dueAt - now <= this.options.patienceMs) return true;
    }
    for (const run of Object.values(state.active)) {
      if (run.childId && (!this.states.has(run.childId) || this.canProgress(run.childId, now))) return true;
    }
    return false;
  }

  private checkSettled(): void {
    if (!this.settled) return;
    const now = Date.now();
    for (const id of this.trackers.keys()) if (this.loading.has(id) || this.canProgress(id, now)) return;
    const done = this.settled;
    this.settled = undefined;
    if (this.ticker) clearInterval(this.ticker);
    done();
  }
}

function describeWait(instanceId: string, run: StepRun): WaitingItem | undefined {
  if (run.human && (run.status === 'waiting_human' || run.manualTaskId)) {
    const h = run.human;
    const who = [...h.users, ...h.groups.map((g) => `group ${g}`)].join(', ');
    const deadline = h.deadline !== undefined ? `, deadline ${formatClock(h.deadline)}` : '';
    return {
      instanceId,
      stepId: run.stepId,
      kind: 'human',
      example: `{step: ${run.stepId}, action: ${h.actions[0] ?? 'approve'}${exampleFormData(h.form)}}`,
      description: `${h.kind === 'manual' ? 'manual intervention' : 'human task'}${h.title && h.title !== run.stepId ? ` "${h.title}"` : ''} — actions: ${h.actions.join(', ')}${who ? ` — for ${who}` : ''}${deadline}`,
    };
  }
  if (run.status === 'waiting_event' && run.wait) {
    const key = run.wait.key !== undefined ? ` with key ${compactJson(run.wait.key, 60)}` : '';
    return { instanceId, stepId: run.stepId, kind: 'event', description: `event "${run.wait.event}"${key}`, example: `{event: ${run.wait.event}, payload: {}}` };
  }
  return undefined;
}

/** `, data: {approved: true}`: the form's required fields with placeholder values. */
function exampleFormData(form: unknown): string {
  const schema = form as { properties?: Record<string, { type?: string; enum?: unknown[] }>; required?: string[] } | undefined;
  if (!schema?.properties) return '';
  const fields = (schema.required ?? []).map((name) => {
    const field = schema.properties?.[name] ?? {};
    const value = field.enum?.length ? field.enum[0] : field.type === 'boolean' ? true : field.type === 'number' || field.type === 'integer' ? 0 : '...';
    return `${name}: ${JSON.stringify(value)}`;
  });
  return `, data: {${fields.join(', ')}}`;
}
