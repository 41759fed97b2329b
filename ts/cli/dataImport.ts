/**
 * `data import-pairs`: real pairs for a joint base model, from paired tensors in a safetensors file, written as a
 * pair dataset in the joint model's layout (ts/guidance/jointPairs.ts) for `train-guidance --joint-base`.
 */
import type { Argv, CommandModule } from 'yargs';
import { loadJointBase } from '../base/jointBase';
import { importJointPairs } from '../guidance/jointPairs';
import { outputDirectory } from './paths';

interface ImportPairsArgs {
  from: string;
  'joint-base': string;
  out: string;
  name?: string;
  split: string;
}

export const dataImportPairsCommand: CommandModule<object, ImportPairsArgs> = {
  command: 'import-pairs',
  describe:
    'Import paired tensors for a joint base model: a safetensors file with float32 `audio` (N, joint.json\'s audio ' +
    'shape) and `video` (N, its video shape) in [−1, 1], checked against --joint-base and written as Arrow shards in ' +
    'its layout (the real pairs of `train-guidance --joint-base`)',
  builder: (y: Argv) =>
    y
      .option('from', { type: 'string', demandOption: true, describe: 'safetensors file with tensors audio and video, one row per pair' })
      .option('joint-base', { type: 'string', demandOption: true, describe: 'joint base model directory (joint.json) whose shapes the pairs must have' })
      .option('out', { type: 'string', demandOption: true, describe: 'dataset directory to write', coerce: outputDirectory('--out') })
      .option('name', { type: 'string', describe: "dataset name in index.json (default: the file's name)" })
      .option('split', { type: 'string', default: 'real', describe: 'split name in index.json' }) as unknown as Argv<ImportPairsArgs>,
  handler: async (args) => {
    const base = await loadJointBase(args['joint-base']);
    const index = await importJointPairs({ from: args.from, base, out: args.out, name: args.name, split: args.split });
    process.stderr.write(`wrote ${index.pairs} pairs to ${args.out}\n`);
  },
};
