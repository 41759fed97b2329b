/**
 * The results table of MMDisCo on a paired dataset (ts/pipeline/results.ts): the command line that runs it and
 * writes bench/results/guidance-<config name>-<host>.json and .md (see machine.ts).
 *
 *   node dist/bench/guidanceResults.js --config configs/results/spoken-mnist.json [--work runs/results-spoken-mnist]
 *       [--device cuda] [--set evaluation.n=64] [--guidance-set training.steps=500] [--variants NAME…] [--train-only]
 *
 * Every stage writes into --work and is skipped when its output is complete there (fakes, each training run, each
 * sample set), so an interrupted run continues where it stopped. Paths in the config are relative to the
 * repository root.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { buildDataset } from '../datasets/build';
import { loadConfig } from '../ts/config/load';
import { resolveUnit } from '../ts/core/unit';
import { ResultsConfigSchema, runResults } from '../ts/pipeline/results';
import { writeBenchResult } from './machine';

const ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .usage(
      '$0 --config configs/results/<dataset>.json\n\nThe results table of MMDisCo on a dataset: independent sampling vs each ' +
        'discriminator variant over a λ sweep, scored by the evaluators. Stages already complete in --work are skipped.',
    )
    .option('config', { type: 'string', demandOption: true, describe: 'results config (configs/results/*.json)' })
    .option('work', { type: 'string', describe: 'working directory (default runs/results-<dataset>)' })
    .option('set', { type: 'string', array: true, default: [], describe: 'results config override key.path=value' })
    .option('guidance-set', { type: 'string', array: true, default: [], describe: 'override applied to every variant\'s guidance config' })
    .option('device', { type: 'string', describe: 'run everything on this device (cpu, cuda[:N]) instead of the configs\' devices' })
    .option('variants', {
      type: 'string',
      array: true,
      describe:
        'train and sample only these variants (the table lists them next to the real and independent rows); with no ' +
        'names, only the shared stages: real data, fakes and the independent set. Processes given different variants ' +
        'can share one --work',
    })
    .option('train-only', { type: 'boolean', default: false, describe: 'stop once the (selected) variants are trained' })
    .strict()
    .parse();
  const config = loadConfig(ResultsConfigSchema, args.config, args.set);
  // Named after the config file: configs/results/spoken-mnist-class.json → runs/results-spoken-mnist-class.
  const resultsName = path.basename(args.config, '.json');
  const table = await runResults({
    config,
    configFile: args.config,
    work: args.work ?? path.join(ROOT, 'runs', `results-${resultsName}`),
    root: ROOT,
    buildReal: async (real) => {
      await buildDataset({ ...real, preset: 'small', unit: resolveUnit('small'), overwrite: true });
    },
    guidanceSet: args['guidance-set'],
    device: args.device,
    variants: args.variants,
    trainOnly: args['train-only'],
  });
  if (!table) return;
  const file = await writeBenchResult(`guidance-${resultsName}`, table.result);
  writeFileSync(file.replace(/\.json$/, '.md'), table.markdown);
  console.log(table.markdown);
  console.log(`wrote ${file} and .md`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
