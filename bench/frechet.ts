/**
 * Symmetric eigendecomposition and Fréchet distance of feature covariances: the JS solver ts/util/linalg.ts used to
 * carry (bench/reference/jsEigen.ts, tred2/tql2) against LibTorch's through the addon (native/src/linalg.h), measured
 * side by side in one run on the JS thread (one intra-op thread, as the evaluation runs them).
 *
 *   node dist/bench/frechet.js [--dims 64,256,512] [--samples 2000] [--repeats 3]
 *
 * Prints the median times, the JS/torch ratio and how far the two Fréchet distances are apart (absolute and relative),
 * also on the shipped evaluators' real-test features (evaluators/*: the first half of the pairs against the second),
 * and writes bench/results/frechet-<host>.json.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { hideBin } from 'yargs/helpers';
import yargs from 'yargs';
import { MODALITIES } from '../ts/core/modality';
import { loadEvaluators } from '../ts/eval/evaluators';
import { frechetDistance, gaussianStats } from '../ts/eval/frechet';
import { Rng } from '../ts/util/random';
import { symmetricEigen } from '../ts/util/linalg';
import { describeMachine, median, writeBenchResult } from './machine';
import { jsFrechetDistance, jsSymmetricEigen } from './reference/jsEigen';

interface Row {
  dim: number;
  eigenMs: { js: number; torch: number; ratio: number };
  frechetMs: { js: number; torch: number; ratio: number };
  frechet: { js: number; torch: number; absDiff: number; relDiff: number };
}

/** n samples of correlated features (a random linear mix of Gaussians plus a shift), like classifier features. */
function features(n: number, dim: number, rng: Rng, shift: number): Float32Array {
  const mix = rng.fillGaussian(new Float64Array(dim * dim));
  const z = rng.fillGaussian(new Float64Array(dim));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    rng.fillGaussian(z);
    for (let a = 0; a < dim; a++) {
      let s = shift;
      for (let b = 0; b < dim; b++) s += (mix[a * dim + b] * z[b]) / Math.sqrt(dim);
      out[i * dim + a] = s;
    }
  }
  return out;
}

function timeMs<T>(repeats: number, f: () => T): { ms: number; value: T } {
  const times: number[] = [];
  let value!: T;
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    value = f();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms: median(times), value };
}

async function main(): Promise<void> {
  const argv = yargs(hideBin(process.argv))
    .option('dims', { type: 'string', default: '64,256,512' })
    .option('samples', { type: 'number', default: 2000 })
    .option('repeats', { type: 'number', default: 3 })
    .strict()
    .parseSync();
  const rows: Row[] = [];
  console.log('dim  eigen js/torch ms (ratio)      Fréchet js/torch ms (ratio)     Fréchet js vs torch');
  for (const dim of argv.dims.split(',').map(Number)) {
    const rng = new Rng(dim);
    const a = gaussianStats({ data: features(argv.samples, dim, rng, 0), n: argv.samples, dim });
    const b = gaussianStats({ data: features(argv.samples, dim, rng, 0.1), n: argv.samples, dim });
    const eigenJs = timeMs(argv.repeats, () => jsSymmetricEigen(a.cov, dim));
    const eigenTorch = timeMs(argv.repeats, () => symmetricEigen(a.cov, dim));
    const frechetJs = timeMs(argv.repeats, () => jsFrechetDistance(a.mean, a.cov, b.mean, b.cov));
    const frechetTorch = timeMs(argv.repeats, () => frechetDistance(a.mean, a.cov, b.mean, b.cov));
    const absDiff = Math.abs(frechetJs.value - frechetTorch.value);
    const row: Row = {
      dim,
      eigenMs: { js: eigenJs.ms, torch: eigenTorch.ms, ratio: eigenJs.ms / eigenTorch.ms },
      frechetMs: { js: frechetJs.ms, torch: frechetTorch.ms, ratio: frechetJs.ms / frechetTorch.ms },
      frechet: { js: frechetJs.value, torch: frechetTorch.value, absDiff, relDiff: absDiff / Math.abs(frechetJs.value) },
    };
    rows.push(row);
    const ms = (t: { js: number; torch: number; ratio: number }) =>
      `${t.js.toFixed(1).padStart(8)} / ${t.torch.toFixed(1).padStart(6)} (${t.ratio.toFixed(1).padStart(5)}×)`;
    console.log(
      `${String(dim).padStart(3)}  ${ms(row.eigenMs)}   ${ms(row.frechetMs)}   ${row.frechet.js.toPrecision(10)} vs ` +
        `${row.frechet.torch.toPrecision(10)} (|Δ| ${absDiff.toExponential(2)}, rel ${row.frechet.relDiff.toExponential(2)})`,
    );
  }
  // The same comparison on real features: what the results files' Fréchet distances are computed from.
  const shipped: { evaluators: string; modality: string; dim: number; js: number; torch: number; absDiff: number; relDiff: number }[] = [];
  const evaluatorsRoot = path.resolve(__dirname, '..', '..', 'evaluators');
  for (const name of readdirSync(evaluatorsRoot, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)) {
    const { reference } = await loadEvaluators(path.join(evaluatorsRoot, name));
    for (const modality of MODALITIES) {
      const { data, n, dim } = reference[modality];
      const half = Math.floor(n / 2);
      const a = gaussianStats({ data: data.subarray(0, half * dim), n: half, dim });
      const b = gaussianStats({ data: data.subarray(half * dim, 2 * half * dim), n: half, dim });
      const js = jsFrechetDistance(a.mean, a.cov, b.mean, b.cov);
      const torch = frechetDistance(a.mean, a.cov, b.mean, b.cov);
      const absDiff = Math.abs(js - torch);
      shipped.push({ evaluators: name, modality, dim, js, torch, absDiff, relDiff: absDiff / Math.abs(js) });
      console.log(
        `${name} ${modality} (${dim}-dim, ${half} vs ${half} real test pairs): Fréchet ${js.toPrecision(12)} (JS) vs ` +
          `${torch.toPrecision(12)} (torch), |Δ| ${absDiff.toExponential(2)}, rel ${(absDiff / Math.abs(js)).toExponential(2)}`,
      );
    }
  }
  const machine = describeMachine();
  console.log(`${machine.cpu}, torch ${machine.torch}, 1-min load ${machine.loadAverage1m.toFixed(1)}`);
  console.log(`wrote ${await writeBenchResult('frechet', { samples: argv.samples, repeats: argv.repeats, rows, shipped })}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
