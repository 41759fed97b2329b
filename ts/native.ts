/**
 * The typed face of the native addon (build/Release/mmdisco_native.node): the only module that loads it.
 *
 * Tensors cross the boundary as {data, shape}. Inputs are wrapped without copying, so an array passed to an
 * asynchronous call must stay alive and unchanged until its Promise settles. Outputs are fresh arrays.
 * Each model runs its work on its own native thread; a second call on a model whose previous call has not
 * settled fails at once with a "busy" error. Every error the addon raises is a NativeError (below).
 */
import path from 'node:path';
import type { CoupledGaussianMixture } from './core/mixture';

export type FloatArray = Float32Array | Float64Array;
/** Forward-pass precision: fp32, or bf16 autocast (weights, gradients and optimiser state stay fp32). */
export type Precision = 'fp32' | 'bf16';

export interface Tensor<A = FloatArray> {
  data: A;
  shape: number[];
}
export type Timesteps = number | Tensor<Int32Array>;

export interface ScheduleOptions {
  kind: 'linear' | 'cosine';
  timesteps?: number;
  betaStart?: number;
  betaEnd?: number;
  cosineOffset?: number;
}

export interface PlacementOptions {
  device?: string; // 'cpu' | 'cuda' | 'cuda:N'
  dtype?: 'float32' | 'float64';
  /** Intra-op threads of this model's worker thread (0: torch's default). */
  threads?: number;
  /** Seeds parameter initialisation and the model's training randomness. */
  seed?: number;
}

export interface OptimizerOptions {
  lr?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  /** Maximum global gradient norm; 0 disables clipping. */
  gradClip?: number;
}

export interface MlpEpsNetwork {
  kind: 'mlp';
  dim: number;
  hidden?: number;
  blocks?: number;
  timeDim?: number;
}

export interface ToyDiscriminatorNetwork {
  kind: 'toy-mlp';
  audioDim: number;
  videoDim: number;
  hidden?: number;
  blocks?: number;
  timeDim?: number;
  fusion?: 'joint' | 'additive';
}

// ---- MMDisCo discriminator (spec §3) ------------------------------------------------------------------

/**
 * The released discriminator. Its options, their defaults, the presets and every check are the core's
 * (native/src/models/mmdisco_discriminator.h, native/src/config/networks.cpp); this is their typed face. Inputs: video (B, F, C, H, W); audio (B, C, L, M) with audioConv '2d'; with '1d',
 * (B, C, N) or a log-mel (B, C, L, M) read with its C·M bins as channels (audioChannels = C·M). A preset (default
 * 'audioldm-animatediff') fixes every field; the others override it.
 */
export interface MmdiscoDiscriminatorNetwork {
  kind: 'mmdisco';
  /** The released settings, or 'guidance-config': the defaults of a train-guidance config's discriminator block. */
  preset?: 'audioldm-animatediff' | 'auffusion-videocrafter2' | 'mmdiffusion' | 'guidance-config';
  videoChannels?: number;
  audioChannels?: number;
  audioConv?: '2d' | '1d';
  /** 1-D audio ResBlock k (construction order) uses dilation 2^(k mod maxDilation). */
  maxDilation?: number;
  /** Pixel patches p×p of each frame as channels before the video tower: videoChannels = C·p². */
  videoPatch?: number;
  /** Each frame's tower features pooled over its pixels by 'mean' (released) or 'max'. */
  videoPool?: 'mean' | 'max';
  /** Base width; width · mult must be divisible by groups (32 in every release). */
  width?: number;
  channelMult?: number[];
  blocksPerLevel?: number;
  timeDim?: number;
  /** Text-conditioning widths; 0 means unconditioned. */
  videoTextDim?: number;
  audioTextDim?: number;
  /** Also add ⟨P_m c_m, pooled tower-m features⟩ per conditioned modality (a projection discriminator). */
  textProjection?: boolean;
  fusion?: 'A' | 'B';
  fusionWidth?: number;
  fusionLayers?: number;
  fusionHeads?: number;
  fusionHeadDim?: number;
  fusionMaxTokens?: number;
  /**
   * Fusion B's tokens: 'separate' (released: video frames', then audio frames'), or 'frame': one per video frame,
   * its video features plus the mean audio features of its span of time.
   */
  fusionTokens?: 'separate' | 'frame';
  groups?: number;
  /**
   * Audio↔video cross-attention after every non-down ResBlock of these levels (0: full resolution); released
   * configs have none. Windows of crossAttentionWindow video frames (0: the whole clip) attend to the audio of the
   * same span, every second block with its windows shifted by half a window.
   */
  crossAttentionLevels?: number[];
  crossAttentionWindow?: number;
  crossAttentionHeads?: number;
  /**
   * What the towers read: 'noisy' x_t (released), or 'denoised', the base models' one-step estimates x̂0 of the
   * clean pair (the Discriminator's denoisers, given by whoever builds it: ts/guidance/train.ts).
   */
  input?: 'noisy' | 'denoised';
  /** The layouts the network is called with: video (B,F,C,H,W) 'bfchw' or (B,C,F,H,W) 'bcfhw'; 4-D audio (B,C,L,M) 'bclm' or (B,C,M,L) 'bcml'. */
  videoLayout?: 'bfchw' | 'bcfhw';
  audioLayout?: 'bclm' | 'bcml';
}

