/**
 * Data-parallel training over several processes with c10d (Gloo on CPU, NCCL on CUDA). Start the processes with
 * `mmdisco launch --nproc N -- <command>` (or torchrun, or anything that sets torchrun's environment), join the group
 * in each, attach it to the trainer, and let only the main rank write:
 *
 *   const group = await joinProcessGroup();
 *   await model.setDataParallel(group);
 *   ... model.trainSteps(this rank's rows of each global batch, batchSize / group.worldSize) ...
 *   if (isMainRank()) writeCheckpoint(...);
 */
import { native, type ProcessGroup, type ProcessGroupOptions } from './native';

export { isMainRank, launchedAsGroup, processRank } from './util/ranks';

/** Joins the group described by `options` and the environment; resolves once every rank has joined. */
export async function joinProcessGroup(options: ProcessGroupOptions = {}): Promise<ProcessGroup> {
  const group = new native.ProcessGroup(options);
  await group.connect();
  return group;
}
