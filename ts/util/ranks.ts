/**
 * Which process of a data-parallel group this is, from torchrun's environment (set by `mmdisco launch`, torchrun or
 * any launcher that sets the same variables). Reading it needs no native code, so commands can decide early which
 * rank writes checkpoints, logs and reports: only rank 0 does; every rank computes.
 */

/** torchrun's variables for one process of a group on one host. */
export function torchrunEnvironment(opts: {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
}): Record<string, string> {
  return {
    RANK: String(opts.rank),
    LOCAL_RANK: String(opts.rank),
    WORLD_SIZE: String(opts.worldSize),
    LOCAL_WORLD_SIZE: String(opts.worldSize),
    GROUP_RANK: '0',
    MASTER_ADDR: opts.masterAddr,
    MASTER_PORT: String(opts.masterPort),
  };
}

/** A rank variable of the environment (RANK, LOCAL_RANK), 0 when unset. */
function rankVariable(name: 'RANK' | 'LOCAL_RANK', env: NodeJS.ProcessEnv): number {
  const text = env[name];
  if (text === undefined || text === '') return 0;
  const rank = Number(text);
  if (!Number.isInteger(rank) || rank < 0) throw new Error(`environment variable ${name}='${text}' is not a non-negative integer`);
  return rank;
}

/** This process's rank: RANK, or 0 when the process was not started as part of a group. */
export function processRank(env: NodeJS.ProcessEnv = process.env): number {
  return rankVariable('RANK', env);
}

/** True on the rank that writes checkpoints, logs and reports (rank 0, or a process started on its own). */
export function isMainRank(env: NodeJS.ProcessEnv = process.env): boolean {
  return processRank(env) === 0;
}

/** True when the process was started as one rank of a group (WORLD_SIZE is set). */
export function launchedAsGroup(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.WORLD_SIZE !== undefined && env.WORLD_SIZE !== '';
}

/**
 * Where this rank's models go: in a group, a CUDA device becomes cuda:LOCAL_RANK, one GPU per rank of a host as
 * with torchrun (and as the NCCL backend expects), whatever index was configured; any other device stays as given.
 */
export function rankDevice(device: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!launchedAsGroup(env) || !device.startsWith('cuda')) return device;
  return `cuda:${rankVariable('LOCAL_RANK', env)}`;
}

/** Set by `mmdisco launch` in each rank's environment: the launcher's pid; the rank's stdin is a pipe from it. */
export const LAUNCHER_PID_VARIABLE = 'MMDISCO_LAUNCHER_PID';

/**
 * In a rank started by `mmdisco launch`, exits when the launcher is gone, however it ended (kill -9 included):
 * the kernel closes the launcher's end of the rank's stdin, which the rank sees as its end. Ranks started by
 * torchrun or any other launcher keep that launcher's semantics (nothing is watched).
 */
export function exitWithLauncher(env: NodeJS.ProcessEnv = process.env): void {
  const launcher = env[LAUNCHER_PID_VARIABLE];
  if (!launcher) return;
  const stop = () => {
    process.stderr.write(`rank ${processRank(env)}: the launcher (pid ${launcher}) is gone; stopping\n`);
    process.exit(1);
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  // Watching must not keep a finished rank alive.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}
