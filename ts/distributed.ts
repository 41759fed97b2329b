/**
 * Data-parallel commands over several processes with c10d (Gloo on CPU, NCCL on CUDA). Start the processes with
 * `mmdisco launch --nproc N -- <command>` (or torchrun, or anything that sets torchrun's environment). A command
 * joins through joinRanks, which without that environment is a group of one that needs no c10d, so the same code
 * runs alone and in a group:
 *
 *   const ranks = await joinRanks(device);
 *   const share = ranks.readerShare(config.batchSize, 'training.batchSize');
 *   const reader = new ShardReader(dir, { ...share, seed });
 *   await ranks.attach(model);
 *   ... model.trainSteps(this rank's rows of each global batch, share.batchSize) ...
 *   if (ranks.isMain) writeCheckpoint(...);
 *
 * Every rank reads the same files (config, resume state) and computes; only the main rank writes checkpoints, logs
 * and datasets (the ranks of one host share its filesystem).
 */
import type { ShardReaderOptions } from './data';
import { ConfigError } from './config/load';
import { type DataParallelTrainer, type FloatArray, native, type ProcessGroup, type ProcessGroupOptions, type Tensor } from './native';
import { launchedAsGroup, rankDevice } from './util/ranks';

export { isMainRank, launchedAsGroup, processRank, rankDevice } from './util/ranks';

/** Joins the group described by `options` and the environment; resolves once every rank has joined. */
export async function joinProcessGroup(options: ProcessGroupOptions = {}): Promise<ProcessGroup> {
  const group = new native.ProcessGroup(options);
  await group.connect();
  return group;
}

/** This process's part of a command: one rank of a data-parallel group, or the whole command when alone. */
export class Ranks {
  readonly rank: number;
  readonly worldSize: number;

  constructor(readonly group?: ProcessGroup) {
    this.rank = group?.rank ?? 0;
    this.worldSize = group?.worldSize ?? 1;
  }

  /** The rank that writes checkpoints, logs and datasets. */
  get isMain(): boolean {
    return this.rank === 0;
  }

  /**
   * ShardReader options that give this rank its rows of every global batch of `globalBatch` pairs (batchSize is this
   * rank's share): the ranks together read the one stream a single process reads. `field` is the config field that
   * sets the global batch, which must divide equally.
   */
  readerShare(globalBatch: number, field: string): Required<Pick<ShardReaderOptions, 'batchSize' | 'rank' | 'worldSize'>> {
    if (globalBatch % this.worldSize !== 0) {
      throw new ConfigError(
        `${field} = ${globalBatch} is the global batch, shared equally by the ${this.worldSize} ranks: it must be a multiple of ${this.worldSize}`,
      );
    }
    return { batchSize: globalBatch / this.worldSize, rank: this.rank, worldSize: this.worldSize };
  }

  /** Of the work items 0 … count−1, the ones this rank does: rank, rank + worldSize, … */
  itemsOf(count: number): number[] {
    const items: number[] = [];
    for (let item = this.rank; item < count; item += this.worldSize) items.push(item);
    return items;
  }

  /** Makes `trainer` average its gradients over the ranks (collective: every rank attaches its trainers in the same order). */
  async attach(trainer: DataParallelTrainer): Promise<void> {
    if (this.group) await trainer.setDataParallel(this.group);
  }

  /** Element-wise sum of `values` over the ranks (collective). */
  async sum<A extends FloatArray>(values: Tensor<A>): Promise<Tensor<A>> {
    return this.group ? (await this.group.allreduce(values)).values : values;
  }

  /** Element-wise mean of `values` over the ranks (collective): e.g. the global batch's loss from the ranks' losses. */
  async mean<A extends FloatArray>(values: Tensor<A>): Promise<Tensor<A>> {
    return this.group ? (await this.group.allreduce(values, 'mean')).values : values;
  }

  /** Resolves once every rank has got here. */
  async barrier(): Promise<void> {
    if (this.group) await this.group.barrier();
  }
}

/**
 * Joins the data-parallel group when the process was launched as one (launchedAsGroup), with NCCL when this rank's
 * models are on CUDA (`device`, as configured) and Gloo otherwise; alone, a group of one. A collective waits
 * `collectiveTimeoutS` (the config's runtime.collectiveTimeoutS), else the launcher's --collective-timeout, else
 * 300 s for a rank that stopped answering, then fails naming it.
 */
export async function joinRanks(device = 'cpu', collectiveTimeoutS?: number): Promise<Ranks> {
  if (!launchedAsGroup()) return new Ranks();
  const timeoutS = collectiveTimeoutS ?? launchCollectiveTimeoutS();
  return new Ranks(
    await joinProcessGroup({
      backend: rankDevice(device).startsWith('cuda') ? 'nccl' : 'gloo',
      timeoutMs: Math.round(timeoutS * 1000),
    }),
  );
}

/** Set by `mmdisco launch --collective-timeout S` for its ranks. */
export const COLLECTIVE_TIMEOUT_VARIABLE = 'MMDISCO_COLLECTIVE_TIMEOUT_S';
/** How long a collective waits for a rank that stopped answering before the group fails naming it. */
export const DEFAULT_COLLECTIVE_TIMEOUT_S = 300;

function launchCollectiveTimeoutS(): number {
  const text = process.env[COLLECTIVE_TIMEOUT_VARIABLE];
  if (text === undefined || text === '') return DEFAULT_COLLECTIVE_TIMEOUT_S;
  const seconds = Number(text);
  if (!(seconds > 0)) throw new Error(`environment variable ${COLLECTIVE_TIMEOUT_VARIABLE}='${text}' is not a positive number of seconds`);
  return seconds;
}
