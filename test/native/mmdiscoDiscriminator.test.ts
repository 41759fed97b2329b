import assert from 'node:assert/strict';
import {
  native,
  tensor,
  type Conditioning,
  type Discriminator,
  type DiscriminatorBatch,
  type DiscriminatorDraw,
  type EpsModel,
  type MmdiscoDiscriminatorNetwork,
  type ScheduleOptions,
  type Tensor,
} from '../../ts/native';
import { Rng } from '../../ts/util/random';

const schedule: ScheduleOptions = { kind: 'linear' };

function build(network: MmdiscoDiscriminatorNetwork, dtype: 'float32' | 'float64' = 'float32', seed = 0): Discriminator {
  return new native.Discriminator({ network, audioSchedule: schedule, videoSchedule: schedule, dtype, seed, threads: 1 });
}

/** A small float64 MLP ε-model on flat inputs of `dim` values: a base model for the trainer tests. */
function mlp(dim: number, seed: number): EpsModel {
  return new native.EpsModel({ network: { kind: 'mlp', dim, hidden: 8, blocks: 1 }, schedule, dtype: 'float64', seed });
}

/** Parameter count per `feature_extractor.input_blocks.<i>.` block, and per top-level key prefix. */
function countBy(params: Record<string, Tensor>, key: (name: string) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, t] of Object.entries(params)) {
    const k = key(name);
    if (k !== undefined) out.set(k, (out.get(k) ?? 0) + t.data.length);
  }
  return out;
}
const blockOf = (name: string) => /^feature_extractor\.input_blocks\.(\d+)\./.exec(name)?.[1];

describe('MMDisCo discriminator: released configurations', function () {
  this.timeout(120_000);

  it('AudioLDM + AnimateDiff: 33,261,313 parameters, per-block counts and key names of spec §3.7/§3.8', async () => {
    const d = build({ kind: 'mmdisco', preset: 'audioldm-animatediff' });
    assert.equal(d.parameterCount, 33_261_313);
    const params = await d.parameters();
    const blocks = countBy(params, blockOf);
    // 0 init; 1–4 level 0; 5 down; 6–9 level 1; 10 down; 11–14 level 2.
    const expected = [63_360, 444_032, 444_032, 444_032, 444_032, 444_032, 1_117_440, 1_641_728, 1_641_728, 1_641_728,
      1_641_728, 4_200_960, 6_298_112, 6_298_112, 6_298_112];
    assert.deepEqual([...blocks.keys()].map(Number), expected.map((_, i) => i));
    assert.deepEqual(expected.map((_, i) => blocks.get(String(i))), expected);
    const shapes: Record<string, number[]> = {
      'time_embed.projection.linear_1.weight': [128, 128],
      'time_embed.projection.linear_2.bias': [128],
      'video_text_embed.weight': [128, 768],
      'audio_text_embed.weight': [128, 512],
      'feature_extractor.input_blocks.0.0.video_conv.video_conv_spatial.weight': [128, 4, 3, 3],
      'feature_extractor.input_blocks.0.0.video_conv.video_conv_temporal.weight': [128, 128, 3],
      'feature_extractor.input_blocks.0.0.audio_conv.audio_conv.weight': [128, 8, 3, 3],
      'feature_extractor.input_blocks.1.0.video_in_layers.0.GroupNorm.weight': [128],
      'feature_extractor.input_blocks.1.0.video_in_layers.2.video_conv_spatial.weight': [128, 128, 3, 3],
      'feature_extractor.input_blocks.1.0.audio_in_layers.2.audio_conv.weight': [128, 128, 3, 3],
      'feature_extractor.input_blocks.1.0.video_out_layers.0.projection.1.weight': [256, 128],
      'feature_extractor.input_blocks.1.0.video_out_layers.3.video_conv.weight': [128, 128, 1, 1, 1],
      'feature_extractor.input_blocks.6.0.audio_out_layers.3.audio_conv.weight': [256, 256, 1, 1],
      'feature_extractor.input_blocks.6.0.video_skip_connection.video_conv.weight': [256, 128, 1, 1, 1],
      'feature_extractor.input_blocks.6.0.audio_skip_connection.audio_conv.weight': [256, 128, 1, 1],
      'last_linear.weight': [1, 1024],
    };
    for (const [name, shape] of Object.entries(shapes)) assert.deepEqual(params[name]?.shape, shape, name);
    assert.equal(params['feature_extractor.input_blocks.5.0.video_skip_connection.video_conv.weight'], undefined);
    // The zero-initialised 1×1 conv of every ResBlock.
    assert.ok(params['feature_extractor.input_blocks.3.0.video_out_layers.3.video_conv.weight'].data.every((x) => x === 0));
  });

  it('Auffusion + VideoCrafter2: 38,972,161 parameters with fusion B of 5,650,688', async () => {
    const d = build({ kind: 'mmdisco', preset: 'auffusion-videocrafter2' });
    assert.equal(d.parameterCount, 38_972_161);
    const params = await d.parameters();
    const parts = countBy(params, (name) => name.split('.')[0]);
    assert.equal(parts.get('fusion_model'), 5_650_688);
    assert.equal(parts.get('feature_extractor'), 33_058_560);
    assert.equal(countBy(params, blockOf).get('0'), 58_752);
    const shapes: Record<string, number[]> = {
      'fusion_model.fm.cls_emb': [1, 1, 256],
      'fusion_model.fm.pos_emb.emb.weight': [128, 256],
      'fusion_model.fm_video_in.weight': [256, 512],
      'fusion_model.fm_time_in.weight': [256, 128],
      'fusion_model.fm.attn_layers.layers.0.0.weight': [256],
      'fusion_model.fm.attn_layers.layers.8.1.to_q.weight': [512, 256],
      'fusion_model.fm.attn_layers.layers.8.1.to_out.bias': [256],
      'fusion_model.fm.attn_layers.layers.9.1.net.0.0.weight': [1024, 256],
      'fusion_model.fm.attn_layers.layers.9.1.net.2.weight': [256, 1024],
      'fusion_model.fm.norm.weight': [256],
      'fusion_model.fm.out_layer.weight': [256, 256],
      'last_linear.weight': [1, 256],
      'video_text_embed.weight': [128, 1024],
    };
    for (const [name, shape] of Object.entries(shapes)) assert.deepEqual(params[name]?.shape, shape, name);
    assert.equal(params['fusion_model.fm.attn_layers.layers.0.1.to_q.bias'], undefined);
    assert.equal(params['fusion_model.fm.attn_layers.layers.10.0.weight'], undefined);
  });

  it('MM-Diffusion: 12,682,241 parameters, per-block counts, dilated waveform convs', async () => {
    const d = build({ kind: 'mmdisco', preset: 'mmdiffusion' });
    assert.equal(d.parameterCount, 12_682_241);
    const params = await d.parameters();
    const blocks = countBy(params, blockOf);
    const expected = [53_376, 345_728, 345_728, 345_728, 920_832, 1_248_512, 1_248_512, 3_414_528, 4_725_248];
    assert.deepEqual(expected.map((_, i) => blocks.get(String(i))), expected);
    assert.deepEqual(params['feature_extractor.input_blocks.1.0.audio_in_layers.2.audio_conv.weight'].shape, [128, 128, 3]);
    assert.equal(params['video_text_embed.weight'], undefined);
  });

  it('strict loading names the missing, unexpected or misshapen tensor', async () => {
    const d = build({ kind: 'mmdisco', preset: 'mmdiffusion', width: 32, blocksPerLevel: 1 });
    const params = await d.parameters();
    await d.loadParameters(params);
    const { ['last_linear.bias']: _dropped, ...missing } = params;
    await assert.rejects(d.loadParameters(missing), /last_linear\.bias.*missing/);
    await assert.rejects(d.loadParameters({ ...params, extra: params['last_linear.bias'] }), /unexpected parameter 'extra'/);
    const wrong = { ...params, 'last_linear.weight': tensor(new Float32Array(3), [1, 3]) };
    await assert.rejects(d.loadParameters(wrong), /last_linear\.weight.*shape/);
  });

  it('rejects bad options with the option named', () => {
    assert.throws(() => build({ kind: 'mmdisco', preset: 'nope' as never }), /preset/);
    assert.throws(() => build({ kind: 'mmdisco', fusion: 'C' as never }), /fusion/);
    assert.throws(() => build({ kind: 'mmdisco', width: 20 }), /GroupNorm/);
  });
});

