/**
 * `mmdisco launch --nproc N -- <mmdisco command…>`: starts N processes of one data-parallel group on this host with
 * torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), prefixes their output with the
 * rank, and fails as a whole: when one rank exits non-zero the others are stopped and launch exits 1 naming it;
 * when launch itself dies, its ranks follow (exitWithLauncher).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Argv, CommandModule } from 'yargs';
import { COLLECTIVE_TIMEOUT_VARIABLE, DEFAULT_COLLECTIVE_TIMEOUT_S } from '../distributed';
import { LAUNCHER_PID_VARIABLE, torchrunEnvironment } from '../util/ranks';

export interface LaunchOptions {
  nproc: number;
  masterAddr: string;
  /** 0: a free port. */
  masterPort: number;
  program: string;
  args: string[];
  /** Extra environment for every rank. */
  env?: Record<string, string>;
  /** Where the ranks' output lines go (default: this process's stdout/stderr, prefixed "[rank N] "). */
  onLine?: (rank: number, stream: 'stdout' | 'stderr', line: string) => void;
  /** How long a stopped rank gets between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  /** Seconds a collective waits for a rank that stopped answering (the ranks' default; a config may set its own). */
  collectiveTimeoutS?: number;
}

export interface RankExit {
  rank: number;
  pid?: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: string;
}

export interface LaunchResult {
  masterPort: number;
  exits: RankExit[];
  /** The first rank that failed; undefined when all exited 0. */
  failed?: RankExit;
  /** The ranks still running when one failed, which launch then stopped. */
  stopped: number[];
}

/** Runs one group of `nproc` ranks to completion. */
export async function launchRanks(opts: LaunchOptions): Promise<LaunchResult> {
  if (!Number.isInteger(opts.nproc) || opts.nproc < 1) throw new Error(`launch: --nproc must be a positive integer, got ${opts.nproc}`);
  const masterPort = opts.masterPort || (await freePort(opts.masterAddr));
  const threads = defaultThreadsPerRank(opts.nproc);
  const exits: RankExit[] = [];
  let failed: RankExit | undefined;
  const running = new Map<ChildProcess, number>();
  const stopped: number[] = [];
  const killTimers: NodeJS.Timeout[] = [];

  const stopOthers = () => {
    stopped.push(...running.values());
    for (const child of running.keys()) child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const child of running.keys()) child.kill('SIGKILL');
    }, opts.killGraceMs ?? 5000);
    killTimers.push(timer);
  };
  // Ctrl-C or a SIGTERM to the launcher reaches every rank; each then exits and is reported as usual.
  const forward = (signal: NodeJS.Signals) => () => {
    for (const child of running.keys()) child.kill(signal);
  };
  const onSigint = forward('SIGINT');
  const onSigterm = forward('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);

  const finished = Array.from({ length: opts.nproc }, (_, rank) => {
    const env = {
      ...process.env,
      ...(threads !== undefined ? { OMP_NUM_THREADS: String(threads) } : {}),
      ...opts.env,
      ...torchrunEnvironment({ rank, worldSize: opts.nproc, masterAddr: opts.masterAddr, masterPort }),
      [LAUNCHER_PID_VARIABLE]: String(process.pid),
      ...(opts.collectiveTimeoutS !== undefined ? { [COLLECTIVE_TIMEOUT_VARIABLE]: String(opts.collectiveTimeoutS) } : {}),
    };
    // Rank 0 keeps the terminal for its progress bar; everything else is prefixed with its rank.
    const passStderr = rank === 0 && process.stderr.isTTY && !opts.onLine;
    // stdin is a pipe that is never written: its end tells the rank that the launcher is gone (exitWithLauncher).
    const child = spawn(opts.program, opts.args, { env, stdio: ['pipe', 'pipe', passStderr ? 'inherit' : 'pipe'] });
    running.set(child, rank);
    const emit = opts.onLine ?? ((r, stream, line) => (stream === 'stdout' ? process.stdout : process.stderr).write(`[rank ${r}] ${line}\n`));
    if (child.stdout) readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => emit(rank, 'stdout', line));
    if (child.stderr) readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => emit(rank, 'stderr', line));
    return new Promise<void>((resolve) => {
      const done = (exit: RankExit) => {
        if (!running.delete(child)) return;
        exits.push(exit);
        if (!failed && (exit.code !== 0 || exit.error)) {
          failed = exit;
          stopOthers();
        }
        resolve();
      };
      child.on('error', (e) => done({ rank, pid: child.pid, code: null, signal: null, error: e.message }));
      child.on('close', (code, signal) => done({ rank, pid: child.pid, code, signal }));
    });
  });
  try {
    await Promise.all(finished);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    for (const timer of killTimers) clearTimeout(timer);
  }
  exits.sort((a, b) => a.rank - b.rank);
  return { masterPort, exits, failed, stopped: stopped.sort((a, b) => a - b) };
}