/** A network config with every field stated, as validateNetwork returns it. */
export type CompleteNetwork<N> = { [K in keyof N]-?: Exclude<N[K], undefined> };

/** Per-sample conditioning vectors of a text-conditioned discriminator: (B, d) or (B, tokens, d). */
export interface Conditioning {
  audio?: Tensor;
  video?: Tensor;
}

export type DiscriminatorNetwork = ToyDiscriminatorNetwork | MmdiscoDiscriminatorNetwork;

// ---- errors ---------------------------------------------------------------------------------------------------

/** The codes of the addon's errors (native/src/errors.h). */
export type NativeErrorCode = 'MMDISCO_CONFIG' | 'MMDISCO_SHAPE' | 'MMDISCO_NON_FINITE' | 'MMDISCO_BUSY' | 'MMDISCO_ARGUMENT' | 'MMDISCO_RUNTIME';

/** An error raised by the addon: a plain Error with a code and, for a bad option, the option's path. */
export interface NativeError extends Error {
  code: NativeErrorCode;
  /** MMDISCO_CONFIG: the option's path, e.g. 'network.groups' (a network's own field, e.g. 'groups', from validateNetwork). */
  field?: string;
  /** MMDISCO_CONFIG: what is wrong with it, without the path ("must divide …"). */
  reason?: string;
}

export function isNativeError(error: unknown): error is NativeError {
  return error instanceof Error && typeof (error as Partial<NativeError>).code === 'string' && (error as NativeError).code.startsWith('MMDISCO_');
}

export type NamedTensors = Record<string, Tensor>;

// ---- base diffusion models: U-Nets, EMA, training state, TorchScript ε-models ------------------------------

/** Settings shared by the two base-model U-Nets (native/src/models/unet.h). */
interface UNetOptions {
  /** 'base-config': every size must be stated (a train-base config's network block). */
  preset?: 'base-config';
  inChannels: number;
  baseChannels?: number;
  /** Width multiplier per resolution level; the two down-sampled axes halve between levels. */
  channelMult?: number[];
  resBlocks?: number;
  timeDim?: number;
  groups?: number;
  midAttention?: boolean;
}

/** Video denoiser on (B, F, C, H, W): factorised per-frame 2-D and per-pixel temporal 1-D convolutions. */
export interface VideoUNetNetwork extends UNetOptions {
  kind: 'video-unet';
  temporalKernel?: number;
}

/** Audio denoiser on the log-mel (B, C, L, M): 2-D convolutions over (time, mel). Any L and M work (padding). */
export interface AudioUNetNetwork extends UNetOptions {
  kind: 'audio-unet';
}

export type EpsNetwork = MlpEpsNetwork | VideoUNetNetwork | AudioUNetNetwork;

export interface EpsModelOptions extends PlacementOptions {
  network: EpsNetwork;
  schedule: ScheduleOptions;
  optimizer?: OptimizerOptions;
  /** Keep an exponential moving average of the weights; it becomes what eps(), sampling and parameters() use. */
  ema?: { decay: number };
  /** Forward-pass precision when training on CUDA (default 'bf16' autocast). CPU trains in `dtype`. */
  cudaPrecision?: Precision;
  /** Forward-pass precision when training on a CPU (default 'fp32'; 'bf16' autocast pays on CPUs with AVX512-BF16 or AMX). */
  cpuPrecision?: Precision;
  /** Range of clean samples: eps() and sampling clip the implied x̂0 to it (native/src/clipped_eps.h). */
  x0Range?: [number, number];
  /** Precision of eps() and sampling on any device: 'fp32' (default), or 'bf16' autocast (ε̂ returned in `dtype`). */
  samplingPrecision?: Precision;
}