// ---- gradients on tiny configurations, float64 ------------------------------------------------------------

interface Tiny {
  name: string;
  network: MmdiscoDiscriminatorNetwork;
  video: number[]; // per-sample shapes
  audio: number[];
  condition?: { audio: number; video: number };
}

const tinyBase: MmdiscoDiscriminatorNetwork = { kind: 'mmdisco', width: 32, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16 };
const tinies: Tiny[] = [
  {
    name: '2-D mel audio, fusion A, text conditioning',
    network: { ...tinyBase, videoChannels: 2, audioChannels: 1, audioConv: '2d', fusion: 'A', videoTextDim: 5, audioTextDim: 3 },
    video: [2, 2, 4, 4],
    audio: [1, 3, 4],
    condition: { audio: 3, video: 5 },
  },
  {
    name: '1-D dilated waveform audio, fusion B',
    network: {
      ...tinyBase, videoChannels: 3, audioChannels: 1, audioConv: '1d', maxDilation: 3, fusion: 'B', videoTextDim: 0, audioTextDim: 0,
      fusionWidth: 16, fusionLayers: 2, fusionHeads: 2, fusionHeadDim: 8, fusionMaxTokens: 16,
    },
    video: [2, 3, 4, 4],
    audio: [1, 16],
  },
  {
    name: '1-D audio over a log-mel with its bins as channels, 2×2 video patches as channels, max-pooled frames, fusion B, conditioning with a projection head',
    network: {
      ...tinyBase, videoChannels: 1 * 2 * 2, videoPatch: 2, videoPool: 'max', audioChannels: 2 * 3, audioConv: '1d', maxDilation: 2, fusion: 'B',
      videoTextDim: 5, audioTextDim: 3, textProjection: true, fusionWidth: 16, fusionLayers: 1, fusionHeads: 2, fusionHeadDim: 8,
      fusionMaxTokens: 16,
    },
    video: [2, 1, 8, 8],  // 2×2 patches, halved once: 2×2 pixels left to max-pool
    audio: [2, 8, 3],
    condition: { audio: 3, video: 5 },
  },  {
    name: 'windowed audio↔video cross-attention at both levels (the second block\'s windows shifted), 2-D mel audio, fusion A',
    network: {
      ...tinyBase, videoChannels: 2, audioChannels: 1, audioConv: '2d', fusion: 'A', videoTextDim: 0, audioTextDim: 0,
      crossAttentionLevels: [0, 1], crossAttentionWindow: 2, crossAttentionHeads: 2,
    },
    video: [4, 2, 4, 4],
    audio: [1, 8, 4],
  },
];

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
function gaussian(rng: Rng, shape: number[], scale = 1): Tensor<Float64Array> {
  const data = new Float64Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = scale * rng.gaussian();
  return tensor(data, shape);
}
/** Replaces d's weights by N(0, 0.2²) draws from rng: away from the zero-initialised 1×1 convs, every part moves the output. */
async function randomise<D extends Discriminator>(d: D, rng: Rng): Promise<D> {
  const { values } = await d.flatParameters();
  await d.setFlatParameters(gaussian(rng, values.shape, 0.2));
  return d;
}
const sum = (t: Tensor) => Array.from(t.data).reduce((a, b) => a + b, 0);

