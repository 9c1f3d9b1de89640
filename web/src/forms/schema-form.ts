/**
 * A form generated from a JSON Schema (lit-html). `SchemaForm` keeps what the user typed and the
 * errors; `template()` draws it (labels from titles, descriptions as hints, `aria-invalid` and the
 * message next to the field); `submit()` validates with Ajv first and returns the typed value, or
 * undefined after showing the errors. `showServerError` puts the server's 400 at the field.
 * The DOM-free parts (fields, values, validation) are in ./schema.ts.
 */
import { html, nothing, type TemplateResult } from 'lit-html';
import { collect, describeForm, initialRaw, serverFieldErrors, validateForm, type Field, type FieldErrors, type RawValues } from './schema.js';
import './schema-form.css';

let forms = 0;

export class SchemaForm {
  readonly fields: Field[];
  raw: RawValues;
  errors: FieldErrors = {};
  private readonly prefix = `sf${++forms}`;

  constructor(readonly schema: unknown, private readonly changed: () => void, initial?: unknown) {
    this.fields = describeForm(schema);
    this.raw = initialRaw(this.fields, initial);
  }

  /** The typed value, or undefined when client-side validation failed (errors are then shown). */
  submit(): Record<string, unknown> | undefined {
    const value = this.value();
    this.errors = validateForm(this.schema, value, this.fields);
    this.changed();
    if (Object.keys(this.errors).length > 0) {
      queueMicrotask(() => this.focusFirstError());
      return undefined;
    }
    return value;
  }

  value(): Record<string, unknown> {
    return collect(this.fields, this.raw);
  }

  showServerError(details: unknown, message: string): void {
    this.errors = serverFieldErrors(details, message, this.fields);
    this.changed();
    queueMicrotask(() => this.focusFirstError());
  }

  private focusFirstError(): void {
    const el = document.querySelector<HTMLElement>(`[id^="${this.prefix}-"][aria-invalid="true"]`);
    el?.focus();
  }

  private id(f: Field): string { return `${this.prefix}-${f.path.replace(/[^a-zA-Z0-9_-]/g, '_')}`; }

  private set(path: string, v: string | boolean | string[]): void {
    this.raw = { ...this.raw, [path]: v };
    if (this.errors[path] !== undefined) { const { [path]: _gone, ...rest } = this.errors; this.errors = rest; }
    this.changed();
  }

  template(): TemplateResult {
    const general = this.errors[''];
    return html`<div class="schema-form">
      ${this.fields.length === 0 ? html`<p class="muted">This task has no form.</p>` : this.fields.map((f) => this.field(f))}
      ${general ? html`<p class="error" role="alert">${general}</p>` : nothing}
    </div>`;
  }

  private field(f: Field): TemplateResult {
    if (f.kind === 'object') {
      return html`<fieldset class="sf-group"><legend>${f.label}${f.required ? html`<span class="sf-req" aria-hidden="true"> *</span>` : nothing}</legend>
        ${f.description ? html`<p class="sf-hint">${f.description}</p>` : nothing}
        ${(f.fields ?? []).map((c) => this.field(c))}</fieldset>`;
    }
    const id = this.id(f);
    const error = this.errors[f.path];
    const hintId = `${id}-hint`;
    const errId = `${id}-err`;
    const describedBy = [f.description ? hintId : '', error ? errId : ''].filter(Boolean).join(' ') || nothing;
    const label = html`${f.label}${f.required ? html`<span class="sf-req" aria-hidden="true"> *</span>` : nothing}`;
    const hint = f.description ? html`<span class="sf-hint" id=${hintId}>${f.description}</span>` : nothing;
    const err = error ? html`<span class="sf-error" id=${errId} role="alert">${f.label} ${error}</span>` : nothing;
    if (f.kind === 'boolean') {
      return html`<div class="sf-field sf-check" data-field=${f.path}>
        <label><input type="checkbox" id=${id} .checked=${this.raw[f.path] === true} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${describedBy}
          @change=${(e: Event) => this.set(f.path, (e.target as HTMLInputElement).checked)} /> ${label}</label>${hint}${err}</div>`;
    }
    if (f.kind === 'list') {
      const items = (this.raw[f.path] as string[] | undefined) ?? [];
      const setItem = (i: number, v: string) => this.set(f.path, items.map((x, j) => (j === i ? v : x)));
      return html`<fieldset class="sf-field sf-list" data-field=${f.path}><legend>${label}</legend>${hint}
        ${items.map((v, i) => html`<div class="sf-item">
          ${this.simpleInput(f.item!.kind, `${id}-${i}`, v, (x) => setItem(i, x), { ...f.item!, label: `${f.label} item ${i + 1}`, invalid: !!error, describedBy })}
          <button type="button" @click=${() => this.set(f.path, items.filter((_, j) => j !== i))} aria-label=${`Remove ${f.label} item ${i + 1}`}>Remove</button></div>`)}
        <button type="button" id=${id} aria-invalid=${error ? 'true' : 'false'} @click=${() => this.set(f.path, [...items, ''])}>Add ${f.label.toLowerCase()}</button>${err}</fieldset>`;
    }
    const value = (this.raw[f.path] as string | undefined) ?? '';
    return html`<div class="sf-field" data-field=${f.path}><label for=${id}>${label}</label>${hint}
      ${f.kind === 'json'
        ? html`<textarea id=${id} rows="3" .value=${value} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${describedBy} aria-required=${f.required ? 'true' : 'false'}
            @input=${(e: Event) => this.set(f.path, (e.target as HTMLTextAreaElement).value)} placeholder="JSON"></textarea>`
        : this.simpleInput(f.kind, id, value, (x) => this.set(f.path, x), { ...f, invalid: !!error, describedBy })}
      ${err}</div>`;
  }

  private simpleInput(kind: Field['kind'], id: string, value: string, set: (v: string) => void,
    o: { options?: unknown[]; minimum?: number; maximum?: number; minLength?: number; maxLength?: number; required?: boolean; invalid: boolean; describedBy: string | typeof nothing; label?: string }): TemplateResult {
    const onInput = (e: Event) => set((e.target as HTMLInputElement | HTMLSelectElement).value);
    const invalid = o.invalid ? 'true' : 'false';
    const label = o.label ?? nothing;
    if (kind === 'enum' || kind === 'boolean') {
      const options = kind === 'boolean' ? [true, false] : o.options ?? [];
      return html`<select id=${id} .value=${value} aria-invalid=${invalid} aria-describedby=${o.describedBy} aria-label=${label} aria-required=${o.required ? 'true' : 'false'} @change=${onInput}>
        <option value="" ?selected=${value === ''}>— choose —</option>
        ${options.map((opt) => { const v = JSON.stringify(opt); return html`<option value=${v} ?selected=${v === value}>${typeof opt === 'string' ? opt : v}</option>`; })}
      </select>`;
    }
    const type = kind === 'number' || kind === 'integer' ? 'number' : kind === 'date' ? 'date' : kind === 'email' ? 'email' : 'text';
    return html`<input id=${id} type=${type} .value=${value} aria-invalid=${invalid} aria-describedby=${o.describedBy} aria-label=${label} aria-required=${o.required ? 'true' : 'false'}
      step=${kind === 'integer' ? '1' : kind === 'number' ? 'any' : nothing}
      min=${o.minimum ?? nothing} max=${o.maximum ?? nothing} maxlength=${o.maxLength ?? nothing}
      @input=${onInput} />`;
  }
}
