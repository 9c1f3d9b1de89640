/**
 * Hash routes (`#/instances/abc`): the server serves one static page and knows nothing of UI
 * paths, and a reload or a shared link lands on the same view.
 */
export type Params = Record<string, string>;

/** A view draws into `el` and returns its cleanup (sockets, timers), called when the route changes. */
export type View = (el: HTMLElement, params: Params) => void | (() => void) | Promise<void | (() => void)>;

export interface Route {
  /** Pattern such as `/instances/:id`. */
  path: string;
  load: () => Promise<{ default: View }>;
  title: string;
}

export function match(routes: Route[], hash: string): { route: Route; params: Params } | undefined {
  const path = decodeURI(hash.replace(/^#/, '').split('?')[0] || '/');
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Params = {};
    let ok = true;
    pattern.forEach((p, i) => {
      if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(parts[i]);
      else if (p !== parts[i]) ok = false;
    });
    if (ok) return { route, params };
  }
  return undefined;
}

/** Query parameters of the current hash (`#/instances?status=running`). */
export function hashQuery(): URLSearchParams {
  const q = location.hash.split('?')[1];
  return new URLSearchParams(q ?? '');
}

export function navigate(path: string): void {
  location.hash = `#${path}`;
}
