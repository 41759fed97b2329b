import { spawn } from 'node:child_process';

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
}

export interface ToolOptions {
  /** Written to the tool's stdin, which is then closed. */
  stdin?: Buffer;
  /** The tool's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs an external media tool (ffmpeg, sox, espeak-ng, flite, ...) to completion. A missing binary and a
 * non-zero exit both raise an error that names the tool, its arguments and what it printed.
 */
export function runTool(tool: string, args: string[], options: ToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new Error(`${tool} is not installed or not on PATH (needed for: ${tool} ${args.join(' ')}); see setup.sh`));
      } else {
        reject(new Error(`${tool} could not start: ${e.message}`));
      }
    });
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else reject(new Error(`${tool} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-2000)}`));
    });
    // The tool may exit before reading its input (e.g. on a bad argument); that is reported by 'close'.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin);
  });
}

/** Runs `jobs` with at most `limit` in flight; results keep the input order. */
export async function runLimited<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