/** An external base model: a TorchScript module with forward(x_t, t) -> eps and the schedule it was trained with. */
export interface TorchScriptEpsOptions {
  path: string;
  schedule: ScheduleOptions;
  device?: string;
  dtype?: 'float32' | 'float64';
  threads?: number;
}

/** A joint external base model: a TorchScript module with forward(x_a, x_b, t) -> (eps_a, eps_b). */
export interface TorchScriptJointEpsOptions {
  path: string;
  /** arguments[m]: the position of modality m (0 audio, 1 video) among the module's inputs and outputs. */
  arguments: number[];
  schedule: ScheduleOptions;
  device?: string;
  dtype?: 'float32' | 'float64';
  threads?: number;
}

/** Anything that predicts ε of every modality from all of them (in the order audio, video). */
export interface JointEpsSource {
  eps(x: Tensor[], t: Timesteps): Promise<Record<string, Tensor>>;
}

/** Anything that predicts ε for one modality. */
export interface EpsSource {
  eps(x: Tensor, t: Timesteps): Promise<{ eps: Tensor }>;
}

/** Anything that estimates the log density ratio ℓ(a_t, v_t, t) of real to independent pairs. */
export interface JointCritic {
  logit(a: Tensor, v: Tensor, t: Timesteps): Promise<{ logit: Tensor }>;
  /** r_m = −σ^m_t ∇_m ℓ for both modalities. */
  residuals(a: Tensor, v: Tensor, t: Timesteps): Promise<{ audio: Tensor; video: Tensor }>;
}

/**
 * A trainer whose state (weights, optimiser moments, random stream, step count, the EMA where kept) can be saved
 * and restored: everything a resumed run needs to continue bit for bit.
 */
export interface ResumableTrainer {
  trainingState(): Promise<{ state: Tensor<Uint8Array>; step: number }>;
  loadTrainingState(state: Tensor<Uint8Array>): Promise<{ step: number }>;
}

export interface EpsModel extends EpsSource, ResumableTrainer {
  readonly parameterCount: number;
  /** One optimiser step per consecutive batchSize rows of x0; returns each step's loss and the steps taken so far. */
  trainSteps(x0: Tensor, batchSize: number): Promise<{ losses: Tensor<Float64Array>; step: number }>;
  /** Trains as trainSteps does, under LibTorch's profiler: every op's time over the steps, largest first. */
  profileSteps(x0: Tensor, batchSize: number): Promise<OpTime[]>;
  /** The weights it samples with (the EMA when there is one). */
  parameters(): Promise<NamedTensors>;
  /** Sets the trained weights and, when there is one, the EMA. */
  loadParameters(values: NamedTensors): Promise<Record<string, never>>;
}

/** The residual CFG scale of each modality (spec §4.1 c: that modality's base-model CFG scale). */
export interface CfgScales {
  audio: number;
  video: number;
}

/**
 * Classifier-free guidance of the residual (spec §4.1 c), each modality with its own scale:
 * r_m = r∅_m + scales.m·(r^c_m − r∅_m), r^c with the condition and r∅ with nullCondition. A branch no modality
 * weighs is not evaluated (scales 1 and 1: the conditional branch alone; 0 and 0: the null one). With one scale s for
 * both, this is ℓ = ℓ∅ + s·(ℓ^c − ℓ∅); with two, no single ℓ has these residuals and `logit` refuses.
 */
export interface ResidualCfg {
  nullCondition: Conditioning;
  scales: CfgScales;
}

export interface Discriminator extends JointCritic {
  /** Its network config with every field stated (no preset), as the core parsed it. */
  readonly network: DiscriminatorNetwork;
  /** With `condition`, ℓ and r are those of the text-conditioned branch (e.g. real or empty caption); with `cfg` too, their residual CFG. */
  logit(a: Tensor, v: Tensor, t: Timesteps, condition?: Conditioning, cfg?: ResidualCfg): Promise<{ logit: Tensor }>;
  residuals(a: Tensor, v: Tensor, t: Timesteps, condition?: Conditioning, cfg?: ResidualCfg): Promise<{ audio: Tensor; video: Tensor }>;
  readonly parameterCount: number;
  parameters(): Promise<NamedTensors>;
  loadParameters(values: NamedTensors): Promise<Record<string, never>>;
  flatParameters(): Promise<{ values: Tensor }>;
  setFlatParameters(values: Tensor): Promise<Record<string, never>>;
}

