/** `outpost assets list | show NAME`: promoted assets and their versions. */
import type { Command } from 'commander';
import type { AssetSummary, AssetVersion } from '../protocol';
import { formatBytes, formatTime } from './format-human';
import { formatTable } from './format-table';
import { ConnectionFlags, addConnectionOptions, printJson, withConnection } from './with-connection';

export function registerAssetsCommands(program: Command): void {
  const assets = program.command('assets').description('assets: run artifacts promoted under a name, versioned');

  addConnectionOptions(assets.command('list').description('every asset and its latest version')).action(async (opts: ConnectionFlags) =>
    withConnection(opts, async ({ api }) => {
      const { data } = await api.get<AssetSummary[]>('/assets');
      if (opts.json) return printJson(data);
      if (data.length === 0) return void process.stdout.write('no assets\n');
      const rows = data.map((a) => [a.name, String(a.latestVersion), String(a.versions), formatTime(a.updatedTime)]);
      process.stdout.write(formatTable(['NAME', 'LATEST', 'VERSIONS', 'UPDATED'], rows, { align: ['left', 'right', 'right'] }));
    }),
  );

  addConnectionOptions(assets.command('show').description("an asset's versions and their files").argument('<name>', 'asset name')).action(
    async (name: string, opts: ConnectionFlags) =>
      withConnection(opts, async ({ api }) => {
        const { data } = await api.get<{ name: string; versions: AssetVersion[] }>(`/assets/${encodeURIComponent(name)}`);
        if (opts.json) return printJson(data);
        const out: string[] = [`asset ${data.name} (${data.versions.length} version${data.versions.length === 1 ? '' : 's'})\n`];
        for (const v of [...data.versions].reverse()) {
          out.push(`\nversion ${v.version}  from run ${v.sourceRun}, prefix "${v.prefix}", ${formatTime(v.createdTime)}\n`);
          out.push(formatTable(['PATH', 'SIZE', 'SHA256'], v.files.map((f) => [f.path, formatBytes(f.size), f.sha256]), { indent: '  ', align: ['left', 'right'] }));
        }
        process.stdout.write(out.join(''));
      }),
  );
}
