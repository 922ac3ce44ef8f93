/** The run-history page: token, routes, and one place that turns a 401 into a sign-in prompt. */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, downloadWithToken, unauthorized } from './api';
import { assetsView } from './assets-view';
import { h, replace } from './dom';
import { Dispose, Route, startRouter, View } from './router';
import { runsView } from './runs-view';
import { getToken, setToken, takeTokenFromHash } from './token';

/**
 * A view whose code is fetched when first shown: the runs list, the first page most people open,
 * does not wait for the charts, Markdown and d3 code the run and compare views bring.
 */
function lazy(load: () => Promise<View>): View {
  return (root, route) => {
    let dispose: Dispose | void;
    let gone = false;
    load().then(
      (view) => {
        if (!gone) dispose = view(root, route);
      },
      (err: Error) => !gone && replace(root, h('p', { class: 'bad' }, `Could not load this page: ${err.message}`)),
    );
    return () => {
      gone = true;
      dispose?.();
    };
  };
}

const runView = lazy(() => import('./run-view').then((m) => m.runView));
const compareView = lazy(() => import('./compare-view').then((m) => m.compareView));

function pick(route: Route): View {
  const [first] = route.path;
  document.querySelectorAll<HTMLElement>('[data-nav]').forEach((a) => a.classList.toggle('active', a.dataset.nav === (first === 'assets' ? 'assets' : 'runs')));
  document.title = 'outpost · run history';
  if (first === 'runs' && route.path[1]) return runView;
  if (first === 'compare') return compareView;
  if (first === 'assets') return assetsView;
  return runsView;
}

function askForToken(banner: HTMLElement, retry: () => void): void {
  if (!banner.hidden) return;
  const input = h('input', { type: 'password', name: 'token', placeholder: 'token', autocomplete: 'off', 'aria-label': 'bearer token' });
  const form = h(
    'form',
    {
      class: 'token-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        setToken(input.value.trim() || null);
        banner.hidden = true;
        retry();
      },
    },
    h('span', {}, getToken() ? 'The token was refused. ' : 'This service needs a token. '),
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Use token'),
  );
  replace(banner, form);
  banner.hidden = false;
  input.focus();
}

function main(): void {
  const banner = document.getElementById('banner') as HTMLElement;
  // A `#token=` link may arrive at any time, not only on first load.
  const takeToken = () => {
    if (takeTokenFromHash()) banner.hidden = true;
  };
  const router = startRouter(document.getElementById('app') as HTMLElement, pick, takeToken);
  unauthorized.add(() => askForToken(banner, () => router.refresh()));
  // Links cannot send the Authorization header: with a token, downloads go through fetch.
  document.addEventListener('click', (e) => {
    const a = (e.target as Element).closest?.('a[data-download]') as HTMLAnchorElement | null;
    if (!a || !getToken()) return;
    e.preventDefault();
    downloadWithToken(a.href, a.getAttribute('download') || 'download').catch((err: ApiError) => alert(err.message));
  });
  // Charts read their colours when drawn: redraw when the system switches light/dark.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => router.refresh());
}

main();
