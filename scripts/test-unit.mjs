// `npm run test:unit`: the unit tests as two vitest runs side by side (ARCHITECTURE.md, "Testing on real WebGPU").
// lavapipe spends its time compiling kernels with LLVM, once per machine (Mesa's disk cache): two lavapipe files at
// once both compile the kernels they share, so the lavapipe project runs one file at a time, next to the swiftshader
// project's two workers, which get the lower CPU priority so the one lavapipe file at a time keeps a core. Arguments
// (file filters, `--reporter=verbose`) go to both runs. Plain Node, no dependencies; fails when either run fails.
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const vitest = ['node_modules/vitest/vitest.mjs', 'run', '--config', 'vitest.config.ts', '--passWithNoTests', ...args];
// One worker through VITEST_MAX_WORKERS: `--maxWorkers=1` on the command line does not reach a project, which keeps
// the config's `maxWorkers: 2` (vitest 4.1; two lavapipe files were seen running at once with it).
const runs = [
  { name: 'lavapipe', command: [process.execPath, ...vitest, '--project', 'lavapipe'], env: { VITEST_MAX_WORKERS: '1' } },
  { name: 'swiftshader', command: ['nice', '-n', '5', process.execPath, ...vitest, '--project', 'swiftshader'], env: {} },
];

const codes = await Promise.all(
  runs.map(
    ({ name, command, env }) =>
      new Promise((resolve) => {
        const [file, ...rest] = command;
        const child = spawn(file, rest, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
        child.on('error', (e) => {
          console.error(`test-unit: the ${name} run could not start: ${e.message}`);
          resolve(1);
        });
        child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      }),
  ),
);
for (const [i, code] of codes.entries()) if (code !== 0) console.error(`test-unit: the ${runs[i]?.name} run failed (exit ${code})`);
process.exit(codes.every((c) => c === 0) ? 0 : 1);
