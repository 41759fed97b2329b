/**
 * Running mmdisco processes from the data-parallel tests: alone (without torchrun's environment) or as the ranks of
 * `mmdisco launch`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

export const MAIN = path.resolve(__dirname, '..', '..', 'ts', 'cli', 'main.js');
export const RANK_VARIABLES = ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'GROUP_RANK', 'MASTER_ADDR', 'MASTER_PORT'];

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** This process's environment without torchrun's variables (as for a process started on its own), plus `extra`. */
export function soloEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1' };
  for (const name of RANK_VARIABLES) delete env[name];
  return { ...env, ...extra };
}

/** Runs a process to completion; one still running after 90 s is killed (and then fails its test). */
export function run(program: string, args: string[], env: NodeJS.ProcessEnv, onStdout?: (text: string, child: ChildProcess) => void): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const deadline = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', () => clearTimeout(deadline));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

/** `mmdisco <words…>` as one process started on its own. */
export function mmdisco(words: string[]): Promise<Run> {
  return run(process.execPath, [MAIN, ...words], soloEnvironment());
}

/** `mmdisco launch --nproc N [--exec] -- <words…>`. */
export function launch(nproc: number, words: string[], opts: { exec?: boolean } = {}): Promise<Run> {
  return run(process.execPath, [MAIN, 'launch', '--nproc', String(nproc), ...(opts.exec ? ['--exec'] : []), '--', ...words], soloEnvironment());
}
