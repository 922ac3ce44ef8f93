/** Hash routing: `#/`, `#/runs/ID`, `#/compare?runs=A,B`, `#/assets`. Each view returns its own clean-up. */
export interface Route {
  path: string[];
  query: URLSearchParams;
}

export type Dispose = () => void;
export type View = (root: HTMLElement, route: Route) => Dispose | void;

export function currentRoute(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).split('/').filter(Boolean).map(decodeURIComponent);
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

export function href(path: string[], query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) params.set(k, v);
  const qs = params.toString();
  return `#/${path.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}

/** Updates the address without re-mounting the view (replaceState fires no hashchange). */
export function replaceQuery(query: Record<string, string | undefined>): void {
  history.replaceState(null, '', href(currentRoute().path, query));
}

/** `before` runs ahead of every mount: it may rewrite the address (e.g. take a token out of it). */
export function startRouter(root: HTMLElement, pick: (route: Route) => View, before: () => void = () => undefined): { refresh(): void } {
  let dispose: Dispose | void;
  const mount = () => {
    before();
    dispose?.();
    root.replaceChildren();
    const route = currentRoute();
    dispose = pick(route)(root, route);
    window.scrollTo(0, 0);
  };
  window.addEventListener('hashchange', mount);
  mount();
  return { refresh: mount };
}
