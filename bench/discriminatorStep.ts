/**
 * MMDisCo discriminator throughput, native vs a plain PyTorch reference of the same module and loss
 * (bench/reference/discriminator_step.py) on the same torch build and thread count, side by side; the reference runs
 * every eager mode a user would pick (fp32, bf16 autocast, channels-last; TF32 on CUDA) and the ratios are taken
 * against the fastest (AdamW's per-parameter loop, foreach and fused among them); native runs its own modes (fp32, and
 * the discriminator's forward passes in bf16 autocast) and counts its fastest. With each mode's step phases, the
 * best native mode's phases cut at the same points, each side's double backward by difference (the backward against
 * that of the same step without the denoising term), and the top ops (CUDA: kernels) of each side's best mode, from
 * LibTorch's profiler natively and torch.profiler in the reference, printed side by side: the training step
 * (BCE + λ_den · denoising loss with double backward, AdamW) in pairs/s, the guidance call (forward + input
 * gradient, in fp32 and bf16 autocast on both sides), the forward pass, and one guided vs unguided sampling step; peak
 * memory of both sides (CUDA: the allocator's high-water mark of the training step; CPU: the peak resident set of the
 * side's process). Each side measures every round in a fresh process of its own. With --rounds N native and
 * reference take turns N times and the ratios are the medians of the rounds' ratios, so that load from other
 * processes on a shared machine falls on both sides alike. --brief
 * measures the training step, guidance and forward only (no phases, profiles or sampling; bench/stepCurves.ts uses it),
 * --out FILE writes the results there.
 *
 *   node dist/bench/discriminatorStep.js [--preset mmdiffusion] [--frames 4] [--size 16] [--audio-samples 1600]
 *       [--mel-frames 16] [--batch 1] [--threads N] [--repeats 5] [--rounds 1] [--modes fp32,fp32+fused-adamw,…]
 *       [--device cpu|cuda] [--python PYTHON]
 *
 * The default shape is the reduced MM-Diffusion shape of spec/performance-anchors.md (4 frames of 16×16,
 * 1,600 audio samples, batch 1). Writes bench/results/discriminator-step-<host>.json (see machine.ts).
 */
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { native, tensor, type MmdiscoDiscriminatorNetwork, type Tensor } from '../ts/native';
import { Rng } from '../ts/util/random';
import { describeMachine, median, medianMs, referencePython, runSide, writeBenchResult } from './machine';
import { printTopOps, repeatRows, topOps, type TopOp } from './opProfile';

