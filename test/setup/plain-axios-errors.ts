/**
 * A failing request's AxiosError holds its socket and request (a circular structure): a jest
 * worker cannot send it back to the parent, crashes, and the suite is silently run again. Tests
 * get a plain Error naming the request and the answer instead.
 */
import axios, { isAxiosError } from 'axios';

axios.interceptors.response.use(undefined, (err: unknown) => {
  if (!isAxiosError(err)) return Promise.reject(err);
  const where = `${err.config?.method?.toUpperCase() ?? 'GET'} ${err.config?.url ?? ''}`;
  const body = err.response?.data === undefined ? '' : ` ${JSON.stringify(err.response.data).slice(0, 500)}`;
  const plain = new Error(`${where}: ${err.response ? `HTTP ${err.response.status}` : err.code ?? err.message}${body}`);
  return Promise.reject(Object.assign(plain, { status: err.response?.status }));
});
