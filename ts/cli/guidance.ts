/**
 * MMDisCo proper: `fakes generate` (the fake-pair bank of independent base-model samples, or of a joint base
 * model's), `train-guidance` (the discriminator) and `sample` / `sample-joint` (guided joint sampling).
 */
import type { Argv, CommandModule } from 'yargs';
import { SAMPLER_OPTION } from '../base/sample';
import { DEFAULT_SAMPLER, type Sampler } from '../core/samplers';
import type { Precision } from '../native';
import { GuidanceConfigSchema } from '../config/guidance';
import { ConfigError, loadConfig } from '../config/load';
import { type SamplingSettings, SamplingSettingsSchema, settledValues } from '../config/samplingSettings';
import { DEFAULT_FAKE_BATCH, generateFakes } from '../guidance/fakes';
import { sampleJoint } from '../guidance/jointSample';
import { guidedSample } from '../guidance/sample';
import { trainGuidance } from '../guidance/train';
import { isMainRank } from '../util/ranks';
import { outputDirectory } from './paths';
import { reportTraining } from './trainingSummary';

interface SamplingArgs {
  'audio-base': string;
  'video-base': string;
  /** Only for fakes generate: replaces the two bases. */
  'joint-base'?: string;
  thresholding?: boolean;
  n: number;
  /** Absent where not given: a --settings file or the default fills it. */
  sampler?: Sampler;
  steps?: number;
  seed: number;
  /** Absent where not given: fakes generate takes a joint base's batch size, else the default. */
  batch?: number;
  out: string;
  device?: string;
  threads?: number;
  'base-precision': Precision;
  'allow-mismatch': boolean;
}

/** Sampler and steps where neither a flag nor a settings file gives them. */
const SAMPLING_DEFAULTS = { sampler: DEFAULT_SAMPLER, steps: 50 } as const;

/** The sampler setup of a joint base model (sample-joint, fakes generate --joint-base) where neither a flag nor a settings file gives it: the official MM-Diffusion one. */
const JOINT_DEFAULTS = { sampler: 'dpm-solver++-3s', steps: 20, thresholding: true } as const;

const GUIDANCE_PRECISION_OPTION = {
  choices: ['fp32', 'bf16'] as const,
  default: 'fp32' as const,
  describe:
    "precision of the discriminator's forward passes while it guides: fp32, or bf16 autocast (faster where the CPU " +
    'has bf16 instructions and on GPUs; residuals agree with fp32 to about 1 %); recorded in the provenance',
};

/** The --sampler flag without a yargs default, so that a --settings file can fill it where the flag is not given. */
const { default: _samplerDefault, ...SAMPLER_CHOICE } = SAMPLER_OPTION;

/** --settings: a sampling settings file (configs/released/), its values under the flags given. */
const SETTINGS_OPTION = {
  type: 'string',
  describe:
    'sampling settings file (e.g. configs/released/*.json: sampler, steps, λ per modality, CFG scales, thresholding, ' +
    'guidance repeats); flags given on the command line override its values; recorded in the output\'s provenance',
} as const;

const loadSettings = (file: string | undefined): SamplingSettings | undefined => (file === undefined ? undefined : loadConfig(SamplingSettingsSchema, file));

