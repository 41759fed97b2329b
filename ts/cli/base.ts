/**
 * `train-base` and `sample-base`: the single-modal base diffusion models (audio log-mel U-Net, video "2d+1d" U-Net).
 */
import type { Argv, CommandModule } from 'yargs';
import { type Modality, MODALITIES } from '../core/modality';
import { sampleBase, SAMPLER_OPTION } from '../base/sample';
import type { Sampler } from '../core/samplers';
import { trainBase } from '../base/train';
import { hasTrainingState, readBaseCheckpoint } from '../checkpoint/baseCheckpoint';
import { BaseModelConfigSchema } from '../config/baseModel';
import { ConfigError, loadConfig } from '../config/load';
import { outputDirectory } from './paths';
import { reportTraining } from './trainingSummary';

interface TrainArgs {
  modality: Modality;
  data?: string;
  config?: string;
  out: string;
  resume: boolean;
  set: string[];
  'max-steps'?: number;
}

export const trainBaseCommand: CommandModule<object, TrainArgs> = {
  command: 'train-base',
  describe:
    'Train a base diffusion model (ε-prediction U-Net with EMA) on one modality of a dataset; writes config.json, ' +
    'normalisation.json, weights.safetensors (EMA), state.bin and log.jsonl to --out, and resumes exactly with --resume. ' +
    'Data-parallel under `mmdisco launch --nproc N`: training.batchSize is the global batch (a multiple of N), each ' +
    'rank trains on its share, and rank 0 writes the checkpoint',
  builder: (y: Argv) =>
    y
      .option('modality', { choices: MODALITIES, demandOption: true, describe: 'which modality of the pairs to model' })
      .option('data', { type: 'string', describe: 'training dataset directory (Arrow shards); required unless resuming' })
      .option('config', { type: 'string', describe: 'base-model config (configs/base/*.json); required unless resuming' })
      .option('out', { type: 'string', demandOption: true, describe: 'checkpoint directory', coerce: outputDirectory('--out') })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out from its state.bin' })
      .option('set', { type: 'string', array: true, default: [], describe: 'config override key.path=value (repeatable)' })
      .option('max-steps', { type: 'number', describe: 'stop this invocation after N steps (the run can be resumed)' }) as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const resuming = args.resume && hasTrainingState(args.out);
    if (resuming) {
      const stored = readBaseCheckpoint(args.out);
      if (stored.modality !== args.modality) {
        throw new ConfigError(`${args.out}: holds a ${stored.modality} model, not --modality ${args.modality}`);
      }
    }
    const config = args.config ? loadConfig(BaseModelConfigSchema, args.config, args.set) : undefined;
    if (config && config.modality !== args.modality) {
      throw new ConfigError(`${args.config}: modality is '${config.modality}' but --modality is '${args.modality}'`);
    }
    if (!resuming && (!config || !args.data)) {
      throw new ConfigError(`train-base needs --config and --data${args.resume ? ` (${args.out} holds no training state to resume)` : ' (or --resume)'}`);
    }
    const result = await trainBase({
      out: args.out,
      config,
      dataDir: args.data,
      resume: args.resume,
      overrides: resuming ? args.set : [],
      maxStepsThisRun: args['max-steps'],
    });
    reportTraining(args.out, result, ['loss', result.finalLoss]);
  },
};

interface SampleArgs {
  modality: Modality;
  ckpt: string;
  n: number;
  sampler: Sampler;
  steps: number;
  seed: number;
  out: string;
  device?: string;
  threads?: number;
}

export const sampleBaseCommand: CommandModule<object, SampleArgs> = {
  command: 'sample-base',
  describe:
    'Sample a trained base model: samples.safetensors (stored layout), plus a PNG grid and mp4s for video, or ' +
    'mel images and Griffin-Lim wavs for audio',
  builder: (y: Argv) =>
    y
      .option('modality', { choices: MODALITIES, demandOption: true, describe: 'modality of the checkpoint' })
      .option('ckpt', { type: 'string', demandOption: true, describe: 'checkpoint directory written by train-base' })
      .option('n', { type: 'number', default: 16, describe: 'number of samples' })
      .option('sampler', SAMPLER_OPTION)
      .option('steps', { type: 'number', default: 50, describe: 'sampling steps' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of the initial noise and sampler noise' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory', coerce: outputDirectory('--out') })
      .option('device', { type: 'string', describe: "override the checkpoint's device (cpu, cuda[:N])" })
      .option('threads', { type: 'number', describe: 'intra-op threads' })
      .check((a) => {
        for (const key of ['n', 'steps'] as const) {
          if (!Number.isInteger(a[key]) || a[key] < 1) throw new Error(`--${key} must be a positive integer`);
        }
        return true;
      }) as unknown as Argv<SampleArgs>,
  handler: async (args) => {
    const written = await sampleBase({
      ckpt: args.ckpt,
      modality: args.modality,
      n: args.n,
      sampler: args.sampler,
      steps: args.steps,
      seed: args.seed,
      out: args.out,
      placement: { device: args.device, threads: args.threads },
    });
    process.stderr.write(`wrote ${written.join(', ')}\n`);
  },
};
