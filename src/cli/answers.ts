/**
 * Scripted answers for a run: what people decide on human tasks and which outside events arrive.
 *
 *   - step: approve-order        # a human task (or manual intervention) on this step
 *     action: approve
 *     data: {comment: looks fine}
 *   - event: payment.received    # delivered when a wait for this event is open
 *     key: A-1                   # optional: default is the key the wait computed
 *     payload: {amount: 42}
 *     after: 2s                  # optional: delay before delivering (to let a timeout win)
 *
 * Each answer is used once, in file order per step / event name.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { DURATION_PATTERN } from '../model/schema.js';
import { CliError } from './io.js';

const HumanAnswer = z.strictObject({
  step: z.string().min(1),
  action: z.string().min(1),
  data: z.unknown().optional(),
  reason: z.string().optional(),
  by: z.string().optional(),
});
const EventAnswer = z.strictObject({
  event: z.string().min(1),
  key: z.unknown().optional(),
  payload: z.unknown().optional(),
  after: z.union([z.string().regex(DURATION_PATTERN, { message: 'expected a duration such as "2s"' }), z.number().int().nonnegative()]).optional(),
});
const AnswersFile = z.array(z.union([HumanAnswer, EventAnswer]));

export type HumanAnswer = z.infer<typeof HumanAnswer>;
export type EventAnswer = z.infer<typeof EventAnswer> & { afterMs?: number };
export type Answer = HumanAnswer | EventAnswer;

export class AnswerBook {
  private readonly used = new Set<number>();

  constructor(readonly answers: Answer[], readonly source?: string) {}

  static fromFile(path: string): AnswerBook {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(`answers file ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    return AnswerBook.fromText(text, path);
  }

  static fromText(text: string, source = 'answers'): AnswerBook {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { prettyErrors: false, lineCounter });
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      throw new CliError(`${source}:${lineCounter.linePos(e.pos[0]).line}: invalid YAML: ${e.message.split('\n')[0]}`);
    }
    const raw = doc.toJS() ?? [];
    const parsed = AnswersFile.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const index = typeof issue.path[0] === 'number' ? issue.path[0] : undefined;
      const line = index === undefined ? undefined : lineOfItem(doc, text, index);
      throw new CliError(
        `${source}${line ? `:${line}` : ''}: answer ${index === undefined ? '' : `#${index + 1} `}is invalid: ${issue.message}\n` +
          `  each answer is {step, action, data?} for a human task or {event, key?, payload?, after?} for a wait`,
      );
    }
    const answers = parsed.data.map((a): Answer => ('event' in a && a.after !== undefined ? { ...a, afterMs: parseDuration(a.after) } : a));
    return new AnswerBook(answers, source);
  }

  /** Takes the next unused answer for a human task on `stepId`. */
  takeHuman(stepId: string): HumanAnswer | undefined {
    return this.take((a): a is HumanAnswer => 'step' in a && a.step === stepId);
  }

  /** Takes the next unused answer for a wait on `event`. */
  takeEvent(event: string): EventAnswer | undefined {
    return this.take((a): a is EventAnswer => 'event' in a && a.event === event);
  }

  remaining(): Answer[] {
    return this.answers.filter((_, i) => !this.used.has(i));
  }

  private take<T extends Answer>(match: (a: Answer) => a is T): T | undefined {
    const index = this.answers.findIndex((a, i) => !this.used.has(i) && match(a));
    if (index < 0) return undefined;
    this.used.add(index);
    return this.answers[index] as T;
  }
}

function lineOfItem(doc: ReturnType<typeof parseDocument>, text: string, index: number): number | undefined {
  const node = doc.getIn([index], true) as { range?: [number, number, number] } | undefined;
  if (!node?.range) return undefined;
  return text.slice(0, node.range[0]).split('\n').length;
}
