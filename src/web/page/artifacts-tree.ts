/** The run's files as a folder tree with sizes and download links; a folder's "promote" fills the form. */
import type { ArtifactInfo } from '../../protocol/api-types';
import { artifactUrl } from './api';
import { h } from './dom';
import { formatBytes, formatDate } from './format';

interface Folder {
  name: string;
  path: string; // with a trailing "/"
  folders: Map<string, Folder>;
  files: ArtifactInfo[];
  size: number;
  count: number;
}

export function buildTree(artifacts: ArtifactInfo[]): Folder {
  const root: Folder = { name: '', path: '', folders: new Map(), files: [], size: 0, count: 0 };
  for (const a of artifacts) {
    const parts = a.path.split('/');
    let dir = root;
    dir.size += a.size;
    dir.count++;
    for (const part of parts.slice(0, -1)) {
      let next = dir.folders.get(part);
      if (!next) dir.folders.set(part, (next = { name: part, path: `${dir.path}${part}/`, folders: new Map(), files: [], size: 0, count: 0 }));
      dir = next;
      dir.size += a.size;
      dir.count++;
    }
    dir.files.push(a);
  }
  return root;
}

export function artifactsTree(runId: string, artifacts: ArtifactInfo[], onPromote: (prefix: string) => void): HTMLElement {
  if (artifacts.length === 0) return h('p', { class: 'muted' }, 'No artifacts yet.');
  const root = buildTree(artifacts);
  const total = h('p', { class: 'muted' }, `${root.count.toLocaleString('en-US')} file${root.count === 1 ? '' : 's'}, ${formatBytes(root.size)}`);
  return h('div', { class: 'tree' }, total, folderBody(runId, root, 0, onPromote));
}

function folderBody(runId: string, folder: Folder, depth: number, onPromote: (prefix: string) => void): HTMLElement {
  const folders = [...folder.folders.values()].sort((a, b) => a.name.localeCompare(b.name));
  const files = [...folder.files].sort((a, b) => a.path.localeCompare(b.path));
  return h(
    'ul',
    {},
    folders.map((f) =>
      h(
        'li',
        {},
        h(
          'details',
          { open: depth < 2 && f.count <= 200 },
          h(
            'summary',
            { 'data-folder': f.path },
            h('span', { class: 'tree-name' }, `${f.name}/`),
            h('span', { class: 'tree-meta' }, `${f.count} · ${formatBytes(f.size)}`),
            h('button', { type: 'button', class: 'link-button', title: `promote ${f.path} to a named asset`, onclick: (e: Event) => (e.preventDefault(), onPromote(f.path)) }, 'promote'),
          ),
          folderBody(runId, f, depth + 1, onPromote),
        ),
      ),
    ),
    files.map((a) => {
      const name = a.path.slice(a.path.lastIndexOf('/') + 1);
      return h(
        'li',
        { class: 'tree-file' },
        h('a', { href: artifactUrl(runId, a.path), download: name, 'data-download': a.path, title: `sha256 ${a.sha256}` }, name),
        h('span', { class: 'tree-meta', title: formatDate(a.time) }, formatBytes(a.size), a.versions > 1 ? ` · v${a.versions}` : ''),
      );
    }),
  );
}