const PRESET_SHAPES = {
  'audioldm-animatediff': { videoChannels: 4, audioChannels: 8, audio1d: false },
  'auffusion-videocrafter2': { videoChannels: 4, audioChannels: 4, audio1d: false },
  mmdiffusion: { videoChannels: 3, audioChannels: 1, audio1d: true },
} as const;

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option('preset', { choices: Object.keys(PRESET_SHAPES) as (keyof typeof PRESET_SHAPES)[], default: 'mmdiffusion' as const })
    .option('frames', { type: 'number', default: 4 })
    .option('size', { type: 'number', default: 16, describe: 'video height = width' })
    .option('audio-samples', { type: 'number', default: 1600, describe: 'waveform samples (1-D audio) or mel bins (2-D)' })
    .option('mel-frames', { type: 'number', default: 16, describe: 'time frames of 2-D audio' })
    .option('batch', { type: 'number', default: 1 })
    .option('threads', { type: 'number', default: os.cpus().length })
    .option('repeats', { type: 'number', default: 5 })
    .option('rounds', { type: 'number', default: 1, describe: 'native and reference take turns this many times' })
    .option('modes', { type: 'string', describe: 'comma-separated reference modes (default: every mode of the device)' })
    .option('sampling-steps', { type: 'number', default: 4 })
    .option('device', { type: 'string', default: 'cpu' })
    .option('python', { type: 'string', default: referencePython(), describe: 'the eager reference\'s Python (default: $MMDISCO_PYTHON, else .venv, else python3)' })
    .option('brief', { type: 'boolean', default: false, describe: 'training step, guidance and forward only' })
    .option('out', { type: 'string', describe: 'results file (default bench/results/discriminator-step-<host>.json)' })
    .option('native-side', {
      choices: ['plain', 'profile'] as const,
      hidden: true,
      describe: "measure one round's native side (profile: with its top ops) and print it as JSON (each round's own process)",
    })
    .strict()
    .check((a) => {
      for (const key of ['repeats', 'rounds'] as const) {
        if (!Number.isInteger(a[key]) || a[key] < 1) throw new Error(`--${key} must be a positive integer, got ${a[key]}`);
      }
      return true;
    })
    .parse();
  const shape = PRESET_SHAPES[args.preset];
  const b = args.batch;
  const video = [args.frames, shape.videoChannels, args.size, args.size];
  const audio = shape.audio1d ? [shape.audioChannels, args['audio-samples']] : [shape.audioChannels, args['mel-frames'], args['audio-samples']];
  const numel = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const baseHidden = 16;
  const lambdaDenoising = 1;
  const placement = { device: args.device, threads: args.threads, seed: 0 };
  const schedule = { kind: 'linear' as const };

  const network: MmdiscoDiscriminatorNetwork = { kind: 'mmdisco', preset: args.preset };
  const discriminatorOf = (precision: (typeof NATIVE_MODES)[number]) =>
    new native.Discriminator({ ...placement, network, audioSchedule: schedule, videoSchedule: schedule, precision });
  // The native modes: the training step in fp32, and with the discriminator's forward passes in bf16 autocast; the
  // same two for guidance (the Discriminator's precision).
  const NATIVE_MODES = ['fp32', 'bf16'] as const;
  const disc = discriminatorOf('fp32');
  const guidanceDiscs = NATIVE_MODES.map((precision) => ({ precision, disc: precision === 'fp32' ? disc : discriminatorOf(precision) }));
  const bases = [audio, video].map(
    (s, i) => new native.EpsModel({ ...placement, seed: i + 1, network: { kind: 'mlp', dim: numel(s), hidden: baseHidden, blocks: 1 }, schedule }),
  );
  const rng = new Rng(0);
  const gaussian = (s: number[]): Tensor<Float32Array> => tensor(rng.fillGaussian(new Float32Array(numel(s))), s);
  const batch = { realAudio: gaussian([b, ...audio]), realVideo: gaussian([b, ...video]), fakeAudio: gaussian([b, ...audio]), fakeVideo: gaussian([b, ...video]) };
  const a = gaussian([b, ...audio]);
  const v = gaussian([b, ...video]);

  const trainerOf = (precision: (typeof NATIVE_MODES)[number], timePhases = false, lambda = lambdaDenoising) =>
    new native.DiscriminatorTrainer(disc, bases[0], bases[1], { lambdaDenoising: lambda, optimizer: { lr: 1e-4 }, seed: 1, precision, timePhases });
  // The reference cuts its step at the first four; the finiteness checks that stop training at a NaN are native only.
  const PHASES = ['forward', 'inputGradient', 'backward', 'optimizer', 'finiteCheck'] as const;
  // Median milliseconds per phase over `repeats` steps, as the reference's phasesMs; lambda 0: without the denoising
  // term (no input gradient, a first-order backward), as its firstOrderPhasesMs.
  const nativePhases = async (precision: (typeof NATIVE_MODES)[number], lambda = lambdaDenoising): Promise<Record<(typeof PHASES)[number], number>> => {
    const phaseTrainer = trainerOf(precision, true, lambda);
    await phaseTrainer.trainSteps(batch, b); // warm-up
    const rows: number[][] = [];
    for (let i = 0; i < args.repeats; i++) rows.push(Array.from((await phaseTrainer.trainSteps(batch, b)).phasesMs!.data));
    return Object.fromEntries(PHASES.map((name, j) => [name, median(rows.map((row) => row[j]))])) as Record<
      (typeof PHASES)[number],
      number
    >;
  };
  // The ops (CUDA: kernels) that take the most time in a native mode's training step.
  const profileBatch = Object.fromEntries(Object.entries(batch).map(([key, t]) => [key, repeatRows(t)])) as typeof batch;
  const nativeTopOps = async (precision: (typeof NATIVE_MODES)[number]) => {
    const trainer = trainerOf(precision);
    await trainer.trainSteps(batch, b); // warm-up
    return topOps(await trainer.profileSteps(profileBatch, b));
  };
  const cuda = args.device.startsWith('cuda');
  // `profile`: also the top ops, in the last round only, as the reference profiles its last round.
  const measureNative = async (profile: boolean) => {
    const modes = [];
    let peakAllocatedBytes = 0;
    for (const precision of NATIVE_MODES) {
      const trainer = trainerOf(precision);
      if (cuda) native.peakAllocatedBytes(args.device, { reset: true });
      modes.push({ mode: precision, trainStepMs: await medianMs(() => trainer.trainSteps(batch, b), args.repeats) });
      if (cuda) peakAllocatedBytes = Math.max(peakAllocatedBytes, native.peakAllocatedBytes(args.device) ?? 0);
    }
    const best = modes.reduce((x, y) => (y.trainStepMs < x.trainStepMs ? y : x));
    const guidanceModes = [];
    for (const { precision, disc: d } of guidanceDiscs) {
      guidanceModes.push({ mode: precision, guidanceMs: await medianMs(() => d.residuals(a, v, 500), args.repeats) });
    }
    const bestGuidance = guidanceModes.reduce((x, y) => (y.guidanceMs < x.guidanceMs ? y : x));
    return {
      parameterCount: disc.parameterCount,
      bestMode: best.mode,
      trainStepMs: best.trainStepMs,
      modes,
      phasesMs: args.brief ? undefined : await nativePhases(best.mode),
      firstOrderPhasesMs: args.brief ? undefined : await nativePhases(best.mode, 0),
      topOps: profile ? await nativeTopOps(best.mode) : undefined,
      guidanceMs: bestGuidance.guidanceMs,
      guidanceBestMode: bestGuidance.mode,
      guidanceModes,
      forwardMs: await medianMs(() => disc.logit(a, v, 500), args.repeats),
      // CUDA: the allocator's high-water mark over the training steps of every mode; CPU: this process's peak RSS.
      peakMemoryMiB: cuda ? peakAllocatedBytes / 2 ** 20 : process.resourceUsage().maxRSS / 1024,
    };
  };
  type NativeResult = Awaited<ReturnType<typeof measureNative>>;
  if (args['native-side']) {
    console.log(JSON.stringify(await measureNative(args['native-side'] === 'profile')));
    return;
  }
  // The native side in a fresh process (this script with --native-side), as the reference runs in its own.
  const measureNativeProcess = (profile: boolean): NativeResult =>
    runSide(process.execPath, [__filename, ...process.argv.slice(2), '--native-side', profile ? 'profile' : 'plain']);
  type ReferenceResult = {
    parameterCount: number;
    bestMode: string;
    trainStepMs: number;
    guidanceMs: number;
    forwardMs: number;
    modes: {
      mode: string;
      trainStepMs: number;
      phasesMs: Record<string, number>;
      firstOrderPhasesMs: Record<string, number>;
      peakMemoryMiB?: number;
    }[];
    topOps: TopOp[] | null;
    peakRssMiB: number;
    torchVersion: string;
    threads: number;
  };
  const measureReference = (profile: boolean): ReferenceResult =>
    runSide(args.python, [path.join('bench', 'reference', 'discriminator_step.py'), '--json', JSON.stringify({
      preset: args.preset, frames: args.frames, size: args.size, audioSamples: args['audio-samples'], melFrames: args['mel-frames'],
      batch: b, threads: args.threads, repeats: args.repeats, device: args.device, baseHidden, lambdaDenoising, profile,
      phases: !args.brief,
      modes: args.modes?.split(','),
    })]);

  const rounds: { native: NativeResult; reference: ReferenceResult }[] = [];
  for (let round = 0; round < args.rounds; round++) {
    const profile = !args.brief && round === args.rounds - 1;
    rounds.push({ native: measureNativeProcess(profile), reference: measureReference(profile) });
  }
  const last = rounds[rounds.length - 1];
  const reference = last.reference;
  if (reference.parameterCount !== last.native.parameterCount) {
    throw new Error(`parameter counts differ: native ${last.native.parameterCount}, reference ${reference.parameterCount}`);
  }
  const medianOf = (pick: (r: (typeof rounds)[number]) => number) => median(rounds.map(pick));
  const nativeResult = {
    ...last.native,
    trainStepMs: medianOf((r) => r.native.trainStepMs),
    guidanceMs: medianOf((r) => r.native.guidanceMs),
    forwardMs: medianOf((r) => r.native.forwardMs),
  };
  const sampleOptions = { sources: bases, shapes: [audio, video], n: b, steps: args['sampling-steps'], sampler: 'ddim' as const, seed: 0 };
  const guided = guidanceDiscs.find((g) => g.precision === last.native.guidanceBestMode)!.disc;
  const sampling = args.brief
    ? undefined
    : {
        unguidedStepMs: (await medianMs(() => native.sample(sampleOptions), args.repeats)) / args['sampling-steps'],
        guidedStepMs: (await medianMs(() => native.sample({ ...sampleOptions, critic: guided, lambdas: [1, 1] }), args.repeats)) / args['sampling-steps'],
        guidancePrecision: last.native.guidanceBestMode,
      };
  const bestReferenceMode = (r: ReferenceResult) => r.modes.find((m) => m.mode === r.bestMode)!;
  const bestModePhases = (r: ReferenceResult) => bestReferenceMode(r).phasesMs;
  const nativePhasesMs = last.native.phasesMs;
  const nativeFirstOrderMs = last.native.firstOrderPhasesMs;
  // Peak memory: CUDA, the allocator's high-water mark of the training step (the reference's best mode); CPU, the
  // processes' peak resident sets (each includes its runtime: node and V8, or the Python interpreter).
  const referencePeakMiB = cuda
    ? reference.modes.find((m) => m.mode === reference.bestMode)!.peakMemoryMiB ?? null
    : reference.peakRssMiB;

  const result = {
    shape: { preset: args.preset, video, audio, batch: b, device: args.device, threads: args.threads },
    native: { ...nativeResult, pairsPerSecond: (1000 * b) / nativeResult.trainStepMs },
    reference: { ...reference, pairsPerSecond: (1000 * b) / reference.trainStepMs },
    peakMemoryMiB: { native: last.native.peakMemoryMiB, reference: referencePeakMiB, kind: cuda ? 'allocator high-water mark' : 'process peak RSS' },
    // The native step's phases next to the fastest reference mode's (the last round's), cut at the same points.
    phasesMs: nativePhasesMs
      ? Object.fromEntries(PHASES.map((name) => [name, { native: nativePhasesMs[name], reference: bestModePhases(reference)[name] ?? null }]))
      : undefined,
    // The denoising loss's double backward, by difference: the step's backward against the backward of the same step
    // without the denoising term (first-order only), each side's best mode in the last round.
    doubleBackwardMs:
      nativePhasesMs && nativeFirstOrderMs
        ? {
            native: nativePhasesMs.backward - nativeFirstOrderMs.backward,
            reference: bestModePhases(reference).backward - bestReferenceMode(reference).firstOrderPhasesMs.backward,
            firstOrderBackward: { native: nativeFirstOrderMs.backward, reference: bestReferenceMode(reference).firstOrderPhasesMs.backward },
          }
        : undefined,
    // What the non-finite checks cost: their share of the native step (the sum of its phases).
    finiteCheckShareOfStep: nativePhasesMs ? nativePhasesMs.finiteCheck / PHASES.reduce((sum, name) => sum + nativePhasesMs[name], 0) : undefined,
    ratios: {
      // Each the median over the rounds of reference / native (> 1: native is faster).
      trainStepSpeedup: medianOf((r) => r.reference.trainStepMs / r.native.trainStepMs),
      guidanceSpeedup: medianOf((r) => r.reference.guidanceMs / r.native.guidanceMs),
      forwardSpeedup: medianOf((r) => r.reference.forwardMs / r.native.forwardMs),
      guidedOverUnguidedStep: sampling ? sampling.guidedStepMs / sampling.unguidedStepMs : undefined,
    },
    rounds: rounds.map((r) => ({
      nativeTrainStepMs: r.native.trainStepMs,
      nativeBestMode: r.native.bestMode,
      referenceTrainStepMs: r.reference.trainStepMs,
      referenceBestMode: r.reference.bestMode,
      trainStepSpeedup: r.reference.trainStepMs / r.native.trainStepMs,
    })),
    sampling,
    command: `node dist/bench/discriminatorStep.js ${process.argv.slice(2).join(' ')}`.trim(),
  };
  console.log(JSON.stringify(result, null, 2));
  if (last.native.topOps && reference.topOps) {
    printTopOps(`top ops of the training step (native ${last.native.bestMode}, reference ${reference.bestMode})`, last.native.topOps, reference.topOps);
  }
  const file = await writeBenchResult('discriminator-step', result, args.out);
  console.log(`machine: ${describeMachine().cpu}; results: ${file}`);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
