/**
 * The YAML editor: CodeMirror 6 with the YAML language, schema-aware completion
 * (completion-model.ts) and the engine's own issues as inline diagnostics. Tab is not bound
 * (CodeMirror's default keymap leaves it to the page), so Tab moves focus on to the designer and
 * the editor is never a keyboard trap.
 */
import { EditorState } from '@codemirror/state';
import { EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from '@codemirror/view';
import { bracketMatching, defaultHighlightStyle, foldGutter, foldKeymap, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { lintGutter, lintKeymap, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { completionsAt } from './completion-model.js';
import type { RangedIssue } from './diagnostics.js';

export interface YamlEditor {
  view: EditorView;
  text(): string;
  /** Replaces the text with the smallest change (keeps the cursor and undo history sensible). */
  setText(text: string): void;
  showIssues(issues: RangedIssue[]): void;
  /** Moves the cursor to a 1-based line and focuses the editor. */
  goTo(line: number, column?: number): void;
  destroy(): void;
}

function complete(ctx: CompletionContext): CompletionResult | null {
  const r = completionsAt(ctx.state.doc.toString(), ctx.pos);
  if (!r) return null;
  // While typing, only offer once something is typed or right after `key: ` / `- `.
  if (!ctx.explicit && r.from === ctx.pos && !/(:\s|-\s|\[|,\s?)$/.test(ctx.state.sliceDoc(Math.max(0, ctx.pos - 2), ctx.pos))) return null;
  return { from: r.from, options: r.options, validFor: /^[\w.-]*$/ };
}

export function createYamlEditor(parent: HTMLElement, initial: string, onChange: (text: string) => void): YamlEditor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: initial,
      extensions: [
        // The parts of CodeMirror's basic setup an editor of YAML needs (no Tab binding: see above).
        lineNumbers(), highlightActiveLineGutter(), foldGutter(), history(), drawSelection(), indentOnInput(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }), bracketMatching(), closeBrackets(), highlightActiveLine(),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...foldKeymap, ...completionKeymap, ...lintKeymap]),
        yaml(),
        lintGutter(),
        autocompletion({ override: [complete], activateOnTyping: true }),
        // tabindex: the content is tabbable anyway (contenteditable); saying so lets checkers see the scroller is reachable.
        EditorView.contentAttributes.of({ 'aria-label': 'Definition YAML', tabindex: '0' }),
        EditorView.updateListener.of((u) => { if (u.docChanged) onChange(u.state.doc.toString()); }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text) {
      const old = view.state.doc.toString();
      if (old === text) return;
      let start = 0;
      while (start < old.length && start < text.length && old[start] === text[start]) start++;
      let endOld = old.length;
      let endNew = text.length;
      while (endOld > start && endNew > start && old[endOld - 1] === text[endNew - 1]) { endOld--; endNew--; }
      view.dispatch({ changes: { from: start, to: endOld, insert: text.slice(start, endNew) } });
    },
    showIssues(issues) {
      const len = view.state.doc.length;
      const diagnostics: Diagnostic[] = issues.map((i) => ({
        from: Math.min(i.from, len), to: Math.min(Math.max(i.to, i.from), len),
        severity: i.severity, source: i.rule, message: i.message,
      }));
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    goTo(line, column = 1) {
      const l = view.state.doc.line(Math.min(Math.max(line, 1), view.state.doc.lines));
      const pos = Math.min(l.from + column - 1, l.to);
      view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
      view.focus();
    },
    destroy: () => view.destroy(),
  };
}
