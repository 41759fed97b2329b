/**
 * `eval train-evaluators`, `eval pairs`, `eval calibrate` and `eval discriminator`: the evaluator classifiers, the
 * fidelity and alignment metrics of a set of audio-video pairs, and what a trained discriminator tells apart.
 */
import type { Argv, CommandModule } from 'yargs';
import { readIndex } from '../data';
import type { DatasetOutputs, EvaluatorSet } from '../eval/evaluators';
import { calibrate, pairSetMetrics } from '../eval/pairMetrics';
import { writeJsonAtomic } from '../core/atomicWrite';
import { startProgress } from '../util/progress';
import { outputDirectory, outputFile } from './paths';

interface TrainArgs {
  data: string;
  test: string;
  out: string;
  epochs: number;
  'batch-size': number;
  lr: number;
  seed: number;
  width: number;
  'feature-dim': number;
  threads: number;
  'gain-log': number;
  'mel-shift': number;
}

export const evalTrainEvaluatorsCommand: CommandModule<object, TrainArgs> = {
  command: 'train-evaluators',
  describe:
    'Train the audio (log-mel) and video classifiers of a dataset on its real train split, measure them on the test ' +
    'split, and write an evaluator directory (safetensors + evaluators.json + reference test features)',
  builder: (y: Argv) =>
    y
      .option('data', { type: 'string', demandOption: true, describe: 'train split dataset directory' })
      .option('test', { type: 'string', demandOption: true, describe: 'test split dataset directory (accuracy and reference features)' })
      .option('out', { type: 'string', demandOption: true, describe: 'evaluator directory to write', coerce: outputDirectory('--out') })
      .option('epochs', { type: 'number', default: 4, describe: 'passes over the train split' })
      .option('batch-size', { type: 'number', default: 64, describe: 'pairs per step' })
      .option('lr', { type: 'number', default: 2e-3, describe: 'AdamW learning rate' })
      .option('seed', { type: 'number', default: 0, describe: 'initialisation and shuffle seed' })
      .option('width', { type: 'number', default: 16, describe: 'channels of the first convolution' })
      .option('feature-dim', { type: 'number', default: 64, describe: 'penultimate feature size' })
      .option('threads', { type: 'number', default: 1, describe: 'intra-op threads per classifier (the two train side by side)' })
      .option('gain-log', { type: 'number', default: 1, describe: 'audio augmentation: random gain of e^±gain-log per example' })
      .option('mel-shift', { type: 'number', default: 2, describe: 'audio augmentation: random shift of up to this many mel bins' })
      .check((a) => {
        for (const flag of ['epochs', 'batch-size', 'width', 'feature-dim', 'threads'] as const) {
          if (!Number.isInteger(a[flag]) || a[flag] < 1) throw new Error(`--${flag} must be a positive integer`);
        }
        if (!(a.lr > 0)) throw new Error('--lr must be positive');
        if (!(a['gain-log'] >= 0)) throw new Error('--gain-log must be ≥ 0');
        if (!Number.isInteger(a['mel-shift']) || a['mel-shift'] < 0) throw new Error('--mel-shift must be a non-negative integer');
        return true;
      }) as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const { trainEvaluators } = await import('../eval/evaluators');
    let bar = startProgress('normalise log-mel', readIndex(args.data).pairs, 'pairs');
    let phase = 'normalise';
    const result = await trainEvaluators({
      trainDir: args.data,
      testDir: args.test,
      outDir: args.out,
      epochs: args.epochs,
      batchSize: args['batch-size'],
      lr: args.lr,
      seed: args.seed,
      width: args.width,
      featureDim: args['feature-dim'],
      threads: args.threads,
      augmentation: { gainLog: args['gain-log'], melShift: args['mel-shift'] },
      onStep: (step, total, losses) => {
        if (phase !== 'train') {
          bar.stop();
          bar = startProgress('train evaluators', total, 'steps', ['audio_loss', 'video_loss']);
          phase = 'train';
        }
        bar.update(1, { audio_loss: losses.audio, video_loss: losses.video });
      },
      onPhase: (next, pairs) => {
        if (next !== phase) {
          bar.stop();
          bar = startProgress(`${next} evaluators`, readIndex(args.test).pairs, 'pairs');
          phase = next;
        }
        bar.update(pairs);
      },
    });
    bar.stop();
    const { audio, video, training } = result.info;
    console.log(
      `wrote ${args.out}: test accuracy audio ${audio.testAccuracy.toFixed(3)}, video ${video.testAccuracy.toFixed(3)} ` +
        `(${String(training.steps)} steps in ${String(training.seconds)} s)`,
    );
  },
};