export interface DiscriminatorBatch {
  realAudio: Tensor;
  realVideo: Tensor;
  fakeAudio: Tensor;
  fakeVideo: Tensor;
  realCondition?: Conditioning;
  fakeCondition?: Conditioning;
  /** Each real pair's class (−1: none), (B,); needed by the class loss (lambdaClass) only. */
  realClasses?: Tensor<Int32Array>;
}

/** Every random draw of one loss evaluation (timesteps and noises), for deterministic checks. */
export interface DiscriminatorDraw {
  tReal: Tensor<Int32Array>;
  tFake: Tensor<Int32Array>;
  noiseRealAudio: Tensor;
  noiseRealVideo: Tensor;
  noiseFakeAudio: Tensor;
  noiseFakeVideo: Tensor;
}

export interface DiscriminatorStepLog {
  total: Tensor<Float64Array>;
  bce: Tensor<Float64Array>;
  denoising: Tensor<Float64Array>;
  dReal: Tensor<Float64Array>;
  dFake: Tensor<Float64Array>;
  /** The class loss Σ_m CE(class scores_m, class) over the real pairs (0 unless lambdaClass > 0). */
  classLoss: Tensor<Float64Array>;
  /** Per-sample σ(h) and timesteps, shape (steps, batchSize). */
  pReal: Tensor<Float64Array>;
  pFake: Tensor<Float64Array>;
  tReal: Tensor<Int32Array>;
  tFake: Tensor<Int32Array>;
  /** With timePhases: per step (steps, 5) the milliseconds of its forward passes, input gradient, backward, optimiser step and finiteness checks. */
  phasesMs?: Tensor<Float64Array>;
}

export interface DiscriminatorTrainerOptions {
  lambdaDenoising: number;
  /**
   * Weighs the cross-entropy of the projection heads' class scores on the real pairs (their realClasses): a direct
   * signal for each tower to learn the class (0: off).
   */
  lambdaClass?: number;
  optimizer?: OptimizerOptions;
  seed?: number;
  /** Train at these steps [tMin, tMax] only (inclusive; default the whole schedule). */
  timestepRange?: [number, number];
  /** Time each step's phases (trainSteps' phasesMs; on CUDA each phase boundary synchronises). */
  timePhases?: boolean;
  /**
   * 'bf16': the discriminator's forward passes in bf16 autocast, on CPU and CUDA alike (the weights, gradients and
   * optimiser stay in the model's dtype); default 'fp32'.
   */
  precision?: Precision;
}

/** One op's (CUDA: one kernel's) time in a profile, summed over its calls. */
export interface OpTime {
  name: string;
  /** CPU: the op's self time (its span less the ops it called); CUDA: the kernel's time on the device. */
  selfMs: number;
  calls: number;
}

export interface DiscriminatorTrainer extends ResumableTrainer {
  /** One optimiser step per consecutive batchSize rows of the four arrays. */
  trainSteps(batch: DiscriminatorBatch, batchSize: number): Promise<DiscriminatorStepLog>;
  /** Trains as trainSteps does, under LibTorch's profiler: every op's time over the steps, largest first. */
  profileSteps(batch: DiscriminatorBatch, batchSize: number): Promise<OpTime[]>;
  lossAndGradient(
    batch: DiscriminatorBatch,
    draw: DiscriminatorDraw,
  ): Promise<{ total: number; bce: number; denoising: number; classLoss: number; gradient: Tensor }>;
}

