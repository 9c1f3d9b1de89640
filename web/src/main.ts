/**
 * The Weft web UI (SPEC C6): a single page served by `weft server` at `/`. Each route loads its
 * view module on demand (the editor's CodeMirror and the verifier stay out of the first load).
 */
import { html, render } from 'lit-html';
import './styles.css';
import { match, type Route } from './router.js';

const routes: Route[] = [
  { path: '/', title: 'Dashboard', load: () => import('./views/dashboard.js') },
  { path: '/definitions', title: 'Definitions', load: () => import('./views/definitions.js') },
  { path: '/definitions/:id', title: 'Definition', load: () => import('./views/definitions.js') },
  { path: '/instances', title: 'Instances', load: () => import('./views/instances.js') },
  { path: '/instances/:id', title: 'Instance', load: () => import('./views/instance.js') },
  { path: '/inbox', title: 'Inbox', load: () => import('./views/inbox.js') },
  { path: '/workers', title: 'Workers', load: () => import('./views/workers.js') },
  { path: '/schedules', title: 'Schedules', load: () => import('./views/schedules.js') },
  { path: '/editor', title: 'Editor', load: () => import('./views/editor.js') },
  { path: '/editor/:id', title: 'Editor', load: () => import('./views/editor.js') },
];

const NAV: Array<[string, string]> = [
  ['#/', 'Dashboard'], ['#/definitions', 'Definitions'], ['#/instances', 'Instances'], ['#/inbox', 'Inbox'],
  ['#/workers', 'Workers'], ['#/schedules', 'Schedules'], ['#/editor', 'Editor'],
];

const view = document.getElementById('view')!;
const nav = document.getElementById('nav')!;
let cleanup: void | (() => void);
let generation = 0;

function drawNav(): void {
  const current = location.hash.split('?')[0] || '#/';
  const active = (href: string) => href === '#/' ? current === '#/' || current === '#' : current.startsWith(href);
  render(html`<ul>${NAV.map(([href, label]) => html`
    <li><a href=${href} aria-current=${active(href) ? 'page' : 'false'}>${label}</a></li>`)}</ul>`, nav);
}

async function show(): Promise<void> {
  const mine = ++generation;
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  drawNav();
  const found = match(routes, location.hash || '#/');
  if (!found) {
    view.replaceChildren();
    render(html`<section class="page"><h1>Not found</h1><p>No page at <code>${location.hash}</code>. <a href="#/">Go to the dashboard</a>.</p></section>`, view);
    return;
  }
  document.title = `${found.route.title} · Weft`;
  // A fresh host per route: each view owns its element (and its lit-html render state) outright.
  const host = document.createElement('div');
  view.replaceChildren(host);
  try {
    const module = await found.route.load();
    if (mine !== generation) return;
    const c = await module.default(host, found.params);
    if (mine !== generation) { if (typeof c === 'function') c(); return; }
    cleanup = c;
  } catch (err) {
    render(html`<section class="page"><h1>Something went wrong</h1><pre class="error">${String(err instanceof Error ? err.stack ?? err.message : err)}</pre></section>`, host);
  }
}

window.addEventListener('hashchange', () => void show());
void show();