interface EvalArgs {
  data: string;
  evaluators: string;
  out: string;
  seed?: number;
}

const evalOptions = (y: Argv) =>
  y
    .option('data', { type: 'string', demandOption: true, describe: 'dataset directory of pairs (shard format, the evaluators\' unit)' })
    .option('evaluators', { type: 'string', demandOption: true, describe: 'evaluator directory (see evaluators/README.md)' })
    .option('out', { type: 'string', demandOption: true, describe: 'JSON report to write', coerce: outputFile('--out') });

/** Loads the evaluators (and with them the native addon, which the data commands do not need) and classifies --data. */
async function classify(args: EvalArgs): Promise<{ evaluators: EvaluatorSet; outputs: DatasetOutputs }> {
  const { evaluateDataset, loadEvaluators } = await import('../eval/evaluators');
  const evaluators = await loadEvaluators(args.evaluators);
  const bar = startProgress('classify pairs', readIndex(args.data).pairs, 'pairs');
  try {
    return { evaluators, outputs: await evaluateDataset(evaluators, args.data, (pairs) => bar.update(pairs)) };
  } finally {
    bar.stop();
  }
}

export const evalPairsCommand: CommandModule<object, EvalArgs> = {
  command: 'pairs',
  describe:
    'Fidelity and alignment of a set of pairs: per-modality accuracy, Fréchet distance and KID of classifier features ' +
    'vs the real test set, audio-video class agreement, AV onset F1 (bouncing-ball)',
  builder: evalOptions as unknown as (y: Argv) => Argv<EvalArgs>,
  handler: async (args) => {
    const { evaluators, outputs } = await classify(args);
    const metrics = pairSetMetrics(outputs, evaluators);
    await writeJsonAtomic(args.out, { data: args.data, evaluators: args.evaluators, dataset: evaluators.info.dataset.name, ...metrics });
    const f1 = metrics.onsetF1 === null ? '' : `, onset F1 ${metrics.onsetF1.toFixed(3)}`;
    console.log(
      `${metrics.pairs} pairs: agreement ${metrics.classAgreement.toFixed(3)}${f1}; ` +
        `recognisable audio ${metrics.audio.recognisable.toFixed(3)} video ${metrics.video.recognisable.toFixed(3)}; ` +
        `Fréchet audio ${metrics.audio.frechet.toFixed(3)} video ${metrics.video.frechet.toFixed(3)} → ${args.out}`,
    );
  },
};

export const evalCalibrateCommand: CommandModule<object, EvalArgs> = {
  command: 'calibrate',
  describe:
    'On real (test) pairs: class agreement and AV onset F1 of matched pairs vs shuffled pairs (audio of another ' +
    'pair); a usable metric separates them clearly',
  builder: ((y: Argv) =>
    evalOptions(y).option('seed', { type: 'number', default: 0, describe: 'seed of the shuffle' })) as unknown as (y: Argv) => Argv<EvalArgs>,
  handler: async (args) => {
    const { evaluators, outputs } = await classify(args);
    const report = calibrate(outputs, evaluators, args.seed ?? 0);
    await writeJsonAtomic(args.out, report);
    const f1 = report.onsetF1 ? `; onset F1 matched ${report.onsetF1.matched.toFixed(3)} vs shuffled ${report.onsetF1.shuffled.toFixed(3)}` : '';
    console.log(
      `${report.pairs} pairs: recognisable audio ${report.recognisable.audio.toFixed(3)} video ${report.recognisable.video.toFixed(3)}; agreement matched ${report.classAgreement.matched.toFixed(3)} vs shuffled ` +
        `${report.classAgreement.shuffled.toFixed(3)}${f1} → ${args.out}`,
    );
  },
};

