/**
 * Servers for the demo's browser tests, configured exactly like the user's commands: `npm start` (the Vite
 * dev server with vite.config.ts, root demo/, after the prestart export of the default model) and
 * `npm run build` + `vite preview`. Each also counts the requests it receives (the offline test checks that
 * a reload reaches no server).
 */
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createServer, preview } from 'vite';
import { REPO_ROOT } from './harness';

const CONFIG_FILE = join(REPO_ROOT, 'vite.config.ts');

export interface DemoServer {
  readonly baseUrl: string;
  /** URL paths requested so far (the test may empty the array). */
  readonly requests: string[];
  close(): Promise<void>;
}

/** The `prestart`/`prebuild` step: exports the default model package unless it is up to date. */
export function ensureDefaultModel(): void {
  execFileSync(join(REPO_ROOT, 'node_modules/.bin/vite-node'), ['scripts/ensure-default-model.ts'], { cwd: REPO_ROOT, stdio: 'pipe' });
}

function portOf(server: Server | null | undefined): number {
  const address = server?.address();
  if (!address || typeof address === 'string') throw new Error('demo server has no port');
  return address.port;
}

function countRequests(server: Server | null | undefined, requests: string[]): void {
  server?.on('request', (req: { url?: string }) => requests.push(req.url ?? ''));
}

/** `npm start`: the dev server on a free port. */
export async function startDevServer(): Promise<DemoServer> {
  ensureDefaultModel();
  const server = await createServer({ configFile: CONFIG_FILE, server: { port: 0, strictPort: false }, logLevel: (process.env.DEMO_VITE_LOG as 'info' | undefined) ?? 'warn', clearScreen: false });
  await server.listen();
  const requests: string[] = [];
  countRequests(server.httpServer as Server | null, requests);
  return { baseUrl: `http://localhost:${portOf(server.httpServer as Server | null)}`, requests, close: () => server.close() };
}

/** `npm run build` into `outDir`, then `vite preview` of it on a free port. */
export async function startPreviewServer(outDir: string): Promise<DemoServer> {
  ensureDefaultModel();
  // A child process like `npm run build`: inside vitest NODE_ENV is 'test', and an in-process build would be
  // a non-production bundle (import.meta.env.PROD false, so no service worker registration).
  const env = { ...process.env };
  delete env.NODE_ENV;
  execFileSync(join(REPO_ROOT, 'node_modules/.bin/vite'), ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: REPO_ROOT, env, stdio: 'pipe' });
  const server = await preview({ configFile: CONFIG_FILE, preview: { port: 0, strictPort: false }, build: { outDir }, logLevel: 'warn' });
  const requests: string[] = [];
  countRequests(server.httpServer as Server, requests);
  return {
    baseUrl: `http://localhost:${portOf(server.httpServer as Server)}`,
    requests,
    close: () => new Promise<void>((resolve) => server.httpServer.close(() => resolve())),
  };
}
