/**
 * The run folder, in one module: its layout (layout.ts), the atomic writes every file of it gets
 * (atomic-file.ts), and each file's reader and writer: run.json (run-folder.ts), agent.json
 * (presence.ts), the checkpoint and ack watermark (checkpoint.ts), the sources' positions (sources-checkpoint.ts), files.json (files-state.ts), its resumable uploads (uploads-state.ts),
 * exit.json and final.json (run-end.ts). The agent, the CLI and the TypeScript logger use it.
 */
export * from './layout';
export * from './project-dir';
export * from './atomic-file';
export * from './run-folder';
export * from './presence';
export * from './checkpoint';
export * from './sources-checkpoint';
export * from './files-state';
export * from './uploads-state';
export * from './run-end';