export interface SampleOptions {
  /** One ε-source per modality, or `joint`. */
  sources?: EpsSource[];
  /** A joint base model of [audio, video]. */
  joint?: JointEpsSource;
  /** Per-sample shape of each source's output (without the batch dimension). */
  shapes: number[][];
  n: number;
  /** 'ddpm', 'ddim' or 'dpm-solver++-<order 1–3><s|m>' (the core parses it; ts/base/sample.ts SAMPLERS lists the CLI's). */
  sampler?: string;
  steps?: number;
  /** DDPM/DDIM with a critic: each step taken this many times, re-noised back to its t in between (default 1). */
  guidanceRepeats?: number;
  /** DPM-Solver++: the official dynamic thresholding of x̂0 (for data in [−1, 1]). */
  dpmThresholding?: boolean;
  seed?: number;
  /** Joint guidance: ε_m + λ_m r_m, with sources = [audio, video] and lambdas = [λ_audio, λ_video]. */
  critic?: JointCritic;
  lambdas?: [number, number];
  /** Guide only at the steps with tMin ≤ t ≤ tMax (inclusive); elsewhere the base models sample alone (default: every step). */
  guidanceInterval?: [number, number];
  /** With a Discriminator as critic: the conditioning of its guidance, n rows (as in Discriminator.residuals). */
  condition?: Conditioning;
  cfg?: ResidualCfg;
}

export interface RuntimeInfo {
  torchVersion: string;
  cudaAvailable: boolean;
  cudaDevices: number;
  interopThreads: number;
  parallelInfo: string;
  gloo: boolean;
}

// ---- evaluator classifiers ----------------------------------------------------------------------------

/**
 * An evaluator classifier's network. Inputs are taken in the shard encodings: 'mel-cnn' a log-mel
 * (B, L, M) in natural-log magnitudes, standardised inside with (inputMean, inputStd); 'video-cnn' frames
 * (B, F, C, H, W) as uint8 (stored) or floats already in [-1, 1] (generated).
 */
export interface ClassifierNetwork {
  kind: 'mel-cnn' | 'video-cnn';
  /** Per-example shape: [L, M] or [F, C, H, W]. */
  inputShape: number[];
  classes: number;
  /** Channels of the first convolution (default 16), doubled at each downsampling. */
  width?: number;
  /** Size of the penultimate features (default 64). */
  featureDim?: number;
  inputMean?: number;
  inputStd?: number;
}

/** Training-time log-mel augmentation (mel-cnn only). */
export interface MelAugmentation {
  /** Adds U(−gainLog, gainLog) to an example's whole log-mel (a gain of e^±gainLog). */
  gainLog?: number;
  /** Shifts an example by U{−melShift..melShift} mel bins, repeating the edge bins. */
  melShift?: number;
}

export interface Classifier {
  readonly parameterCount: number;
  /** One optimiser step (cross-entropy) per consecutive batchSize rows; each step's loss and batch accuracy. */
  trainSteps(
    x: Tensor<FloatArray | Uint8Array>,
    labels: Tensor<Int32Array>,
    batchSize: number,
  ): Promise<{ losses: Tensor<Float64Array>; accuracies: Tensor<Float64Array> }>;
  /** Logits (B, classes) and penultimate features (B, featureDim). */
  predict(x: Tensor<FloatArray | Uint8Array>): Promise<{ logits: Tensor<Float32Array>; features: Tensor<Float32Array> }>;
  parameters(): Promise<NamedTensors>;
  loadParameters(values: NamedTensors): Promise<Record<string, never>>;
}

