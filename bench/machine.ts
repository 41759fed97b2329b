/**
 * What every benchmark result carries: the machine it ran on, and where results files go; and the small helpers the
 * benchmarks share.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native } from '../ts/native';
import { writeJsonAtomic } from '../ts/core/atomicWrite';

export interface MachineDescription {
  host: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  torch: string;
  cudaDevices: number;
  platform: string;
  /** Other work on a shared machine skews timings: the 1-minute load average when the description was taken. */
  loadAverage1m: number;
  date: string;
}

export function describeMachine(): MachineDescription {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const match = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) cpu = match[1].trim();
  } catch {
    // not Linux: os.cpus() already gave the model
  }
  const info = native.runtimeInfo();
  return {
    host: os.hostname(),
    cpu,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    torch: info.torchVersion,
    cudaDevices: info.cudaDevices,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage1m: os.loadavg()[0],
    date: new Date().toISOString(),
  };
}

/** Writes bench/results/<name>-<host>.json (or under $MMDISCO_BENCH_OUT, or to `file`) and returns the path. */
export async function writeBenchResult(name: string, result: object, file?: string): Promise<string> {
  const dir = process.env.MMDISCO_BENCH_OUT ?? path.resolve(__dirname, '..', '..', 'bench', 'results');
  file ??= path.join(dir, `${name}-${os.hostname()}.json`);
  await writeJsonAtomic(file, { machine: describeMachine(), ...result });
  return file;
}

/** The Python that runs the eager references: $MMDISCO_PYTHON (a GPU machine's own), else the repo's .venv, else python3. */
export function referencePython(): string {
  if (process.env.MMDISCO_PYTHON) return process.env.MMDISCO_PYTHON;
  const venv = path.resolve(__dirname, '..', '..', '.venv', 'bin', 'python3');
  return existsSync(venv) ? venv : 'python3';
}

/** One side of a side-by-side bench in a process of its own; its result is the JSON of the last line it prints. */
export function runSide<T>(command: string, args: string[]): T {
  const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median wall time in ms of `repeats` awaited calls of fn, after `warmup` calls left untimed. */
export async function medianMs(fn: () => Promise<unknown>, repeats: number, warmup = 1): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const start = process.hrtime.bigint();
    await fn();
    if (i >= warmup) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

/** A yargs coerce for a flag given as positive integers separated by commas (e.g. --ranks 1,2,4,8). */
export const numberList = (flag: string) => (value: string | number) => {
  const values = String(value).split(',').map(Number);
  if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${flag}: positive integers separated by commas, got ${value}`);
  return values;
};
