// Placeholder until this view is built (the helper that owns it replaces this file).
import { html, render } from 'lit-html';
import type { View } from '../router.js';

const view: View = (el) => {
  render(html`<section class="page"><h1>instances</h1><p>This page is being built.</p></section>`, el);
};
export default view;
