/** Named assets promoted from runs: each version with the run it came from and its files. */
import { getAsset, listAssets } from './api';
import { h, replace, section } from './dom';
import { formatBytes, formatDate } from './format';
import { href, Route } from './router';

export function assetsView(root: HTMLElement, route: Route): void {
  const name = route.query.get('name');
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const detail = h('div');
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Assets')), h('div', { class: 'two-col wide-right' }, section('All assets', list), detail));

  listAssets().then(
    (assets) => {
      if (!assets.length) return replace(list, h('p', { class: 'muted' }, 'No assets yet: promote a folder of a run’s artifacts from its page.'));
      replace(
        list,
        h(
          'ul',
          { class: 'asset-list' },
          assets.map((a) =>
            h('li', { class: a.name === name ? 'current' : '', 'data-asset': a.name }, h('a', { href: href(['assets'], { name: a.name }) }, a.name), h('span', { class: 'muted' }, ` v${a.latestVersion} · ${formatDate(a.updatedTime)}`)),
          ),
        ),
      );
    },
    (err: Error) => replace(list, h('p', { class: 'bad' }, err.message)),
  );

  if (!name) return;
  getAsset(name).then(
    (asset) =>
      replace(
        detail,
        section(
          asset.name,
          [...asset.versions]
            .sort((a, b) => b.version - a.version)
            .map((v) =>
              h(
                'div',
                { class: 'asset-version-block', 'data-version': v.version },
                h('h3', {}, `Version ${v.version}`),
                h('p', { class: 'muted' }, formatDate(v.createdTime), ' · from run ', h('a', { href: href(['runs', v.sourceRun]) }, v.sourceRun), ` · prefix ${v.prefix || '(everything)'}`),
                h('ul', { class: 'asset-files' }, v.files.map((f) => h('li', {}, h('span', { class: 'mono' }, f.path), h('span', { class: 'muted' }, formatBytes(f.size))))),
              ),
            ),
        ),
      ),
    (err: Error) => replace(detail, h('p', { class: 'bad' }, err.message)),
  );
}