describe('MMDisCo discriminator: gradients (float64, finite differences)', function () {
  this.timeout(120_000);
  const B = 2;
  const alphaBar = native.scheduleAlphaBar(schedule).data;

  for (const tiny of tinies) {
    describe(tiny.name, () => {
      let d: Discriminator;
      let rng: Rng;
      let condition: Conditioning | undefined;

      before(async () => {
        rng = new Rng(7);
        d = await randomise(build(tiny.network, 'float64', 3), rng);
        if (tiny.condition) {
          condition = { audio: gaussian(rng, [B, tiny.condition.audio]), video: gaussian(rng, [B, 4, tiny.condition.video]) };
        }
      });

      it('residuals r = −σ ∇ℓ match central differences of ℓ', async () => {
        const a = gaussian(rng, [B, ...tiny.audio]);
        const v = gaussian(rng, [B, ...tiny.video]);
        const t = tensor(new Int32Array([100, 700]), [B]);
        const r = await d.residuals(a, v, t, condition);
        const h = 1e-5;
        for (const [x, residual, rows] of [[a, r.audio, numel(tiny.audio)], [v, r.video, numel(tiny.video)]] as const) {
          assert.deepEqual(residual.shape, x.shape);
          for (const i of [0, 3, rows + 1, 2 * rows - 1]) {
            const sigma = Math.sqrt(1 - alphaBar[t.data[Math.floor(i / rows)]]);
            const keep = x.data[i];
            x.data[i] = keep + h;
            const up = sum((await d.logit(a, v, t, condition)).logit);
            x.data[i] = keep - h;
            const down = sum((await d.logit(a, v, t, condition)).logit);
            x.data[i] = keep;
            const expected = (-sigma * (up - down)) / (2 * h);
            assert.ok(Math.abs(residual.data[i] - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${i}: ${residual.data[i]} vs ${expected}`);
          }
        }
      });

      // With projection heads, the loss also has the class term (the second real row has no class).
      const projected = tiny.network.textProjection === true;
      it(`double-backward parameter gradient of BCE + λ_den · denoising loss${projected ? ' + λ_cls · class loss' : ''} matches central differences`, async () => {
        const audioBase = mlp(numel(tiny.audio), 1);
        const videoBase = mlp(numel(tiny.video), 2);
        const trainer = new native.DiscriminatorTrainer(d, audioBase, videoBase, { lambdaDenoising: 0.7, lambdaClass: projected ? 0.4 : 0 });
        const batch: DiscriminatorBatch = {
          realAudio: gaussian(rng, [B, ...tiny.audio]), realVideo: gaussian(rng, [B, ...tiny.video]),
          fakeAudio: gaussian(rng, [B, ...tiny.audio]), fakeVideo: gaussian(rng, [B, ...tiny.video]),
          ...(condition ? { realCondition: condition, fakeCondition: condition } : {}),
          ...(projected ? { realClasses: tensor(new Int32Array([2, -1]), [B]) } : {}),
        };
        const draw: DiscriminatorDraw = {
          tReal: tensor(new Int32Array([250, 900]), [B]), tFake: tensor(new Int32Array([40, 600]), [B]),
          noiseRealAudio: gaussian(rng, [B, ...tiny.audio]), noiseRealVideo: gaussian(rng, [B, ...tiny.video]),
          noiseFakeAudio: gaussian(rng, [B, ...tiny.audio]), noiseFakeVideo: gaussian(rng, [B, ...tiny.video]),
        };
        const base = await trainer.lossAndGradient(batch, draw);
        assert.ok(base.denoising > 0);
        if (projected) assert.ok(base.classLoss > 0);
        const { values } = await d.flatParameters();
        const flat = values.data as Float64Array;
        const picks = [0, 17, Math.floor(flat.length / 3), Math.floor(flat.length / 2), flat.length - 300, flat.length - 1];
        const h = 1e-5;
        for (const i of picks) {
          const keep = flat[i];
          flat[i] = keep + h;
          await d.setFlatParameters(values);
          const up = (await trainer.lossAndGradient(batch, draw)).total;
          flat[i] = keep - h;
          await d.setFlatParameters(values);
          const down = (await trainer.lossAndGradient(batch, draw)).total;
          flat[i] = keep;
          await d.setFlatParameters(values);
          const expected = (up - down) / (2 * h);
          const got = base.gradient.data[i];
          assert.ok(Math.abs(got - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `param ${i}: ${got} vs ${expected}`);
        }
      });
    });
  }
});

describe('MMDisCo discriminator: inputs folded into channels', () => {
  const rng = new Rng(11);
  const randomised = (network: MmdiscoDiscriminatorNetwork) => randomise(build(network, 'float64', 5), rng);
  const t = tensor(new Int32Array([30, 500]), [2]);

  it('the 1-D audio tower reads (B, C, L, M) as (B, C·M, L): the same logit as the folded input; a wrong bin count is an error', async () => {
    const d = await randomised({
      ...tinyBase, videoChannels: 1, audioChannels: 2 * 3, audioConv: '1d', fusion: 'A', videoTextDim: 0, audioTextDim: 0,
    });
    const [B, C, L, M] = [2, 2, 8, 3];
    const mel = gaussian(rng, [B, C, L, M]);
    const folded = new Float64Array(mel.data.length);
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        for (let l = 0; l < L; l++) {
          for (let m = 0; m < M; m++) folded[((b * C + c) * M + m) * L + l] = mel.data[((b * C + c) * L + l) * M + m];
        }
      }
    }
    const v = gaussian(rng, [B, 2, 1, 4, 4]);
    const fromMel = (await d.logit(mel, v, t)).logit.data;
    const fromFolded = (await d.logit(tensor(folded, [B, C * M, L]), v, t)).logit.data;
    assert.deepEqual(Array.from(fromMel), Array.from(fromFolded));
    await assert.rejects(d.logit(gaussian(rng, [B, C, L, M + 1]), v, t), /log-mel \(B, C, L, M\) with C·M = K for K = 6 audio channels, got \[2, 2, 8, 4\]/);
  });

  it('videoPatch p reads each frame\'s p×p patches as channels: the same logit as a p = 1 network fed the patches; a frame p does not divide is an error', async () => {
    const audio = { audioChannels: 1, audioConv: '2d' as const, fusion: 'A' as const, videoTextDim: 0, audioTextDim: 0 };
    const patched = await randomised({ ...tinyBase, ...audio, videoChannels: 4, videoPatch: 2 });
    const plain = build({ ...tinyBase, ...audio, videoChannels: 4 }, 'float64', 6);
    await plain.loadParameters(await patched.parameters());
    const [B, F, H, W] = [2, 3, 4, 4];
    const video = gaussian(rng, [B, F, 1, H, W]);
    // Channel (i, j) of a patch holds pixel (2y + i, 2x + j), as pixel_unshuffle orders them.
    const patches = new Float64Array(video.data.length);
    for (let bf = 0; bf < B * F; bf++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const channel = (y % 2) * 2 + (x % 2);
          patches[bf * H * W + channel * (H / 2) * (W / 2) + Math.floor(y / 2) * (W / 2) + Math.floor(x / 2)] = video.data[bf * H * W + y * W + x];
        }
      }
    }
    const a = gaussian(rng, [B, 1, 3, 4]);
    const fromFrames = (await patched.logit(a, video, t)).logit.data;
    const fromPatches = (await plain.logit(a, tensor(patches, [B, F, 4, H / 2, W / 2]), t)).logit.data;
    assert.deepEqual(Array.from(fromFrames), Array.from(fromPatches));
    await assert.rejects(patched.logit(a, gaussian(rng, [B, F, 1, 5, 4]), t), /video must be \(B, F, C, H, W\) with C·2² = 4 and H, W multiples of 2, got \[2, 3, 1, 5, 4\]/);
  });
});

describe('MMDisCo discriminator: denoised inputs', () => {
  const rng = new Rng(23);
  const network = { ...tinyBase, videoChannels: 1, audioChannels: 1, audioConv: '2d' as const, fusion: 'B' as const, videoTextDim: 0, audioTextDim: 0 };
  const bases = { audio: mlp(12, 1), video: mlp(32, 2) };
  const denoising = (seed: number) =>
    new native.Discriminator({ network, audioSchedule: schedule, videoSchedule: schedule, dtype: 'float64', seed, threads: 1, denoisers: bases });
  const t = tensor(new Int32Array([30, 500]), [2]);
  const alphaBar = native.scheduleAlphaBar(schedule).data;
  /** x̂0 = (x_t − σ_t ε̂(x_t, t)) / √ᾱ_t, row by row. */
  const estimate = async (base: EpsModel, x: Tensor<Float64Array>) => {
    const { eps } = await base.eps(x, t);
    const size = x.data.length / 2;
    const out = x.data.map((v, i) => {
      const ab = alphaBar[t.data[Math.floor(i / size)]];
      return (v - Math.sqrt(1 - ab) * eps.data[i]) / Math.sqrt(ab);
    });
    return tensor(out, x.shape);
  };

  it('reads the base models\' one-step estimates x̂0: the logit of a noisy-input network at x̂0, and residuals 1/√ᾱ_t times its own there', async () => {
    const d = await randomise(denoising(7), rng);
    const plain = build(network, 'float64', 8);
    await plain.loadParameters(await d.parameters());
    const a = gaussian(rng, [2, 1, 3, 4]);
    const v = gaussian(rng, [2, 2, 1, 4, 4]);
    const [a0, v0] = [await estimate(bases.audio, a), await estimate(bases.video, v)];
    const close = (x: ArrayLike<number>, y: ArrayLike<number>, what: string) =>
      Array.from(x).forEach((value, i) => assert.ok(Math.abs(value - y[i]) <= 1e-9 * (1 + Math.abs(y[i])), `${what}[${i}]: ${value} vs ${y[i]}`));
    close((await d.logit(a, v, t)).logit.data, (await plain.logit(a0, v0, t)).logit.data, 'logit');
    assert.notDeepEqual(Array.from((await d.logit(a, v, t)).logit.data), Array.from((await plain.logit(a, v, t)).logit.data));
    const [denoised, atEstimate] = [await d.residuals(a, v, t), await plain.residuals(a0, v0, t)];
    for (const m of ['audio', 'video'] as const) {
      const size = atEstimate[m].data.length / 2;
      close(denoised[m].data, Array.from(atEstimate[m].data, (r, i) => r / Math.sqrt(alphaBar[t.data[Math.floor(i / size)]])), `${m} residual`);
    }
  });

  it('takes the ε̂ the sampler and the trainer already hold when they run its own bases: the samples and losses of a discriminator whose bases are copies', async () => {
    const copies = { audio: mlp(12, 1), video: mlp(32, 2) };
    const sharing = await randomise(denoising(11), rng);
    const separate = new native.Discriminator({ network, audioSchedule: schedule, videoSchedule: schedule, dtype: 'float64', seed: 11, threads: 1, denoisers: copies });
    await separate.loadParameters(await sharing.parameters());
    const sampled = (critic: Discriminator) =>
      native.sample({ sources: [bases.audio, bases.video], shapes: [[1, 3, 4], [2, 1, 4, 4]], n: 3, steps: 6, seed: 4, critic, lambdas: [2, 3] });
    const [shared, own, unguided] = [await sampled(sharing), await sampled(separate), await native.sample({ sources: [bases.audio, bases.video], shapes: [[1, 3, 4], [2, 1, 4, 4]], n: 3, steps: 6, seed: 4 })];
    for (const key of ['x0', 'x1']) {
      assert.deepEqual(Array.from(shared[key].data), Array.from(own[key].data), key);
      assert.notDeepEqual(Array.from(shared[key].data), Array.from(unguided[key].data), `${key} is guided`);
    }
    const batch = () => ({
      realAudio: gaussian(rng, [4, 1, 3, 4]), realVideo: gaussian(rng, [4, 2, 1, 4, 4]),
      fakeAudio: gaussian(rng, [4, 1, 3, 4]), fakeVideo: gaussian(rng, [4, 2, 1, 4, 4]),
    });
    const data = [batch(), batch()];
    const losses = async (d: Discriminator) => {
      const trainer = new native.DiscriminatorTrainer(d, bases.audio, bases.video, { lambdaDenoising: 1, seed: 5 });
      const logs = [];
      for (const b of data) logs.push(await trainer.trainSteps(b, 4));
      return logs.flatMap((log) => [...log.bce.data, ...log.denoising.data]);
    };
    assert.deepEqual(await losses(sharing), await losses(separate));
  });

  it('trains with the denoising loss through x̂0, and refuses a denoiser that is not an ε-source', async () => {
    const trainer = new native.DiscriminatorTrainer(denoising(9), bases.audio, bases.video, { lambdaDenoising: 1, seed: 3 });
    const B = 4;
    const log = await trainer.trainSteps({
      realAudio: gaussian(rng, [B, 1, 3, 4]), realVideo: gaussian(rng, [B, 2, 1, 4, 4]),
      fakeAudio: gaussian(rng, [B, 1, 3, 4]), fakeVideo: gaussian(rng, [B, 2, 1, 4, 4]),
    }, B);
    assert.ok(Number.isFinite(log.bce.data[0]) && Number.isFinite(log.denoising.data[0]), JSON.stringify(log.bce.data));
    assert.throws(
      () => new native.Discriminator({ network, audioSchedule: schedule, videoSchedule: schedule, denoisers: { audio: bases.audio, video: build(network) as never } }),
      /Discriminator denoisers: option 'video' must be an ε-source/,
    );
  });
});

describe('MMDisCo discriminator: profiled training steps', () => {
  const rng = new Rng(29);
  const network = { ...tinyBase, videoChannels: 1, audioChannels: 1, audioConv: '2d' as const, fusion: 'B' as const, videoTextDim: 0, audioTextDim: 0 };
  const bases = { audio: mlp(12, 1), video: mlp(32, 2) };
  const rows = (n: number): DiscriminatorBatch => ({
    realAudio: gaussian(rng, [n, 1, 3, 4]), realVideo: gaussian(rng, [n, 2, 1, 4, 4]),
    fakeAudio: gaussian(rng, [n, 1, 3, 4]), fakeVideo: gaussian(rng, [n, 2, 1, 4, 4]),
  });
  const trainerOf = (d: Discriminator) => new native.DiscriminatorTrainer(d, bases.audio, bases.video, { lambdaDenoising: 1, seed: 5 });

  it('profileSteps trains exactly as trainSteps does and counts every op call: each step adds the same calls', async () => {
    const B = 2;
    // The first step also creates the optimiser's state, so both profiles start after one plain step.
    const [first, next] = [rows(B), rows(2 * B)];
    const [plain, profiled] = [build(network, 'float64', 3), build(network, 'float64', 3)];
    const plainTrainer = trainerOf(plain);
    for (const data of [first, next]) await plainTrainer.trainSteps(data, B);
    const profiledTrainer = trainerOf(profiled);
    await profiledTrainer.trainSteps(first, B);
    const ops = await profiledTrainer.profileSteps(next, B);
    assert.deepEqual(await profiled.parameters(), await plain.parameters());
    assert.equal((await profiledTrainer.trainingState()).step, 3);

    assert.ok(ops.some((op) => op.name === 'aten::convolution_backward'), ops.map((op) => op.name).join(', '));
    for (let i = 0; i < ops.length; i++) {
      assert.ok(ops[i].calls >= 1 && ops[i].selfMs >= 0, JSON.stringify(ops[i]));
      if (i > 0) assert.ok(ops[i].selfMs <= ops[i - 1].selfMs, `sorted by self time at ${i}`);
    }
    // Calls per op grow by the same count with each further step (the call itself adds a few, such as the views of
    // its per-step slices): every call of every step counted, once.
    const callsAfterWarmUp = async (steps: number) => {
      const trainer = trainerOf(build(network, 'float64', 3));
      await trainer.trainSteps(first, B);
      return new Map((await trainer.profileSteps(rows(steps * B), B)).map((op) => [op.name, op.calls]));
    };
    const [one, two, three] = [await callsAfterWarmUp(1), await callsAfterWarmUp(2), await callsAfterWarmUp(3)];
    assert.deepEqual([...three.keys()].sort(), [...one.keys()].sort());
    for (const [name, calls] of one) assert.equal(three.get(name)! - two.get(name)!, two.get(name)! - calls, name);
    assert.equal(two.get('aten::convolution_backward')! - one.get('aten::convolution_backward')!, ops.find((op) => op.name === 'aten::convolution_backward')!.calls / 2);
  });

  it('profileSteps refuses rows that are not a multiple of the batch size, as trainSteps does', () => {
    const trainer = trainerOf(build(network, 'float64', 3));
    for (const method of ['trainSteps', 'profileSteps'] as const) {
      assert.throws(() => trainer[method](rows(3), 2), new RegExp(`${method}: all four arrays need the same number of rows, a multiple of batchSize`));
    }
  });
});

describe('MMDisCo discriminator: frame tokens of fusion B', () => {
  const rng = new Rng(29);
  const network = { ...tinyBase, videoChannels: 1, audioChannels: 1, audioConv: '2d' as const, fusion: 'B' as const, videoTextDim: 0, audioTextDim: 0 };
  const t = tensor(new Int32Array([30, 500]), [2]);
  const [F, L] = [2, 4];

  it("'frame' makes one token per video frame from the same weights: a table of F + 2 positions is enough, another logit; audio frames must divide evenly", async () => {
    const separate = await randomise(build({ ...network, fusionMaxTokens: F + L + 2 }, 'float64', 4), rng);
    const frame = build({ ...network, fusionMaxTokens: F + L + 2, fusionTokens: 'frame' }, 'float64', 5);
    assert.equal(frame.parameterCount, separate.parameterCount);
    await frame.loadParameters(await separate.parameters());
    const a = gaussian(rng, [2, 1, L, 4]);
    const v = gaussian(rng, [2, F, 1, 4, 4]);
    const [fromFrame, fromSeparate] = [(await frame.logit(a, v, t)).logit.data, (await separate.logit(a, v, t)).logit.data];
    assert.ok(fromFrame.every((x, i) => Number.isFinite(x) && Math.abs(x - fromSeparate[i]) > 1e-6), `${fromFrame} vs ${fromSeparate}`);
    // [CLS, time, one token per frame] fits F + 2 positions; the separate layout needs F + L + 2.
    assert.ok((await build({ ...network, fusionMaxTokens: F + 2, fusionTokens: 'frame' }).logit(a, v, t)).logit.data.every(Number.isFinite));
    await assert.rejects(build({ ...network, fusionMaxTokens: F + 2 }).logit(a, v, t), /8 tokens \(CLS included\) exceed the positional table of 4/);
    await assert.rejects(frame.logit(gaussian(rng, [2, 1, 3, 4]), v, t), /frame tokens need the 3 audio frames of the last level to be a whole number per video frame \(2 frames\)/);
    assert.throws(() => build({ ...network, fusionTokens: 'pixel' as never }), /fusion tokens must be 'separate' or 'frame', got 'pixel'/);
  });
});

describe('MMDisCo discriminator: video pooling', () => {
  const rng = new Rng(12);
  const t = tensor(new Int32Array([30, 500]), [2]);
  const network = { ...tinyBase, videoChannels: 1, audioChannels: 1, audioConv: '2d' as const, fusion: 'A' as const, videoTextDim: 0, audioTextDim: 0 };

  it("videoPool 'max' pools each frame's last-level features by their maximum: the mean's logit where that level is one pixel, another where it is not; an unknown pool is an error", async () => {
    const maxed = await randomise(build({ ...network, videoPool: 'max' }, 'float64', 5), rng);
    const meaned = build(network, 'float64', 6);
    await meaned.loadParameters(await maxed.parameters());
    const a = gaussian(rng, [2, 1, 3, 4]);
    // channelMult [1, 2] halves the frame once: 2×2 frames end as one pixel, 4×4 frames as four.
    const onePixel = gaussian(rng, [2, 3, 1, 2, 2]);
    const fourPixels = gaussian(rng, [2, 3, 1, 4, 4]);
    const logits = async (d: Discriminator, v: Tensor) => Array.from((await d.logit(a, v, t)).logit.data);
    const [maxOne, meanOne] = [await logits(maxed, onePixel), await logits(meaned, onePixel)];
    maxOne.forEach((x, i) => assert.ok(Math.abs(x - meanOne[i]) < 1e-12, `row ${i}: ${x} vs ${meanOne[i]}`));
    const [maxFour, meanFour] = [await logits(maxed, fourPixels), await logits(meaned, fourPixels)];
    maxFour.forEach((x, i) => assert.ok(Math.abs(x - meanFour[i]) > 1e-6, `row ${i}: max and mean pooling agree (${x})`));
    assert.throws(() => build({ ...network, videoPool: 'median' as 'max' }), /videoPool.*must be 'mean' or 'max'/);
  });
});

describe('MMDisCo discriminator: audio↔video cross-attention', () => {
  const rng = new Rng(21);
  const t = tensor(new Int32Array([60, 60]), [2]);
  const mel = { ...tinyBase, videoChannels: 1, audioChannels: 1, audioConv: '2d' as const, fusion: 'A' as const, videoTextDim: 0, audioTextDim: 0 };
  const oneD = { ...mel, audioChannels: 4, audioConv: '1d' as const };
  const crossed = { crossAttentionLevels: [0, 1], crossAttentionWindow: 2, crossAttentionHeads: 2 };
  const randomised = (network: MmdiscoDiscriminatorNetwork, seed: number) => randomise(build(network, 'float64', seed), rng);
  // Two rows with the same audio and different videos.
  const sameAudio = (shape: number[]) => {
    const one = gaussian(rng, shape);
    return tensor(Float64Array.from([...one.data, ...one.data]), [2, ...shape]);
  };
  const cosine = (r: Tensor) => {
    const n = r.data.length / 2;
    let [dot, x, y] = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      dot += r.data[i] * r.data[n + i];
      x += r.data[i] ** 2;
      y += r.data[n + i] ** 2;
    }
    return dot / Math.sqrt(x * y);
  };

  it('adds 8C² + 12C parameters per block (two norms, two qkv and two zero-initialised output projections), and starts as the identity', async () => {
    const plain = build(mel, 'float64', 3);
    const withCross = build({ ...mel, ...crossed }, 'float64', 3);
    const perBlock = (c: number) => 8 * c * c + 12 * c;
    assert.equal(withCross.parameterCount - plain.parameterCount, perBlock(32) + perBlock(64));
    const names = Object.keys(await withCross.parameters());
    assert.ok(names.includes('feature_extractor.input_blocks.1.1.video_qkv.weight'), names.join(', '));
    assert.ok(names.includes('feature_extractor.input_blocks.3.1.audio_proj_out.bias'), names.join(', '));
    await withCross.loadParameters({ ...(await withCross.parameters()), ...(await plain.parameters()) });
    const a = gaussian(rng, [2, 1, 8, 4]);
    const v = gaussian(rng, [2, 4, 1, 4, 4]);
    assert.deepEqual((await withCross.logit(a, v, t)).logit.data, (await plain.logit(a, v, t)).logit.data);
  });

  for (const [name, network, audioShape] of [['2-D mel', mel, [1, 8, 4]], ['1-D', oneD, [4, 8]]] as const) {
    it(`couples the towers (${name} audio, fusion A): without it ∇_a ℓ is one direction whatever the video, with it the video turns it`, async () => {
      const a = sameAudio([...audioShape]);
      const v = gaussian(rng, [2, 4, 1, 4, 4]);
      const separable = await randomised(network, 4);
      assert.ok(Math.abs(1 - cosine((await separable.residuals(a, v, t)).audio)) < 1e-9);
      const coupled = await randomised({ ...network, ...crossed }, 4);
      assert.ok(1 - cosine((await coupled.residuals(a, v, t)).audio) > 1e-4);
    });
  }

  it('a window of the whole clip is full attention; a window must divide the frames; levels are checked', async () => {
    const whole = await randomised({ ...mel, ...crossed, crossAttentionWindow: 0 }, 5);
    const four = build({ ...mel, ...crossed, crossAttentionWindow: 4 }, 'float64', 5);
    const two = build({ ...mel, ...crossed, crossAttentionWindow: 2 }, 'float64', 5);
    await four.loadParameters(await whole.parameters());
    await two.loadParameters(await whole.parameters());
    const a = gaussian(rng, [2, 1, 8, 4]);
    const v = gaussian(rng, [2, 4, 1, 4, 4]);
    const logits = async (d: Discriminator) => Array.from((await d.logit(a, v, t)).logit.data);
    const [w0, w4, w2] = [await logits(whole), await logits(four), await logits(two)];
    w0.forEach((x, i) => assert.ok(Math.abs(x - w4[i]) < 1e-12 && Math.abs(x - w2[i]) > 1e-6, `row ${i}: ${x}, ${w4[i]}, ${w2[i]}`));
    const three = build({ ...mel, ...crossed, crossAttentionWindow: 3 }, 'float64', 5);
    await assert.rejects(three.logit(a, v, t), /cross-attention: a window of 3 frames must divide the 4 video frames/);
    assert.throws(() => build({ ...mel, crossAttentionLevels: [2] }), /crossAttentionLevels.*must be levels of channelMult, 0 to 1/);
    assert.throws(() => build({ ...mel, ...crossed, crossAttentionHeads: 5 }), /5 heads must divide 32 channels/);
  });
});

describe('MMDisCo discriminator: class loss', () => {
  const rng = new Rng(13);
  const network = { ...tinyBase, videoChannels: 1, audioChannels: 1, audioConv: '2d' as const, fusion: 'A' as const, videoTextDim: 3, audioTextDim: 3 };
  const B = 4;
  const batchOf = (classes: number[]): DiscriminatorBatch => {
    const oneHot = new Float64Array(B * 3);
    classes.forEach((c, i) => (oneHot[i * 3 + c] = 1));
    const condition = { audio: tensor(oneHot, [B, 3]), video: tensor(oneHot, [B, 3]) };
    return {
      realAudio: gaussian(rng, [B, 1, 3, 4]), realVideo: gaussian(rng, [B, 2, 1, 4, 4]),
      fakeAudio: gaussian(rng, [B, 1, 3, 4]), fakeVideo: gaussian(rng, [B, 2, 1, 4, 4]),
      realCondition: condition, fakeCondition: condition, realClasses: tensor(Int32Array.from(classes), [B]),
    };
  };

  it('is the cross-entropy of the projection heads\' class scores: it falls as the towers learn the class of real pairs; it needs heads and classes', async () => {
    const d = build({ ...network, textProjection: true }, 'float64', 3);
    const trainer = new native.DiscriminatorTrainer(d, mlp(12, 1), mlp(32, 2), {
      lambdaDenoising: 0, lambdaClass: 1, optimizer: { lr: 3e-3, weightDecay: 0 }, seed: 4,
    });
    // Each class is a fixed pattern plus noise, in both modalities.
    const patterns = { audio: [0, 1, 2].map(() => gaussian(rng, [12])), video: [0, 1, 2].map(() => gaussian(rng, [32])) };
    const classes = [0, 1, 2, 0];
    const batch = batchOf(classes);
    for (const [modality, x] of [['audio', batch.realAudio], ['video', batch.realVideo]] as const) {
      const size = patterns[modality][0].data.length;
      classes.forEach((c, i) => {
        for (let j = 0; j < size; j++) x.data[i * size + j] = 2 * patterns[modality][c].data[j] + 0.3 * x.data[i * size + j];
      });
    }
    const log = await trainer.trainSteps(batch, B);
    const first = log.classLoss.data[0];
    // ln 3 per modality for uninformative scores; the projection heads start at random.
    assert.ok(first > 0.5 && first < 10, `initial class loss ${first}`);
    let last = first;
    for (let k = 0; k < 120; k++) last = (await trainer.trainSteps(batch, B)).classLoss.data[0];
    assert.ok(last < 0.6 * first, `class loss ${first} → ${last}`);

    // Pairs that carry no class: the scores are taken under the null condition, so the condition cannot give the
    // class away and the loss stays near 2 ln 3.
    const blind = new native.DiscriminatorTrainer(build({ ...network, textProjection: true }, 'float64', 3), mlp(12, 1), mlp(32, 2), {
      lambdaDenoising: 0, lambdaClass: 1, optimizer: { lr: 3e-3, weightDecay: 0 }, seed: 4,
    });
    const blindLosses: number[] = [];
    for (let k = 0; k < 120; k++) blindLosses.push((await blind.trainSteps(batchOf(classes), B)).classLoss.data[0]);
    const lateBlind = blindLosses.slice(-40).reduce((x, y) => x + y, 0) / 40;
    assert.ok(lateBlind > 0.8 * 2 * Math.log(3), `class loss on classless pairs ${lateBlind}`);

    const noHeads = new native.DiscriminatorTrainer(build(network, 'float64', 3), mlp(12, 1), mlp(32, 2), { lambdaDenoising: 0, lambdaClass: 1 });
    await assert.rejects(noHeads.trainSteps(batch, B), /the class loss needs a discriminator with projection heads \(conditioning\.projection\)/);
    const { realClasses: _, ...unlabelled } = batch;
    await assert.rejects(trainer.trainSteps(unlabelled, B), /the class loss needs each real pair's class \(realClasses\)/);
    assert.throws(() => trainer.trainSteps({ ...batch, realClasses: tensor(new Int32Array(3), [3]) }, B), /realClasses needs one class per real row/);
  });
});

describe('MMDisCo discriminator: training timestep range', () => {
  const rng = new Rng(17);
  const network = { ...tinyBase, videoChannels: 1, audioChannels: 1, audioConv: '2d' as const, fusion: 'A' as const, videoTextDim: 0, audioTextDim: 0 };
  const B = 8;
  const batch = (): DiscriminatorBatch => ({
    realAudio: gaussian(rng, [B, 1, 3, 4]), realVideo: gaussian(rng, [B, 2, 1, 4, 4]),
    fakeAudio: gaussian(rng, [B, 1, 3, 4]), fakeVideo: gaussian(rng, [B, 2, 1, 4, 4]),
  });

  it('draws every real and fake timestep uniformly from [tMin, tMax], both ends included; the default is the whole schedule', async () => {
    const trainer = (timestepRange?: [number, number]) =>
      new native.DiscriminatorTrainer(build(network, 'float64', 3), mlp(12, 1), mlp(32, 2), { lambdaDenoising: 1, seed: 5, ...(timestepRange ? { timestepRange } : {}) });
    const counts = new Map<number, number>();
    const narrow = trainer([400, 403]);
    for (let k = 0; k < 10; k++) {
      const log = await narrow.trainSteps(batch(), B);
      for (const t of [...log.tReal.data, ...log.tFake.data]) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [400, 401, 402, 403]);
    // 160 draws over 4 values: each near 40 (a uniform draw falls outside 20…60 with probability < 1e-4).
    for (const [t, c] of counts) assert.ok(c > 20 && c < 60, `t=${t} drawn ${c} times`);
    const whole = await trainer().trainSteps(batch(), B);
    const spread = [...whole.tReal.data, ...whole.tFake.data];
    assert.ok(Math.max(...spread) - Math.min(...spread) > 500, `default range drew ${spread}`);
  });

  it('refuses a range outside the schedule or out of order, naming the option', () => {
    for (const timestepRange of [[5, 1000], [10, 5], [-1, 5], [1.5, 5]] as [number, number][]) {
      assert.throws(
        () => new native.DiscriminatorTrainer(build(network), mlp(12, 1), mlp(32, 2), { lambdaDenoising: 1, timestepRange }),
        /option 'timestepRange' must be \[tMin, tMax\], integers with 0 ≤ tMin ≤ tMax ≤ 999/,
      );
    }
  });
});