interface DiscriminatorArgs {
  guidance: string;
  'audio-base': string;
  'video-base': string;
  data: string;
  column?: string;
  within?: string;
  pairs: number;
  t: number[];
  seed: number;
  threads: number;
  out?: string;
}

export const evalDiscriminatorCommand: CommandModule<object, DiscriminatorArgs> = {
  command: 'discriminator',
  describe:
    'What a trained discriminator tells apart: its mean logit on noised real pairs as they are and with one part ' +
    'changed (unconditioned: the video of a pair of another class, and with --within one of the same group; ' +
    'class-conditioned: a wrong class, a wrong audio, a wrong video, the null condition), per timestep. Guidance can ' +
    'only steer along differences that move the logit',
  builder: ((y: Argv) =>
    y
      .option('guidance', { type: 'string', demandOption: true, describe: 'train-guidance directory or discriminator weight file' })
      .option('audio-base', { type: 'string', demandOption: true, describe: 'audio base-model checkpoint directory (its schedule and normalisation)' })
      .option('video-base', { type: 'string', demandOption: true, describe: 'video base-model checkpoint directory' })
      .option('data', { type: 'string', demandOption: true, describe: 'real pairs (e.g. a test split); the first --pairs are used' })
      .option('column', { type: 'string', describe: 'meta column of the class (default: the discriminator\'s conditioning column, else label)' })
      .option('within', {
        type: 'string',
        describe: 'unconditioned: meta column of a further case, the video of another pair with the same value in it (e.g. material_index: a pair wrong only in its timing)',
      })
      .option('pairs', { type: 'number', default: 128, describe: 'pairs per case' })
      .option('t', { type: 'number', array: true, default: [50, 200, 400, 600], describe: 'timesteps' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of the noise' })
      .option('threads', { type: 'number', default: 1, describe: 'intra-op threads' })
      .option('out', { type: 'string', describe: 'JSON report to write', coerce: outputFile('--out') })
      .check((a) => {
        if (!Number.isInteger(a.pairs) || a.pairs < 2) throw new Error('--pairs must be an integer ≥ 2');
        if (a.t.length === 0 || a.t.some((t) => !Number.isInteger(t) || t < 0)) throw new Error('--t must be non-negative integer timesteps');
        return true;
      })) as unknown as (y: Argv) => Argv<DiscriminatorArgs>,
  handler: async (args) => {
    const { loadBasePair } = await import('../guidance/basePair');
    const { loadGuidance } = await import('../guidance/sample');
    const { probeDiscriminator } = await import('../guidance/discriminatorProbe');
    const placement = { threads: args.threads };
    const bases = await loadBasePair(args['audio-base'], args['video-base'], placement);
    const { discriminator, conditioning } = await loadGuidance(args.guidance, bases, placement);
    const report = await probeDiscriminator({
      discriminator, conditioning, bases, data: args.data, column: args.column ?? conditioning?.column ?? 'label',
      within: args.within, pairs: args.pairs, timesteps: args.t, seed: args.seed,
    });
    if (args.out) await writeJsonAtomic(args.out, { guidance: args.guidance, data: args.data, ...report });
    console.log(`mean logit on ${report.pairs} real pairs of ${args.data} (difference from matched in brackets)`);
    const matched = report.meanLogit.matched;
    for (const [name, values] of Object.entries(report.meanLogit)) {
      const cells = values.map((v, i) => `t=${report.timesteps[i]} ${v.toFixed(2)}${name === 'matched' ? '' : ` (${(v - matched[i]) >= 0 ? '+' : ''}${(v - matched[i]).toFixed(2)})`}`);
      console.log(`  ${name.padEnd(15)} ${cells.join('  ')}`);
    }
    if (args.out) console.log(`→ ${args.out}`);
  },
};