/** What happened to a rank, in words. */
export function describeExit(exit: RankExit): string {
  const who = `rank ${exit.rank}${exit.pid !== undefined ? ` (pid ${exit.pid})` : ''}`;
  if (exit.error) return `${who} could not start: ${exit.error}`;
  return exit.signal ? `${who} was killed by ${exit.signal}` : `${who} exited with code ${exit.code}`;
}

/**
 * Like torchrun: when several ranks share this host and OMP_NUM_THREADS is not set, each gets an equal share of the
 * cores instead of all of them (oversubscription makes data-parallel CPU training slower than one process).
 */
function defaultThreadsPerRank(nproc: number): number | undefined {
  if (nproc < 2 || process.env.OMP_NUM_THREADS) return undefined;
  return Math.max(1, Math.floor(os.availableParallelism() / nproc));
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface LaunchArgs {
  nproc: number;
  'master-addr': string;
  'master-port': number;
  exec: boolean;
  'collective-timeout'?: number;
  '--'?: (string | number)[];
}

export const launchCommand: CommandModule<object, LaunchArgs> = {
  command: 'launch',
  describe:
    'Run an mmdisco command as N data-parallel processes on this host: each gets torchrun\'s environment (RANK, ' +
    'WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and joins one c10d group; output lines are prefixed with the ' +
    'rank; if one rank fails the others are stopped and launch exits 1 naming it. Processes started by another ' +
    'launcher with the same environment join the same way.',
  builder: (y: Argv) =>
    y
      .parserConfiguration({ 'populate--': true })
      .usage('$0 launch --nproc N [--master-port P] -- <mmdisco command…>')
      .option('nproc', { type: 'number', demandOption: true, describe: 'number of processes (ranks)' })
      .option('master-addr', { type: 'string', default: '127.0.0.1', describe: 'address of rank 0, which hosts the rendezvous store' })
      .option('master-port', { type: 'number', default: 0, describe: 'port of the rendezvous store (0: a free port)' })
      .option('collective-timeout', {
        type: 'number',
        describe: `seconds a collective waits for a rank that stopped answering before the group fails naming it (default ${DEFAULT_COLLECTIVE_TIMEOUT_S}; a config's runtime.collectiveTimeoutS takes precedence)`,
      })
      .check((a) => {
        const t = a['collective-timeout'];
        if (t !== undefined && !(t > 0)) throw new Error(`--collective-timeout must be a positive number of seconds, got ${t}`);
        return true;
      })
      .option('exec', {
        type: 'boolean',
        default: false,
        describe: 'run the words after -- as a program (e.g. node script.js) instead of an mmdisco command',
      })
      .example('$0 launch --nproc 2 -- train-base --modality audio --data D --config F --out O', 'two CPU ranks') as Argv<LaunchArgs>,
  handler: async (args) => {
    const words = (args['--'] ?? []).map(String);
    if (words.length === 0) throw new Error('launch: give the command to run after --, e.g. mmdisco launch --nproc 2 -- <mmdisco command>');
    const [program, ...programArgs] = args.exec ? words : [process.execPath, path.join(__dirname, 'main.js'), ...words];
    const result = await launchRanks({
      nproc: args.nproc,
      masterAddr: args['master-addr'],
      masterPort: args['master-port'],
      program,
      args: programArgs,
      collectiveTimeoutS: args['collective-timeout'],
    });
    if (result.failed) {
      const { stopped } = result;
      console.error(
        `launch: ${describeExit(result.failed)}` + (stopped.length ? `; stopped rank${stopped.length > 1 ? 's' : ''} ${stopped.join(', ')}` : ''),
      );
      process.exitCode = 1;
    }
  },
};
