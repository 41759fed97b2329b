/**
 * Class conditioning of the discriminator: the conditioning block of the guidance config, the training draws
 * (condition dropout at its rate, reproducible per step, the same for any number of ranks), and the residual CFG
 * r∅_m + S_m·(r^c_m − r∅_m) of the native critic, each modality m at its own scale, against the two branches'
 * residuals computed separately, in the residuals call and inside the sampler.
 */
import { strict as assert } from 'node:assert';
import { type GuidanceConfig, GuidanceConfigSchema } from '../../ts/config/guidance';
import { ConfigError, validateConfig } from '../../ts/config/load';
import { classConditions, type ConditioningConfig, pairClasses, trainingConditions } from '../../ts/guidance/conditioning';
import { type Discriminator, type EpsModel, native, type ScheduleOptions, type Tensor, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';

const conditioning: ConditioningConfig = { column: 'label', classes: 10, dropout: 0.25, mismatch: 0, projection: false, classLoss: 0 };

describe('guidance conditioning: config and training draws', () => {
  const config = {
    discriminator: { width: 8, channelMult: [1], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'A' },
    training: { steps: 1, batchSize: 4, lr: 1e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0, checkpointEvery: 1, logEvery: 1, seed: 0 },
  };

  it('the conditioning block is optional and validated, errors naming the field', () => {
    assert.equal(validateConfig(GuidanceConfigSchema, config, 'cfg.json').conditioning, undefined);
    const parsed: GuidanceConfig = validateConfig(GuidanceConfigSchema, { ...config, conditioning }, 'cfg.json');
    assert.deepEqual(parsed.conditioning, conditioning);
    const bad = (block: Record<string, unknown>, field: RegExp) =>
      assert.throws(() => validateConfig(GuidanceConfigSchema, { ...config, conditioning: { ...conditioning, ...block } }, 'cfg.json'), field);
    bad({ dropout: 1 }, /cfg\.json: conditioning\.dropout/);
    bad({ dropout: -0.1 }, /cfg\.json: conditioning\.dropout/);
    bad({ classes: 1 }, /cfg\.json: conditioning\.classes/);
    bad({ classes: 2.5 }, /cfg\.json: conditioning\.classes/);
    bad({ column: '' }, /cfg\.json: conditioning\.column/);
    bad({ colum: 'label' }, /cfg\.json: conditioning/);
    bad({ classLoss: -1 }, /cfg\.json: conditioning\.classLoss/);
    bad({ classLoss: 0.5, projection: false }, /cfg\.json: conditioning\.classLoss: classLoss needs projection: true/);
  });

  it('conditions are one-hot rows, the null condition the zero row, the same in both towers', () => {
    const c = classConditions([2, null, 0], 3);
    assert.deepEqual(c.video!.shape, [3, 3]);
    assert.deepEqual(Array.from(c.video!.data), [0, 0, 1, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(c.audio, c.video);
  });

  it('class columns are checked: missing or out of range fails naming the column and the data', () => {
    assert.deepEqual(pairClasses([0, 9, 3], conditioning, '--real /d'), [0, 9, 3]);
    assert.throws(() => pairClasses(undefined, conditioning, '--real /d'), (e: Error) => e instanceof ConfigError && /--real \/d: no meta column 'label'/.test(e.message));
    assert.throws(() => pairClasses([1, 10], conditioning, '--real /d'), /--real \/d: meta 'label' holds 10, not a class in \[0, 10\)/);
    assert.throws(() => pairClasses([1, -1], conditioning, '--real /d'), /holds -1/);
    assert.throws(() => pairClasses([0.5], conditioning, '--real /d'), /holds 0\.5/);
  });

  it('drops conditions at the configured rate, draws fake classes uniformly, and reproduces by (seed, step)', () => {
    const batchSize = 32;
    const steps = 400;
    const realClasses = Array.from({ length: batchSize }, (_, i) => i % 10);
    const rows = { batchSize, rank: 0, worldSize: 1 };
    let nullReal = 0;
    let nullFake = 0;
    const fakeCounts = new Array<number>(10).fill(0);
    for (let step = 0; step < steps; step++) {
      const { real, fake } = trainingConditions(conditioning, 5, step, realClasses, rows);
      real.forEach((c, i) => (c === null ? nullReal++ : assert.equal(c, realClasses[i])));
      for (const c of fake) c === null ? nullFake++ : fakeCounts[c]++;
    }
    const draws = batchSize * steps; // 12800: the binomial std of a rate is below 0.004
    assert.ok(Math.abs(nullReal / draws - 0.25) < 0.02, `real null rate ${nullReal / draws}`);
    assert.ok(Math.abs(nullFake / draws - 0.25) < 0.02, `fake null rate ${nullFake / draws}`);
    const kept = draws - nullFake;
    for (const count of fakeCounts) assert.ok(Math.abs(count / kept - 0.1) < 0.015, `fake class rates ${fakeCounts.map((c) => c / kept)}`);

    assert.deepEqual(trainingConditions(conditioning, 5, 7, realClasses, rows), trainingConditions(conditioning, 5, 7, realClasses, rows));
    assert.notDeepEqual(trainingConditions(conditioning, 5, 7, realClasses, rows), trainingConditions(conditioning, 5, 8, realClasses, rows));
    assert.notDeepEqual(trainingConditions(conditioning, 5, 7, realClasses, rows), trainingConditions(conditioning, 6, 7, realClasses, rows));
    const none = trainingConditions({ ...conditioning, dropout: 0 }, 5, 7, realClasses, rows);
    assert.deepEqual(none.real, realClasses);
    assert.ok(none.fake.every((c) => c !== null));
  });

  it('mismatched negatives: real rows wrong in the class, the audio or the video, never the null condition, at the configured rate', () => {
    const rows = { batchSize: 64, rank: 0, worldSize: 1 };
    const realClasses = Array.from({ length: 64 }, (_, i) => i % 10);
    const kinds = { class: 0, audio: 0, video: 0 };
    for (let step = 0; step < 200; step++) {
      const { fake, negatives } = trainingConditions({ ...conditioning, mismatch: 0.4 }, 5, step, realClasses, rows);
      for (const n of negatives) {
        const condition = fake[n.row];
        assert.ok(condition !== null, `row ${n.row}: the null condition`);
        // Some part contradicts the condition, and only one part when a partner row lends its audio or video.
        if (n.audio === n.row && n.video === n.row) {
          kinds.class++;
          assert.notEqual(condition, realClasses[n.row], `row ${n.row}: its own class`);
        } else {
          assert.equal(condition, realClasses[n.row]);
          const [wrong, kept] = n.audio !== n.row ? ['audio', n.video] as const : ['video', n.audio] as const;
          kinds[wrong]++;
          assert.equal(kept, n.row);
          assert.notEqual(realClasses[wrong === 'audio' ? n.audio : n.video], condition, `row ${n.row}: the ${wrong} partner has the same class`);
        }
      }
    }
    const total = kinds.class + kinds.audio + kinds.video;
    assert.ok(Math.abs(total / (200 * 64) - 0.4) < 0.02, `mismatch rate ${total / (200 * 64)}`);
    for (const [kind, count] of Object.entries(kinds)) assert.ok(Math.abs(count / total - 1 / 3) < 0.03, `${kind}: ${count} of ${total}`);
    // Without mismatching there are no such negatives, and a row of a class alone in the batch falls back to a wrong class.
    assert.deepEqual(trainingConditions(conditioning, 5, 3, realClasses, rows).negatives, []);
    const alone = trainingConditions({ ...conditioning, mismatch: 0.99 }, 5, 3, [2, 2, 2, 2], { batchSize: 4, rank: 0, worldSize: 1 });
    assert.ok(alone.negatives.length > 0 && alone.negatives.every((n) => n.audio === n.row && n.video === n.row));
    assert.ok(alone.negatives.every((n) => alone.fake[n.row] !== 2));
  });

  it('each rank keeps its rows of the global batch draws', () => {
    const realClasses = Array.from({ length: 8 }, (_, i) => (3 * i) % 10);
    const whole = trainingConditions(conditioning, 1, 3, realClasses, { batchSize: 8, rank: 0, worldSize: 1 });
    const ranks = [0, 1].map((rank) => trainingConditions(conditioning, 1, 3, realClasses.slice(4 * rank, 4 * rank + 4), { batchSize: 4, rank, worldSize: 2 }));
    assert.deepEqual([...ranks[0].real, ...ranks[1].real], whole.real);
    assert.deepEqual([...ranks[0].fake, ...ranks[1].fake], whole.fake);
  });
});

// ---- residual CFG of the native critic (float64) ---------------------------------------------------------------

const CLASSES = 4;
const B = 2;
const shapes = { audio: [1, 4, 4], video: [2, 2, 4, 4] };
// A one-step sampler runs at t = 0 only: σ_0 = √0.1 and large λ make the guidance move the samples well above float32 rounding.
const schedule: ScheduleOptions = { kind: 'linear', timesteps: 10, betaStart: 0.1, betaEnd: 0.3 };

function gaussian(rng: Rng, shape: number[], scale = 1): Tensor<Float64Array> {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = scale * rng.gaussian();
  return tensor(data, shape);
}

/** a + s·(b − a), elementwise. */
const blend = (a: Tensor, b: Tensor, s: number) => Array.from(a.data, (x, i) => x + s * (b.data[i] - x));

/** |actual − expected| ≤ tolerance · max |expected|, elementwise. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  const scale = maxAbs(expected);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * scale, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

const sum = (values: ArrayLike<number>) => Array.from(values).reduce((total, x) => total + x, 0);
const maxAbs = (values: ArrayLike<number>) => Math.max(...Array.from(values, Math.abs));
const maxDifference = (a: Tensor, b: Tensor) => maxAbs(Array.from(a.data, (x, i) => x - b.data[i]));

/** A tiny class-conditioned discriminator, its weights away from the zero-initialised 1×1 convs so that the condition changes ℓ. */
async function conditionedDiscriminator(dtype: 'float32' | 'float64', rng: Rng): Promise<Discriminator> {
  const disc = new native.Discriminator({
    network: {
      kind: 'mmdisco', width: 8, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'A',
      videoChannels: 2, audioChannels: 1, audioConv: '2d', videoTextDim: CLASSES, audioTextDim: CLASSES,
    },
    audioSchedule: schedule, videoSchedule: schedule, dtype, seed: 2, threads: 1,
  });
  const { values } = await disc.flatParameters();
  await disc.setFlatParameters(gaussian(rng, values.shape, 0.2));
  return disc;
}

describe('guidance conditioning: residual CFG r∅_m + S_m·(r^c_m − r∅_m)', function () {
  this.timeout(120_000);
  const rng = new Rng(11);
  const condition = classConditions([3, 1], CLASSES);
  const nullCondition = classConditions([null, null], CLASSES);
  const both = (s: number) => ({ nullCondition, scales: { audio: s, video: s } });
  const modalities = ['audio', 'video'] as const;

  /** Float64 noisy inputs at two timesteps, and the conditional and null branches' residuals there. */
  async function branches(disc: Discriminator) {
    const a = gaussian(rng, [B, ...shapes.audio]);
    const v = gaussian(rng, [B, ...shapes.video]);
    const t = tensor(new Int32Array([2, 7]), [B]);
    const conditional = await disc.residuals(a, v, t, condition);
    const unconditional = await disc.residuals(a, v, t, nullCondition);
    const difference = modalities.map((m) => maxDifference(conditional[m], unconditional[m]) / maxAbs(conditional[m].data));
    assert.ok(Math.min(...difference) > 0.02, `the condition matters: relative differences ${difference}`);
    return { a, v, t, conditional, unconditional };
  }

  it('one scale S for both (float64): S = 1 is the conditional branch, S = 0 the null one, any S the blend and −σ∇ of ℓ∅ + S·(ℓ^c − ℓ∅)', async () => {
    const disc = await conditionedDiscriminator('float64', rng);
    const { a, v, t, conditional, unconditional } = await branches(disc);
    assert.deepEqual(await disc.residuals(a, v, t, condition, both(1)), conditional);
    assert.deepEqual(await disc.residuals(a, v, t, condition, both(0)), unconditional);
    const sigma = Array.from(t.data, (step) => Math.sqrt(1 - native.scheduleAlphaBar(schedule).data[step]));
    const sumLogit = async (aa: Tensor, vv: Tensor, scale: number) => sum((await disc.logit(aa, vv, t, condition, both(scale))).logit.data);
    for (const scale of [2.5, -0.5]) {
      const guided = await disc.residuals(a, v, t, condition, both(scale));
      for (const m of modalities) assertClose(guided[m].data, blend(unconditional[m], conditional[m], scale), 1e-9, `S=${scale} r_${m}`);
      const ell = await disc.logit(a, v, t, condition, both(scale));
      const [ellC, ellNull] = [await disc.logit(a, v, t, condition), await disc.logit(a, v, t, nullCondition)];
      assertClose(ell.logit.data, blend(ellNull.logit, ellC.logit, scale), 1e-9, `S=${scale} ℓ`);
      // The single-scale residual is the gradient of that one ℓ: checked along a random direction per modality
      // by a central difference of Σℓ.
      for (const m of modalities) {
        const x = m === 'audio' ? a : v;
        const direction = gaussian(rng, x.shape);
        const shifted = (h: number) => tensor(Float64Array.from(x.data, (xi, i) => xi + h * direction.data[i]), x.shape);
        const h = 1e-5;
        const [plus, minus] = m === 'audio'
          ? [await sumLogit(shifted(h), v, scale), await sumLogit(shifted(-h), v, scale)]
          : [await sumLogit(a, shifted(h), scale), await sumLogit(a, shifted(-h), scale)];
        const perSample = x.data.length / B;
        const fromResiduals = sum(Array.from(guided[m].data, (r, i) => (-r / sigma[Math.floor(i / perSample)]) * direction.data[i]));
        assertClose([(plus - minus) / (2 * h)], [fromResiduals], 1e-6, `S=${scale} ∂ℓ/∂${m}`);
      }
    }
  });

  it('a scale per modality (float64): each residual is its own blend, and no single ℓ exists', async () => {
    const disc = await conditionedDiscriminator('float64', rng);
    const { a, v, t, conditional, unconditional } = await branches(disc);
    for (const scales of [{ audio: 2.5, video: -0.5 }, { audio: 0, video: 4 }, { audio: 1, video: 3 }]) {
      const guided = await disc.residuals(a, v, t, condition, { nullCondition, scales });
      for (const m of modalities) assertClose(guided[m].data, blend(unconditional[m], conditional[m], scales[m]), 1e-9, `S=${scales.audio}/${scales.video} r_${m}`);
    }
    // A modality at 1 or 0 is its branch exactly, even where the other modality needs both branches.
    assert.deepEqual((await disc.residuals(a, v, t, condition, { nullCondition, scales: { audio: 1, video: 3 } })).audio, conditional.audio);
    assert.deepEqual((await disc.residuals(a, v, t, condition, { nullCondition, scales: { audio: 3, video: 0 } })).video, unconditional.video);
    await assert.rejects(disc.logit(a, v, t, condition, { nullCondition, scales: { audio: 2, video: 1 } }), /different audio and video scales has no single ℓ/);
    assert.throws(() => disc.residuals(a, v, t, condition, { nullCondition, scales: { audio: Number.NaN, video: 1 } }), /cfg: option 'scales\.audio' must be a finite number/);
  });

  it('the sampler guides with the CFG critic (float32): a one-step sample is affine in r, so x_m = x∅_m + S_m·(x^c_m − x∅_m)', async () => {
    const disc = await conditionedDiscriminator('float32', rng);
    const model = (kind: 'audio-unet' | 'video-unet', inChannels: number): EpsModel =>
      new native.EpsModel({
        network: { kind, inChannels, baseChannels: 8, channelMult: [1, 2], resBlocks: 1, timeDim: 16, groups: 4 },
        schedule, seed: 4, threads: 1,
      });
    const sources = [model('audio-unet', shapes.audio[0]), model('video-unet', shapes.video[1])];
    const draw = async (extra: object) => {
      const x = await native.sample({ sources, shapes: [shapes.audio, shapes.video], n: B, sampler: 'ddim', steps: 1, seed: 3, critic: disc, lambdas: [1000, 1000], ...extra });
      return [x.x0, x.x1];
    };
    const conditional = await draw({ condition });
    const unconditional = await draw({ condition: nullCondition });
    const difference = conditional.map((x, m) => maxDifference(x, unconditional[m]) / maxAbs(x.data));
    assert.ok(Math.min(...difference) > 1e-2, `the condition matters: relative differences ${difference}`);
    assert.deepEqual(await draw({ condition, cfg: both(1) }), conditional);
    // float32: rounding stays three orders of magnitude below the branches' difference.
    for (const scales of [{ audio: 2.5, video: 2.5 }, { audio: 2.5, video: -1 }]) {
      const guided = await draw({ condition, cfg: { nullCondition, scales } });
      guided.forEach((x, m) => assertClose(x.data, blend(unconditional[m], conditional[m], scales[modalities[m]]), 1e-5, `S=${scales.audio}/${scales.video} x${m}`));
    }

    assert.throws(() => native.sample({ sources, shapes: [shapes.audio, shapes.video], n: B, condition }), /sample: option 'condition' needs a Discriminator as critic/);
    await assert.rejects(draw({ condition: classConditions([1], CLASSES) }), /text conditioning has 1 rows for a batch of 2/);
  });
});