/** `orJoint`: the two base models or --joint-base (fakes generate), else the two base models. */
function samplingOptions(y: Argv, what: string, orJoint = false): Argv {
  const either = orJoint ? '; or --joint-base' : '';
  return y
    .option('audio-base', { type: 'string', demandOption: !orJoint, describe: `audio base model: a train-base checkpoint directory, or a directory with torchscript.json${either}` })
    .option('video-base', { type: 'string', demandOption: !orJoint, describe: `video base model: a train-base checkpoint directory, or a directory with torchscript.json${either}` })
    .option('n', { type: 'number', demandOption: true, describe: `number of ${what}` })
    .option('sampler', { ...SAMPLER_CHOICE, defaultDescription: SAMPLING_DEFAULTS.sampler })
    .option('steps', { type: 'number', defaultDescription: String(SAMPLING_DEFAULTS.steps), describe: 'sampling steps' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of chunk 0; chunk k uses seed + k' })
    .option('batch', {
      type: 'number',
      defaultDescription: orJoint ? `${DEFAULT_FAKE_BATCH}, or joint.json's batch` : String(DEFAULT_FAKE_BATCH),
      describe: 'pairs per sampler run (the unit a restart skips)',
    })
    .option('out', { type: 'string', demandOption: true, describe: 'output directory', coerce: outputDirectory('--out') })
    .option('device', { type: 'string', describe: "override the checkpoints' device (cpu, cuda[:N])" })
    .option('threads', { type: 'number', describe: 'intra-op threads per model' })
    .option('base-precision', {
      choices: ['fp32', 'bf16'] as const,
      default: 'fp32' as const,
      describe:
        "precision of the base models' forward passes: fp32, or bf16 autocast (faster where the CPU has bf16 " +
        'instructions and on GPUs; ε̂ agrees with fp32 to about 1 %; train-base checkpoints only); recorded in the provenance',
    })
    .option('allow-mismatch', {
        type: 'boolean',
        default: false,
        describe: 'go on when data and models were made for different datasets or units (recorded in the output\'s provenance)',
      })
    .check((a) => {
      for (const key of ['n', 'steps', 'batch'] as const) {
        if (a[key] === undefined) continue;
        if (!Number.isInteger(a[key]) || (a[key] as number) < 1) throw new Error(`--${key} must be a positive integer, got ${a[key]}`);
      }
      if (!Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
      return true;
    });
}

const drawOptions = (args: SamplingArgs) => ({
  audioBase: args['audio-base'],
  videoBase: args['video-base'],
  n: args.n,
  sampler: args.sampler ?? SAMPLING_DEFAULTS.sampler,
  steps: args.steps ?? SAMPLING_DEFAULTS.steps,
  seed: args.seed,
  batch: args.batch ?? DEFAULT_FAKE_BATCH,
  out: args.out,
  placement: { device: args.device, threads: args.threads },
  basePrecision: args['base-precision'],
  allowMismatch: args['allow-mismatch'],
});

export const fakesGenerateCommand: CommandModule<object, SamplingArgs> = {
  command: 'generate',
  describe:
    'Independent samples of the two base models as an Arrow pair dataset (same tensors as the real one), or with ' +
    '--joint-base the unguided samples of a joint base model (float32 audio and video at joint.json\'s shapes, the ' +
    'layout `data import-pairs` writes real pairs in); re-running the same command after an interruption skips the ' +
    'finished chunks. Under `mmdisco launch --nproc N` the N ranks share the chunks and write the same dataset as one process',
  builder: (y: Argv) =>
    samplingOptions(y, 'pairs', true)
      .option('joint-base', {
        type: 'string',
        describe:
          `joint base model directory (joint.json), in place of --audio-base/--video-base; its defaults: --sampler ${JOINT_DEFAULTS.sampler}, ` +
          `--steps ${JOINT_DEFAULTS.steps}, thresholding on`,
      })
      .option('thresholding', {
        type: 'boolean',
        defaultDescription: `${JOINT_DEFAULTS.thresholding} with --joint-base`,
        describe: "with --joint-base: DPM-Solver++'s dynamic thresholding of x̂0 (as sample-joint)",
      })
      .check((a) => {
        const bases = a['audio-base'] !== undefined || a['video-base'] !== undefined;
        if (a['joint-base'] !== undefined && bases) throw new Error('--joint-base replaces --audio-base and --video-base; give one or the other');
        if (a['joint-base'] === undefined && (a['audio-base'] === undefined || a['video-base'] === undefined)) {
          throw new Error('give --audio-base and --video-base, or --joint-base');
        }
        if (a.thresholding !== undefined && a['joint-base'] === undefined) throw new Error('--thresholding applies to --joint-base only');
        return true;
      }) as unknown as Argv<SamplingArgs>,
  handler: async (args) => {
    const joint = args['joint-base'];
    const index = await generateFakes(
      joint === undefined
        ? drawOptions(args)
        : {
            ...drawOptions(args),
            jointBase: joint,
            sampler: args.sampler ?? JOINT_DEFAULTS.sampler,
            steps: args.steps ?? JOINT_DEFAULTS.steps,
            batch: args.batch,
            thresholding: args.thresholding ?? JOINT_DEFAULTS.thresholding,
          },
    );
    if (isMainRank()) process.stderr.write(`wrote ${index.pairs} fake pairs to ${args.out}\n`);
  },
};

interface TrainArgs {
  real?: string;
  fake?: string;
  'audio-base'?: string;
  'video-base'?: string;
  'joint-base'?: string;
  config?: string;
  out: string;
  resume: boolean;
  set: string[];
  'max-steps'?: number;
  'allow-world-size-change': boolean;
  'allow-mismatch': boolean;
}

export const trainGuidanceCommand: CommandModule<object, TrainArgs> = {
  command: 'train-guidance',
  describe:
    'Train the MMDisCo discriminator on real pairs vs the fake-pair bank (BCE + λ_den · denoising loss through ' +
    'the frozen base models, or through a frozen joint base model with --joint-base: one call on both noisy inputs); ' +
    'writes discriminator.safetensors, state.bin, state.json and log.jsonl to --out, and ' +
    'resumes exactly with --resume. Data-parallel under `mmdisco launch --nproc N`: training.batchSize is the ' +
    'global batch (a multiple of N) and rank 0 writes. Conditions (config): conditioning, a class per pair (a meta ' +
    'column); textConditioning, text embeddings per pair (tensor columns, see data attach-embeddings), the module ' +
    'then guiding with sample --prompts',
  builder: (y: Argv) =>
    y
      .option('real', { type: 'string', describe: 'real pair dataset (Arrow shards); required unless resuming' })
      .option('fake', { type: 'string', describe: 'fake pair dataset from `fakes generate`; required unless resuming' })
      .option('audio-base', { type: 'string', describe: 'audio base model (checkpoint or torchscript.json directory); required unless resuming' })
      .option('video-base', { type: 'string', describe: 'video base model (checkpoint or torchscript.json directory); required unless resuming' })
      .option('joint-base', {
        type: 'string',
        describe:
          'joint base model directory (joint.json), in place of --audio-base/--video-base; --real and --fake then hold its ' +
          'layout (`data import-pairs`, `fakes generate --joint-base`)',
      })
      .option('config', { type: 'string', describe: 'guidance config (configs/guidance/*.json); required unless resuming' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory', coerce: outputDirectory('--out') })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out from its last checkpoint' })
      .option('set', { type: 'string', array: true, default: [], describe: 'config override key.path=value (repeatable)' })
      .option('max-steps', { type: 'number', describe: 'stop this invocation after N steps (the run can be resumed)' })
      .option('allow-mismatch', {
        type: 'boolean',
        default: false,
        describe: 'go on when data and models were made for different datasets or units (recorded in the output\'s provenance)',
      })
      .option('allow-world-size-change', {
        type: 'boolean',
        default: false,
        describe: 'resume with another number of ranks than trained the run (its numerics then differ from an uninterrupted run)',
      }) as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const config = args.config ? loadConfig(GuidanceConfigSchema, args.config, args.set) : undefined;
    if (args.resume && args.config) throw new ConfigError('--resume uses the run\'s stored config.json; change it with --set, not --config');
    const result = await trainGuidance({
      out: args.out,
      config,
      real: args.real,
      fake: args.fake,
      audioBase: args['audio-base'],
      videoBase: args['video-base'],
      jointBase: args['joint-base'],
      resume: args.resume,
      overrides: args.resume ? args.set : [],
      maxStepsThisRun: args['max-steps'],
      allowWorldSizeChange: args['allow-world-size-change'],
      allowMismatch: args['allow-mismatch'],
    });
    reportTraining(args.out, result, ['bce', result.finalBce]);
  },
};

interface GuidedArgs extends SamplingArgs {
  guidance: string;
  settings?: string;
  'lambda-audio'?: number;
  'lambda-video'?: number;
  'guidance-interval'?: number[];
  'guidance-repeats'?: number;
  'guidance-precision': Precision;
  class?: number[];
  'cfg-scale'?: number;
  'cfg-scale-audio'?: number;
  'cfg-scale-video'?: number;
  prompts?: string;
  prompt?: string[];
  'null-prompt'?: string;
}

export const sampleCommand: CommandModule<object, GuidedArgs> = {
  command: 'sample',
  describe:
    'Guided joint sampling ε_m + λ_m r_m: OUT/pairs (Arrow, for `eval pairs`), grid.png, mel.png, contact.png, ' +
    'wavs (Griffin-Lim) and mp4s with sound for the first pairs. A class-conditioned discriminator guides toward ' +
    '--class (residual CFG, each modality at its own scale), or without it with its unconditional branch',
  builder: (y: Argv) =>
    samplingOptions(y, 'pairs')
      .option('guidance', { type: 'string', demandOption: true, describe: 'train-guidance directory or discriminator weight file' })
      .option('settings', SETTINGS_OPTION)
      .option('lambda-audio', { type: 'number', describe: 'guidance scale λ of the audio model (required unless --settings gives it)' })
      .option('lambda-video', { type: 'number', describe: 'guidance scale λ of the video model (required unless --settings gives it)' })
      .option('guidance-interval', {
        type: 'number',
        array: true,
        describe:
          'TMIN TMAX: guide only at the sampling steps with TMIN ≤ t ≤ TMAX (of the base models\' 0 … T−1); elsewhere the ' +
          'base models sample alone and the discriminator is not evaluated (default: every step)',
      })
      .option('guidance-repeats', {
        type: 'number',
        describe:
          'J: take each guided step J times, re-noising x from the next step back to this one in between (the official ' +
          'joint_num_steps; J times the model calls; ddpm and ddim only; default 1)',
      })
      .option('guidance-precision', GUIDANCE_PRECISION_OPTION)
      .option('class', {
        type: 'number',
        array: true,
        describe: 'class-conditioned discriminator: class(es) to guide toward, pair i taking the (i mod count)-th; written to the dataset\'s class column',
      })
      .option('cfg-scale', {
        type: 'number',
        describe: 'residual CFG scale S of both modalities: r_m = r∅_m + S·(r^c_m − r∅_m) (default 1: the conditional branch alone)',
      })
      .option('cfg-scale-audio', {
        type: 'number',
        describe: "CFG scale S_a of the audio residual alone, overriding --cfg-scale: r_audio = r∅_audio + S_a·(r^c_audio − r∅_audio) (each modality's residual is CFG'd with that modality's own scale)",
      })
      .option('cfg-scale-video', { type: 'number', describe: 'CFG scale S_v of the video residual alone, overriding --cfg-scale' })
      .option('prompts', {
        type: 'string',
        describe:
          'text-conditioned discriminator (an imported released one, or one trained with textConditioning): safetensors of prompt embeddings, one tensor per ' +
          'modality and prompt named audio/<prompt> and video/<prompt>, each (d) or (tokens, d) (tokens are averaged)',
      })
      .option('prompt', { type: 'string', array: true, describe: 'with --prompts: prompt(s) to guide toward, pair i taking the (i mod count)-th' })
      .option('null-prompt', {
        type: 'string',
        describe: "with --prompts: the unconditional branch of the residual CFG (default '': the empty prompt, audio/ and video/)",
      }) as unknown as Argv<GuidedArgs>,
  handler: async (args) => {
    const settings = loadSettings(args.settings);
    if (settings?.thresholding) {
      throw new ConfigError(`${args.settings}: thresholding: sample does not threshold (its base models' data are not all in [−1, 1]); these settings are for sample-joint`);
    }
    // --cfg-scale sets both modalities, so it overrides the file's scales as the per-modality flags do.
    const values = settledValues(
      {
        sampler: args.sampler,
        steps: args.steps,
        lambdaAudio: args['lambda-audio'],
        lambdaVideo: args['lambda-video'],
        cfgScaleAudio: args['cfg-scale-audio'] ?? args['cfg-scale'],
        cfgScaleVideo: args['cfg-scale-video'] ?? args['cfg-scale'],
        guidanceRepeats: args['guidance-repeats'],
      },
      settings,
    );
    const { written } = await guidedSample({
      ...drawOptions({ ...args, sampler: values.sampler, steps: values.steps }),
      guidance: args.guidance,
      settings: args.settings,
      lambdaAudio: values.lambdaAudio!,
      lambdaVideo: values.lambdaVideo!,
      guidanceInterval: args['guidance-interval'] as [number, number] | undefined,
      guidanceRepeats: values.guidanceRepeats,
      guidancePrecision: args['guidance-precision'],
      classes: args.class,
      cfgScale: args['cfg-scale'],
      cfgScaleAudio: values.cfgScaleAudio,
      cfgScaleVideo: values.cfgScaleVideo,
      prompts: args.prompts,
      prompt: args.prompt,
      nullPrompt: args['null-prompt'],
    });
    process.stderr.write(`wrote ${written.join(', ')}\n`);
  },
};

interface JointArgs {
  'joint-base': string;
  guidance?: string;
  settings?: string;
  'lambda-audio'?: number;
  'lambda-video'?: number;
  'guidance-repeats'?: number;
  'guidance-precision': Precision;
  n: number;
  /** Absent where not given: a --settings file or the default fills it. */
  sampler?: Sampler;
  steps?: number;
  seed: number;
  batch?: number;
  thresholding?: boolean;
  out: string;
  device?: string;
  threads?: number;
}


export const sampleJointCommand: CommandModule<object, JointArgs> = {
  command: 'sample-joint',
  describe:
    'Samples of a joint base model (a directory with joint.json and its TorchScript module, e.g. MM-Diffusion\'s ' +
    'U-Net), unguided or guided by a discriminator (--guidance, e.g. from `import official`): OUT/samples.safetensors, ' +
    'sample.json, and wavs, mp4s with sound and contact.png for the first pairs',
  builder: (y: Argv) =>
    y
      .option('joint-base', { type: 'string', demandOption: true, describe: 'joint base model directory (joint.json: module, arguments, shapes, schedule, media)' })
      .option('guidance', { type: 'string', describe: 'discriminator weights or a directory holding discriminator.safetensors (unguided without)' })
      .option('lambda-audio', { type: 'number', describe: 'with --guidance: scale λ of the audio residual' })
      .option('lambda-video', { type: 'number', describe: 'with --guidance: scale λ of the video residual' })
      .option('guidance-repeats', {
        type: 'number',
        describe: 'with --guidance: take each guided step J times, re-noising back to its level in between (ddpm and ddim; default 1)',
      })
      .option('guidance-precision', GUIDANCE_PRECISION_OPTION)
      .option('settings', SETTINGS_OPTION)
      .option('n', { type: 'number', demandOption: true, describe: 'number of pairs' })
      .option('sampler', { ...SAMPLER_CHOICE, defaultDescription: JOINT_DEFAULTS.sampler })
      .option('steps', { type: 'number', defaultDescription: String(JOINT_DEFAULTS.steps), describe: 'sampling steps (DPM-Solver++: model calls)' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of chunk 0; chunk k uses seed + k' })
      .option('batch', { type: 'number', describe: "pairs per sampler call (default: joint.json's batch, else --n)" })
      .option('thresholding', {
        type: 'boolean',
        defaultDescription: String(JOINT_DEFAULTS.thresholding),
        describe: "DPM-Solver++'s dynamic thresholding of x̂0 (quantile 0.995, as the official MM-Diffusion sampler; data in [−1, 1])",
      })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory', coerce: outputDirectory('--out') })
      .option('device', { type: 'string', describe: 'device (cpu, cuda[:N])' })
      .option('threads', { type: 'number', describe: 'intra-op threads' }) as unknown as Argv<JointArgs>,
  handler: async (args) => {
    const settings = loadSettings(args.settings);
    if (settings?.cfgScaleAudio !== undefined) {
      throw new ConfigError(`${args.settings}: cfgScaleAudio: sample-joint guides with unconditioned discriminators, which have no CFG; these settings are for sample --prompts`);
    }
    const values = settledValues(
      {
        sampler: args.sampler,
        steps: args.steps,
        lambdaAudio: args['lambda-audio'],
        lambdaVideo: args['lambda-video'],
        thresholding: args.thresholding,
        guidanceRepeats: args['guidance-repeats'],
      },
      settings,
    );
    const { written } = await sampleJoint({
      jointBase: args['joint-base'],
      guidance: args.guidance,
      settings: args.settings,
      lambdaAudio: values.lambdaAudio,
      lambdaVideo: values.lambdaVideo,
      guidanceRepeats: values.guidanceRepeats,
      guidancePrecision: args['guidance-precision'],
      n: args.n,
      sampler: values.sampler ?? JOINT_DEFAULTS.sampler,
      steps: values.steps ?? JOINT_DEFAULTS.steps,
      seed: args.seed,
      batch: args.batch,
      thresholding: values.thresholding ?? JOINT_DEFAULTS.thresholding,
      out: args.out,
      placement: { device: args.device, threads: args.threads },
    });
    process.stderr.write(`wrote ${written.join(', ')}\n`);
  },
};
