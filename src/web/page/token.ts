/**
 * The bearer token for a service that requires one. It arrives once as `#token=...` in the URL
 * (then leaves the address bar) or through the sign-in banner, and is kept in localStorage.
 */
const KEY = 'outpost.token';

export function getToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the page still works against a service without a token
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    /* storage disabled */
  }
}

/** Moves a `token=` parameter from the hash into storage, so it is not left in history or screenshots. */
export function takeTokenFromHash(): boolean {
  const match = /([#?&])token=([^&]*)/.exec(location.hash);
  if (!match) return false;
  setToken(decodeURIComponent(match[2]));
  let rest = location.hash.replace(match[0], match[1] === '&' ? '' : match[1]).replace(/[?&]$/, '');
  if (rest === '#' || rest === '') rest = '#/';
  history.replaceState(null, '', `${location.pathname}${location.search}${rest}`);
  return true;
}
