/** The line a training command ends with on the main rank: what it trained, how fast, its last loss and where it is. */
import { isMainRank } from '../util/ranks';

export interface TrainingOutcome {
  steps: number;
  seconds: number;
  pairsPerSecond: number;
}

/** `lastLoss`: the loss to quote, by name, e.g. ['loss', 0.12] or ['bce', 0.65]. */
export function reportTraining(out: string, result: TrainingOutcome, lastLoss: [string, number]): void {
  if (!isMainRank()) return;
  if (result.steps === 0) {
    process.stderr.write(`the run in ${out} has already taken all its steps; nothing to train\n`);
    return;
  }
  process.stderr.write(
    `trained ${result.steps} steps in ${result.seconds.toFixed(0)} s (${result.pairsPerSecond.toFixed(1)} pairs/s), ` +
      `last ${lastLoss[0]} ${lastLoss[1].toFixed(4)}; checkpoint in ${out}\n`,
  );
}