interface NativeAddon {
  Classifier: new (
    options: PlacementOptions & { network: ClassifierNetwork; optimizer?: OptimizerOptions; augmentation?: MelAugmentation },
  ) => Classifier;
  EpsModel: new (options: EpsModelOptions) => EpsModel;
  TorchScriptEps: new (options: TorchScriptEpsOptions) => EpsSource;
  TorchScriptJointEps: new (options: TorchScriptJointEpsOptions) => JointEpsSource;
  AnalyticEps: new (
    options: PlacementOptions & { mixture: CoupledGaussianMixture; modality: 'audio' | 'video'; schedule: ScheduleOptions },
  ) => EpsSource;
  OracleCritic: new (
    options: PlacementOptions & { mixture: CoupledGaussianMixture; audioSchedule: ScheduleOptions; videoSchedule: ScheduleOptions },
  ) => JointCritic;
  /**
   * With denoisers, the network reads the base models' one-step estimates of the clean pair x̂0 = (x_t − σ_t ε̂) / √ᾱ_t
   * in place of x_t, ε̂ held constant (native/src/guidance.h); every call on the discriminator then also reads them.
   * `precision` is that of its guidance (logit, residuals, and as a sampler's critic): 'fp32' (default), or 'bf16',
   * its forward passes in bf16 autocast with ℓ and the residuals returned in fp32. Training has its own (the trainer's).
   */
  Discriminator: new (
    options: PlacementOptions & {
      network: DiscriminatorNetwork;
      audioSchedule: ScheduleOptions;
      videoSchedule: ScheduleOptions;
      denoisers?: { audio: EpsSource; video: EpsSource };
      precision?: Precision;
    },
  ) => Discriminator;
  /** The base models' ε̂ of the denoising loss: an audio and a video ε-source, or a joint one (one call on both inputs). */
  DiscriminatorTrainer: {
    new (discriminator: Discriminator, audioBase: EpsSource, videoBase: EpsSource, options: DiscriminatorTrainerOptions): DiscriminatorTrainer;
    new (discriminator: Discriminator, jointBase: JointEpsSource, options: DiscriminatorTrainerOptions): DiscriminatorTrainer;
  };
  sample(options: SampleOptions): Promise<Record<string, Tensor>>;
  /** Waveforms (N, frames·hop) from log-mels (N, frames, M) with the mel filterbank (M, nFft/2+1); synchronous. */
  griffinLim(options: {
    logMel: Tensor<Float32Array>;
    filterbank: Tensor<Float32Array>;
    nFft: number;
    hop: number;
    iterations?: number;
    momentum?: number;
    seed?: number;
  }): Tensor<Float32Array>;
  scheduleAlphaBar(schedule: ScheduleOptions): Tensor<Float64Array>;
  /**
   * Parses and checks a network config in the core, as the models do when built from it: the complete config (every
   * field, no preset), or a NativeError MMDISCO_CONFIG whose `field` is the network's bad field.
   */
  validateNetwork(network: object): Record<string, unknown>;
  /**
   * The complete discriminator network of an official MMDisCo model config (a conf/model YAML read as an object, or
   * a parity fixture's config.json); MMDISCO_CONFIG naming the official field it cannot map.
   */
  officialNetwork(document: object): Record<string, unknown>;
  /** The released model config of that name (mmdiffusion-landscape, mmdiffusion-aist++, audioldm-animatediff, auffusion-videocrafter2). */
  officialPreset(name: string): Record<string, unknown>;
  officialPresets(): string[];
  /**
   * The tensors of a torch.save'd official state dict, checked against `network` (MMDISCO_CONFIG naming missing and
   * unexpected keys, MMDISCO_SHAPE naming the key, MMDISCO_NON_FINITE naming the tensor), in the network's order.
   */
  readOfficialCheckpoint(file: string, network: object): NamedTensors;
  runtimeInfo(): RuntimeInfo;
  /**
   * The device allocator's high-water mark in bytes since the last reset (CUDA); null on a CPU, whose peak is the
   * process's resident set (process.resourceUsage().maxRSS). With reset, the mark restarts after it is read.
   */
  peakAllocatedBytes(device: string, options?: { reset?: boolean }): number | null;
}

// ---- Data parallelism (c10d) ---------------------------------------------------------------------------------

/**
 * Where a process joins its group. Every field left out comes from torchrun's environment: RANK, WORLD_SIZE,
 * LOCAL_RANK (default 0), MASTER_ADDR (default 127.0.0.1), MASTER_PORT; a missing or malformed one is an error
 * naming it. Rank 0 hosts the rendezvous store on MASTER_PORT.
 */
export interface ProcessGroupOptions {
  rank?: number;
  worldSize?: number;
  localRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** Gloo on CPU (default), NCCL on CUDA (models on cuda:LOCAL_RANK). */
  backend?: 'gloo' | 'nccl';
  /**
   * How long to wait for the other ranks, at the rendezvous and in each collective (default 300000). A rank that
   * dies is noticed at once (its connections close); one that hangs, after this long.
   */
  timeoutMs?: number;
}

export interface ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly backend: 'gloo' | 'nccl';
  /** Where the backend's tensors live: 'cpu' for Gloo, 'cuda:LOCAL_RANK' for NCCL. */
  readonly device: string;
  /** Joins the group: resolves once every rank has joined. */
  connect(): Promise<Record<string, never>>;
  /** Element-wise sum (default) or mean over the ranks, into a fresh array; the input stays unchanged. */
  allreduce<A extends FloatArray | Int32Array>(values: Tensor<A>, op?: 'sum' | 'mean'): Promise<{ values: Tensor<A> }>;
  barrier(): Promise<Record<string, never>>;
}

export interface DataParallelOptions {
  /** Gradient bucket size in MiB (default 25); each bucket is all-reduced as soon as its gradients are ready. */
  bucketMb?: number;
  /** Size of the first bucket in MiB (default 1): the last layers' gradients, which are ready first. */
  firstBucketMb?: number;
}

