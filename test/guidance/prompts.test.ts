/**
 * Text-embedding conditions (ts/guidance/prompts.ts): prompt embeddings read by name from a safetensors file
 * (audio/<prompt>, video/<prompt>; token sequences averaged), errors naming the missing prompt and tensor, and the
 * residual CFG they drive through the discriminator's CFG path: scale 1 is the prompt's residual, scale 0 the null
 * prompt's, anything else r∅ + s·(r^c − r∅) per modality.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../../ts/checkpoint/safetensors';
import { ConfigError } from '../../ts/config/load';
import { promptSamplingConditions, type PromptGuidance, readPrompts } from '../../ts/guidance/prompts';
import { native, type Tensor, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';

const dims = { audio: 4, video: 6 };

function gaussian(rng: Rng, shape: number[]): Tensor<Float32Array> {
  return tensor(Float32Array.from(rng.fillGaussian(new Float64Array(shape.reduce((a, b) => a * b, 1)))), shape);
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('prompt embeddings as discriminator conditions', () => {
  let dir: string;
  let file: string;
  const rng = new Rng(5);
  const bongo = { audio: gaussian(rng, [dims.audio]), video: gaussian(rng, [dims.video]) };
  const organTokens = gaussian(rng, [3, dims.audio]);
  const organ = { audio: organTokens, video: gaussian(rng, [dims.video]) };
  const empty = { audio: gaussian(rng, [dims.audio]), video: gaussian(rng, [dims.video]) };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-prompts-'));
    file = path.join(dir, 'prompts.safetensors');
    await writeSafetensors(file, {
      'audio/playing bongo': bongo.audio, 'video/playing bongo': bongo.video,
      'audio/hammond organ': organ.audio, 'video/hammond organ': organ.video,
      'audio/': empty.audio, 'video/': empty.video,
      'audio/too wide': gaussian(rng, [dims.audio + 1]), 'video/too wide': gaussian(rng, [dims.video]),
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads prompts by name, averaging token sequences; the null prompt defaults to the empty one', () => {
    const { prompts, nullPrompt } = readPrompts(file, ['playing bongo', 'hammond organ'], '', dims);
    assert.deepEqual(Array.from(prompts[0].audio), Array.from(bongo.audio.data));
    const mean = Array.from({ length: dims.audio }, (_, j) => (organTokens.data[j] + organTokens.data[dims.audio + j] + organTokens.data[2 * dims.audio + j]) / 3);
    assert.ok(maxDifference(prompts[1].audio, mean) < 1e-6);
    assert.deepEqual(Array.from(nullPrompt.video), Array.from(empty.video.data));
  });

  it('names the missing prompt and tensor, and a prompt of the wrong width', () => {
    const fails = (names: string[], nullName: string, message: RegExp) =>
      assert.throws(() => readPrompts(file, names, nullName, dims), (e: Error) => e instanceof ConfigError && message.test(e.message));
    fails(['fireworks'], '', /--prompt 'fireworks': .*prompts\.safetensors holds no tensor 'audio\/fireworks'/);
    fails(['playing bongo'], 'silence', /--null-prompt 'silence': .* holds no tensor 'audio\/silence'/);
    fails(['too wide'], '', /--prompt 'too wide': 'audio\/too wide' .* has shape \[5\], expected \[4\] or \[tokens, 4\]/);
    fails([], '', /give at least one --prompt/);
  });

  it('drives the residual CFG: scale 1 is the prompt branch, 0 the null prompt branch, else r∅ + s·(r^c − r∅)', async () => {
    const d = new native.Discriminator({
      network: { kind: 'mmdisco', videoChannels: 1, audioChannels: 1, width: 8, channelMult: [1], blocksPerLevel: 1, timeDim: 8, groups: 4, videoTextDim: dims.video, audioTextDim: dims.audio, fusion: 'A' },
      audioSchedule: { kind: 'linear' },
      videoSchedule: { kind: 'linear' },
      dtype: 'float32',
      seed: 3,
      threads: 1,
    });
    // Away from the zero-initialised output convs, through which alone the condition reaches the output.
    const { values } = await d.flatParameters();
    await d.setFlatParameters(tensor(Float32Array.from(values.data, (x) => x + 0.3 * rng.gaussian()), values.shape));
    const { prompts, nullPrompt } = readPrompts(file, ['playing bongo', 'hammond organ'], '', dims);
    const a = gaussian(rng, [3, 1, 8, 4]);
    const v = gaussian(rng, [3, 2, 1, 4, 4]);
    const t = tensor(new Int32Array([100, 500, 900]), [3]);
    const residuals = async (scales: { audio: number; video: number }) => {
      const guidance: PromptGuidance = { prompts, nullPrompt, cfgScales: scales };
      const { condition, cfg } = promptSamplingConditions(guidance, 0, 3);
      return d.residuals(a, v, t, condition, cfg);
    };
    const { condition, cfg } = promptSamplingConditions({ prompts, nullPrompt, cfgScales: { audio: 1, video: 1 } }, 0, 3);
    // Pairs 0, 1, 2 take the prompts in turn.
    assert.deepEqual(Array.from(condition!.audio!.data.slice(2 * dims.audio, 3 * dims.audio)), Array.from(prompts[0].audio));
    const conditioned = await d.residuals(a, v, t, condition);
    const unconditioned = await d.residuals(a, v, t, cfg!.nullCondition);
    assert.ok(maxDifference(conditioned.video.data, unconditioned.video.data) > 1e-6, 'the prompts change the residual');
    const one = await residuals({ audio: 1, video: 1 });
    assert.deepEqual(Array.from(one.audio.data), Array.from(conditioned.audio.data));
    assert.deepEqual(Array.from(one.video.data), Array.from(conditioned.video.data));
    const zero = await residuals({ audio: 0, video: 0 });
    assert.deepEqual(Array.from(zero.audio.data), Array.from(unconditioned.audio.data));
    assert.deepEqual(Array.from(zero.video.data), Array.from(unconditioned.video.data));
    const mixed = await residuals({ audio: 2.5, video: 7.5 });
    for (const [modality, s] of [['audio', 2.5], ['video', 7.5]] as const) {
      const expected = Array.from(conditioned[modality].data, (c, i) => unconditioned[modality].data[i] + s * (c - unconditioned[modality].data[i]));
      const scale = Math.max(...expected.map(Math.abs));
      assert.ok(maxDifference(mixed[modality].data, expected) <= 1e-5 * scale, `${modality} at scale ${s}`);
    }
  });
});
