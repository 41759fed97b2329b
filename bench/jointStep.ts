/**
 * The guided joint sampling step at the paper's size, side by side with the unguided one: MM-Diffusion's multimodal
 * U-Net with the released flags (16 frames of 64×64, 25,600 audio samples; random weights, exported to TorchScript
 * from the official code) sampled by DPM-Solver++ for one pair, with and without the full-size Landscape discriminator
 * (the released architecture, random weights) as guidance. The two take turns for --rounds rounds (which goes first
 * alternates), so that load from other processes on a shared machine falls on both alike; the figures are the
 * medians per model call and the median of the rounds' guided / unguided ratios. The load average is recorded
 * per round.
 *
 *   node dist/bench/jointStep.js [--cache .cache/paper-joint] [--official-dir .cache/official] [--steps 3]
 *       [--rounds 3] [--sampler dpm-solver++-3s] [--threads N] [--python PYTHON]
 *
 * First use generates into --cache (gitignored; the U-Net's module is ~0.5 GB): unet/ (joint.json, module.pt,
 * export.json) by examples/export_mmdiffusion_torchscript.py --random-init from an extracted copy of the official
 * code (--official-dir; the Python needs torch, einops and pyyaml), and landscape/discriminator.safetensors, the
 * randomly initialised discriminator with its network, which `sample-joint --guidance` reads. Writes
 * bench/results/joint-step-<host>.json (see machine.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadJointBase } from '../ts/base/jointBase';
import { saveDiscriminatorWeights } from '../ts/checkpoint/discriminatorWeights';
import { SAMPLERS } from '../ts/core/samplers';
import { GUIDANCE_FILES } from '../ts/guidance/train';
import { type DiscriminatorNetwork, native } from '../ts/native';
import { describeMachine, median, medianMs, referencePython, writeBenchResult } from './machine';

const UNET_SEED = 2001;
const DISCRIMINATOR_SEED = 1;

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option('cache', { type: 'string', default: path.resolve('.cache', 'paper-joint'), describe: 'where the exported U-Net and discriminator are kept' })
    .option('official-dir', { type: 'string', default: path.resolve('.cache', 'official'), describe: 'an extracted copy of the official code (for the first export)' })
    .option('steps', { type: 'number', default: 3, describe: 'DPM-Solver++ model calls per run' })
    .option('rounds', { type: 'number', default: 3 })
    .option('sampler', { choices: SAMPLERS.filter((s) => s.startsWith('dpm-solver++')), default: 'dpm-solver++-3s' })
    .option('threads', { type: 'number', default: os.cpus().length })
    .option('python', { type: 'string', default: referencePython(), describe: 'the eager reference\'s Python (default: $MMDISCO_PYTHON, else .venv, else python3)' })
    .strict()
    .check((a) => {
      for (const key of ['steps', 'rounds'] as const) {
        if (!Number.isInteger(a[key]) || a[key] < 1) throw new Error(`--${key} must be a positive integer, got ${a[key]}`);
      }
      return true;
    })
    .parse();

  const unetDir = path.join(args.cache, 'unet');
  if (!existsSync(path.join(unetDir, 'joint.json'))) exportUnet(args.python, args['official-dir'], unetDir);
  const exported = JSON.parse(readFileSync(path.join(unetDir, 'export.json'), 'utf8')) as { parameters: number; weights: object };
  const base = await loadJointBase(unetDir, { threads: args.threads });

  const network = native.officialNetwork(native.officialPreset('mmdiffusion-landscape')) as unknown as DiscriminatorNetwork;
  const discriminator = new native.Discriminator({
    network,
    audioSchedule: base.config.schedule,
    videoSchedule: base.config.schedule,
    threads: args.threads,
    seed: DISCRIMINATOR_SEED,
  });
  const guidanceFile = path.join(args.cache, 'landscape', GUIDANCE_FILES.weights);
  if (!existsSync(guidanceFile)) {
    mkdirSync(path.dirname(guidanceFile), { recursive: true });
    await saveDiscriminatorWeights(guidanceFile, discriminator, network);
  }

  const shapes = [base.config.shapes.audio, base.config.shapes.video];
  const options = { joint: base.model, shapes, n: 1, sampler: args.sampler, steps: args.steps, seed: 0, dpmThresholding: true };
  const runs = {
    unguided: () => native.sample(options),
    guided: () => native.sample({ ...options, critic: discriminator, lambdas: [1, 1] }),
  };
  await native.sample({ ...options, steps: 1, critic: discriminator, lambdas: [1, 1] }); // warm-up of both models

  const rounds: { unguidedStepMs: number; guidedStepMs: number; ratio: number; loadAverage1m: number }[] = [];
  for (let round = 0; round < args.rounds; round++) {
    const order = round % 2 === 0 ? (['unguided', 'guided'] as const) : (['guided', 'unguided'] as const);
    const ms: Partial<Record<keyof typeof runs, number>> = {};
    for (const side of order) ms[side] = (await medianMs(runs[side], 1, 0)) / args.steps; // one timed run, per model call
    rounds.push({ unguidedStepMs: ms.unguided!, guidedStepMs: ms.guided!, ratio: ms.guided! / ms.unguided!, loadAverage1m: os.loadavg()[0] });
    console.log(`round ${round + 1}/${args.rounds}: unguided ${(ms.unguided! / 1000).toFixed(2)} s, guided ${(ms.guided! / 1000).toFixed(2)} s per model call (load ${os.loadavg()[0].toFixed(1)})`);
  }
  const unguidedStepMs = median(rounds.map((r) => r.unguidedStepMs));
  const guidedStepMs = median(rounds.map((r) => r.guidedStepMs));
  const result = {
    shape: { video: base.config.shapes.video, audio: base.config.shapes.audio, batch: 1, threads: args.threads },
    sampler: { name: args.sampler, steps: args.steps, thresholding: true, lambdas: [1, 1] },
    parameters: { unet: exported.parameters, discriminator: discriminator.parameterCount },
    weights: { unet: exported.weights, discriminator: { preset: 'mmdiffusion-landscape', randomInit: DISCRIMINATOR_SEED } },
    unguidedStepMs,
    guidedStepMs,
    // The median over the rounds of guided / unguided (> 1: guidance costs that factor per model call).
    guidedOverUnguided: median(rounds.map((r) => r.ratio)),
    rounds,
    cache: path.resolve(args.cache),
    command: `node dist/bench/jointStep.js ${process.argv.slice(2).join(' ')}`.trim(),
  };
  console.log(JSON.stringify(result, null, 2));
  const file = await writeBenchResult('joint-step', result);
  console.log(`machine: ${describeMachine().cpu}; results: ${file}`);
}

/** The U-Net with the released flags and seeded random weights, exported by the official code. */
function exportUnet(python: string, officialDir: string, out: string): void {
  const modelConfig = path.join(officialDir, 'conf', 'model', 'mm_diffusion', 'base.yaml');
  if (!existsSync(modelConfig)) {
    throw new Error(
      `--official-dir ${officialDir}: no ${modelConfig}; extract the official code first: ` +
        `mkdir -p ${officialDir} && git --git-dir <SonyResearch/MMDisCo clone>/.git archive 3b9f84f | tar -x -C ${officialDir}`,
    );
  }
  console.log(`exporting the paper-size U-Net (random weights, seed ${UNET_SEED}) to ${out} …`);
  execFileSync(
    python,
    [path.join('examples', 'export_mmdiffusion_torchscript.py'), '--random-init', String(UNET_SEED), '--official-dir', officialDir, '--model-config', modelConfig, '--out', out],
    { stdio: 'inherit' },
  );
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