/**
 * A trainer whose gradients can be averaged over the ranks of a ProcessGroup. setDataParallel is collective (every
 * rank calls it, in the same order for several models): it checks that all ranks hold the same parameter shapes and
 * copies rank 0's parameters to all. Afterwards each rank trains on its own part of every global batch.
 */
export interface DataParallelTrainer {
  setDataParallel(group: ProcessGroup, options?: DataParallelOptions): Promise<{ buckets: number }>;
}

// The trainable objects gain setDataParallel (interface merging keeps their declarations above untouched).
// EpsModel.trainSteps then takes this rank's rows of each global batch (the global batch cut into worldSize equal
// parts in rank order); its noise and timesteps are drawn for the global batch, so the run takes the same steps as
// one process on the global batch. DiscriminatorTrainer draws from seed + rank, as the released training code does.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface EpsModel extends DataParallelTrainer {}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface DiscriminatorTrainer extends DataParallelTrainer {}

interface NativeAddon {
  ProcessGroup: new (options?: ProcessGroupOptions) => ProcessGroup;
}

// ---- Linear algebra of the evaluation metrics (native/src/linalg.h: float64, LibTorch's LAPACK, synchronous) --------

interface NativeAddon {
  /** Eigendecomposition of a symmetric (n, n) matrix: values ascending, vectors (n, n) with the eigenvectors as rows. */
  symmetricEigen(matrix: Tensor): { values: Tensor<Float64Array>; vectors: Tensor<Float64Array> };
  /** The PSD square root of a symmetric (n, n) matrix (eigenvalues below 0 by rounding count as 0). */
  symmetricSqrt(matrix: Tensor): Tensor<Float64Array>;
  /** Fréchet distance squared between N(muA, covA) and N(muB, covB) (ts/eval/frechet.ts). */
  frechetDistance(muA: Tensor, covA: Tensor, muB: Tensor, covB: Tensor): number;
}

function loadAddon(): NativeAddon {
  const file = process.env.MMDISCO_NATIVE ?? path.resolve(__dirname, '..', '..', 'build', 'Release', 'mmdisco_native.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(file) as NativeAddon;
  } catch (error) {
    throw new Error(`cannot load the native addon ${file}: ${(error as Error).message} (build it with ./setup.sh --install-only)`);
  }
}

export const native: NativeAddon = loadAddon();

/** Tensor helper: wraps a typed array with its shape, checking the element count. */
export function tensor<A extends { length: number }>(data: A, shape: number[]): Tensor<A> {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`tensor: shape [${shape}] needs ${count} values, data holds ${data.length}`);
  return { data, shape };
}

/**
 * A network config of one kind checked and completed by the core (native.validateNetwork): every field stated, no
 * preset. Throws the core's NativeError (MMDISCO_CONFIG, `field` the network's field) on a bad one.
 */
export function validateNetwork<N extends EpsNetwork | DiscriminatorNetwork>(network: N): CompleteNetwork<Omit<N, 'preset'>> {
  return native.validateNetwork(network) as CompleteNetwork<Omit<N, 'preset'>>;
}

/** Whether this build and machine have `device` ('cpu', or 'cuda[:N]' with N below the number of CUDA devices). */
function deviceAvailable(device: string): boolean {
  if (!device.startsWith('cuda')) return true;
  return Number(device.split(':')[1] ?? 0) < native.runtimeInfo().cudaDevices;
}

/**
 * Where to run a model whose checkpoint records the device it was trained on: that device when this machine has
 * it, else the CPU (a checkpoint trained on a GPU is still usable on a CPU machine; pass a device to insist).
 */
export function recordedDeviceOrCpu(device: string): string {
  return deviceAvailable(device) ? device : 'cpu';
}

/** Fails before any work when a config asks for a device this build or machine lacks; `what` names the field. */
export function assertDeviceAvailable(device: string, what: string): void {
  if (!/^(cpu|cuda(:\d+)?)$/.test(device)) throw new Error(`${what}: device must be 'cpu' or 'cuda[:N]', got '${device}'`);
  if (!deviceAvailable(device)) {
    const info = native.runtimeInfo();
    throw new Error(`${what}: '${device}' requested but this build/machine has ${info.cudaAvailable ? info.cudaDevices : 'no'} CUDA device(s)`);
  }
}
