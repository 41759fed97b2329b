/**
 * fakes generate / train-guidance / sample end to end on a tiny dataset with tiny base models: the fake bank is a
 * dataset that verifies (and a restart skips finished chunks), training logs and checkpoints (fusion A, B, and A
 * with audio↔video cross-attention), a run stopped or
 * crashed and then resumed replays the uninterrupted run exactly (also with class conditioning and its condition
 * dropout), a damaged state.bin is refused naming the file, guided sampling writes its dataset and media (with a
 * class-conditioned discriminator: toward the classes asked, with one residual CFG scale or one per modality, recorded
 * in the provenance and the class column), and bad input names the flag or field.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type GuidanceConfig, GuidanceConfigSchema } from '../../ts/config/guidance';
import { ConfigError, validateConfig } from '../../ts/config/load';
import { readDiscriminatorWeights, writeDiscriminatorWeights } from '../../ts/checkpoint/discriminatorWeights';
import { readSafetensors, writeSafetensors } from '../../ts/checkpoint/safetensors';
import { readTrainingStateFile, writeTrainingStateFile } from '../../ts/checkpoint/trainingState';
import { readIndex, ShardReader, verifyDataset } from '../../ts/data';
import { generateFakes } from '../../ts/guidance/fakes';
import { guidedSample } from '../../ts/guidance/sample';
import { GUIDANCE_FILES, trainGuidance } from '../../ts/guidance/train';
import { type MmdiscoDiscriminatorNetwork, native, tensor } from '../../ts/native';
import { guidanceLog, trainEntriesWithoutTiming } from '../fixtures/guidanceLog';
import { trainTinyBases, writeTinyPairs } from '../fixtures/tinyPairs';

/** Class conditioning on the tiny pairs' label (8 classes). */
const CONDITIONING = { column: 'label', classes: 8, dropout: 0.3, mismatch: 0.3, projection: true, classLoss: 0.5 };

/** With conditioning, also half the negatives shuffled real pairs: the conditioned runs exercise every kind of negative. */
function guidanceConfig(fusion: 'A' | 'B', steps = 4, conditioning?: GuidanceConfig['conditioning']): GuidanceConfig {
  return validateConfig(GuidanceConfigSchema, {
    ...(conditioning ? { conditioning } : {}),
    discriminator: { width: 8, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion, fusionWidth: 16, fusionHeads: 2, fusionHeadDim: 8, fusionMaxTokens: 64 },
    training: {
      steps, batchSize: 4, lr: 1e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0.1, checkpointEvery: 2, logEvery: 1, timestepBuckets: 2, seed: 0,
      shuffledNegatives: conditioning ? 0.5 : 0,
    },
    runtime: { device: 'cpu', threads: 1 },
  }, 'test');
}

describe('guidance: fakes generate, train-guidance, sample', function () {
  this.timeout(300_000);
  let root = '';
  let real = '';
  let fake = '';
  const bases = { audio: '', video: '' };

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'mmdisco-guidance-'));
    real = path.join(root, 'real');
    await writeTinyPairs(real, 16);
    Object.assign(bases, await trainTinyBases(root, real));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('fakes generate writes a verifying dataset with the real tensors, reproducibly by seed', async () => {
    fake = path.join(root, 'fake');
    const opts = { audioBase: bases.audio, videoBase: bases.video, n: 10, sampler: 'ddim' as const, steps: 3, seed: 5, batch: 4, out: fake };
    const index = await generateFakes(opts);
    assert.equal(index.pairs, 10);
    assert.deepEqual(index.tensors.map((t) => [t.name, t.dtype, t.shape]), readIndex(real).tensors.map((t) => [t.name, t.dtype, t.shape]));
    assert.deepEqual(index.meta.map((m) => m.name), ['index', 'seed']);
    const report = await verifyDataset(fake);
    assert.equal(report.pairs, 10);
    assert.ok(!existsSync(path.join(fake, '.chunks')));
    await assert.rejects(generateFakes(opts), /already holds a complete dataset/);

    const again = path.join(root, 'fake-again');
    await generateFakes({ ...opts, out: again });
    assert.deepEqual(readFileSync(path.join(again, 'shard-00000.arrow')), readFileSync(path.join(fake, 'shard-00000.arrow')));
  });

  it('a restart after an interruption skips the chunks on disk and refuses a different plan', async () => {
    const dir = path.join(root, 'fake-interrupted');
    const opts = { audioBase: bases.audio, videoBase: bases.video, n: 8, sampler: 'ddpm' as const, steps: 3, seed: 1, batch: 4, out: dir };
    // Interrupt the first run after its chunks, before the dataset: a directory where the shard file goes.
    mkdirSync(path.join(dir, 'shard-00000.arrow.tmp'), { recursive: true });
    await assert.rejects(generateFakes(opts));
    assert.ok(!existsSync(path.join(dir, 'index.json')), 'an interrupted run leaves no index.json');
    assert.deepEqual(readdirSync(path.join(dir, '.chunks')).sort(), ['chunk-00000.safetensors', 'chunk-00001.safetensors', 'plan.json']);
    await assert.rejects(generateFakes({ ...opts, seed: 2 }), /different settings/);
    rmSync(path.join(dir, 'shard-00000.arrow.tmp'), { recursive: true });
    // Mark chunk 0 (black video): the restart must take it from disk rather than sample it again.
    const chunk = path.join(dir, '.chunks', 'chunk-00000.safetensors');
    const { tensors, metadata } = readSafetensors(chunk);
    await writeSafetensors(chunk, { ...tensors, video: { data: new Uint8Array(tensors.video.data.length), shape: tensors.video.shape } }, metadata);
    const index = await generateFakes(opts);
    assert.equal(index.pairs, 8);
    const reader = new ShardReader(dir, { batchSize: 8, seed: 0, shuffle: false });
    const video = (await reader.epoch(0).next()).value!.tensors.video as Uint8Array;
    assert.ok(video.subarray(0, 4 * 256).every((v) => v === 0), 'chunk 0 comes from disk');
    assert.ok(video.subarray(4 * 256).some((v) => v !== 0), 'chunk 1 holds samples');
  });

  for (const [fusion, crossAttention] of [['A', false], ['B', false], ['A', true]] as const) {
    it(`train-guidance (fusion ${fusion}${crossAttention ? ', audio↔video cross-attention' : ''}) logs both losses and D per timestep bucket and checkpoints`, async () => {
      const out = path.join(root, `guidance-${fusion}${crossAttention ? '-cross' : ''}`);
      const config = guidanceConfig(fusion);
      if (crossAttention) config.discriminator.crossAttentionLevels = [1];
      const result = await trainGuidance({ out, config, real, fake, audioBase: bases.audio, videoBase: bases.video });
      assert.equal(result.steps, 4);
      for (const name of Object.values(GUIDANCE_FILES)) assert.ok(existsSync(path.join(out, name)), name);
      const train = guidanceLog(out).filter((e) => e.event === 'train');
      assert.equal(train.length, 4);
      for (const entry of train) {
        assert.ok(Number.isFinite(entry.bce) && Number.isFinite(entry.denoising), JSON.stringify(entry));
        assert.ok((entry.dReal as number) > 0 && (entry.dReal as number) < 1);
        assert.equal((entry.dRealByBucket as unknown[]).length, 2);
        const ms = entry.msPerStep as Record<string, number>;
        assert.deepEqual(Object.keys(ms).sort(), ['data', 'other', 'step']);
        assert.ok(ms.step > 0 && ms.data >= 0 && ms.other >= 0, JSON.stringify(ms));
      }
      assert.deepEqual(JSON.parse(readFileSync(path.join(out, GUIDANCE_FILES.state), 'utf8')).step, 4);
    });
  }

  for (const conditioning of [undefined, CONDITIONING]) {
    const variant = conditioning ? '-conditioned' : '';
    it(`a run ${conditioning ? 'with class conditioning ' : ''}stopped (--max-steps) or crashed and then resumed replays the uninterrupted run exactly`, async () => {
      const config = guidanceConfig('A', 6, conditioning);
      const fresh = { config, real, fake, audioBase: bases.audio, videoBase: bases.video };
      const weights = (dir: string) => readSafetensors(path.join(dir, GUIDANCE_FILES.weights)).tensors;
      const whole = path.join(root, `guidance-whole${variant}`);
      await trainGuidance({ out: whole, ...fresh });
      const expected = trainEntriesWithoutTiming(whole);
      assert.equal(expected.length, 6);

      const stopped = path.join(root, `guidance-stopped${variant}`);
      assert.equal((await trainGuidance({ out: stopped, ...fresh, maxStepsThisRun: 3 })).steps, 3);
      const steps: number[] = [];
      assert.equal((await trainGuidance({ out: stopped, resume: true, onStep: (step) => steps.push(step) })).steps, 3);
      assert.deepEqual(steps, [4, 5, 6]);
      assert.equal(guidanceLog(stopped).find((e) => e.event === 'resume')?.step, 3);

      const crashed = path.join(root, `guidance-crashed${variant}`);
      const crash = new Error('simulated crash at step 3 (last checkpoint: step 2)');
      await assert.rejects(trainGuidance({ out: crashed, ...fresh, onStep: (step) => { if (step === 3) throw crash; } }), (e) => e === crash);
      await assert.rejects(trainGuidance({ out: crashed, ...fresh }), /--resume/);
      await trainGuidance({ out: crashed, resume: true });

      for (const dir of [stopped, crashed]) {
        assert.deepEqual(trainEntriesWithoutTiming(dir), expected, dir);
        const [a, b] = [weights(whole), weights(dir)];
        assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
        for (const name of Object.keys(a)) assert.deepEqual(b[name].data, a[name].data, `${dir}: ${name}`);
      }
    });
  }

  it('a missing, truncated, corrupt or out-of-step state.bin is refused naming the file', async () => {
    const damaged = async (name: string, damage: (file: string) => Promise<void> | void) => {
      const out = path.join(root, `guidance-${name}`);
      cpSync(path.join(root, 'guidance-stopped'), out, { recursive: true });
      const file = path.join(out, GUIDANCE_FILES.trainerState);
      await damage(file);
      await assert.rejects(trainGuidance({ out, resume: true }), (error: Error) => error.message.startsWith(`${file}: `), name);
    };
    await damaged('missing', (file) => rmSync(file));
    await damaged('truncated', (file) => writeFileSync(file, readFileSync(file).subarray(0, 100)));
    await damaged('corrupt', async (file) => {
      const { state, progress } = readTrainingStateFile(file, ['step']);
      const bytes = Uint8Array.from(state.data);
      bytes.fill(0, bytes.length >> 1);
      await writeTrainingStateFile(file, { data: bytes, shape: state.shape }, progress);
    });
    await damaged('out-of-step', async (file) => {
      const { state } = readTrainingStateFile(file, ['step']);
      await writeTrainingStateFile(file, state, { step: 2 });
    });
  });

  it('sample writes the guided pairs as a dataset and the media', async () => {
    const out = path.join(root, 'guided');
    const { index, written } = await guidedSample({
      audioBase: bases.audio, videoBase: bases.video, guidance: path.join(root, 'guidance-B'),
      lambdaAudio: 1, lambdaVideo: 2, n: 3, sampler: 'ddim', steps: 3, seed: 0, batch: 2, out,
    });
    assert.equal(index.pairs, 3);
    assert.equal((await verifyDataset(path.join(out, 'pairs'))).pairs, 3);
    for (const name of ['grid.png', 'mel.png', 'contact.png', 'sample-000.wav', 'sample-002.mp4']) {
      assert.ok(written.includes(path.join(out, name)) && existsSync(path.join(out, name)), name);
    }
    // A guidance interval is recorded with the pairs; one outside the base models' timesteps is refused.
    const draw = { audioBase: bases.audio, videoBase: bases.video, guidance: path.join(root, 'guidance-B'), lambdaAudio: 1, lambdaVideo: 2, n: 1, sampler: 'ddim' as const, steps: 3, seed: 0, batch: 1, media: 'none' as const };
    const within = (await guidedSample({ ...draw, guidanceInterval: [0, 49], out: path.join(root, 'guided-interval') })).index;
    assert.deepEqual((within.dataset.provenance.generator as Record<string, unknown>).guidanceInterval, [0, 49]);
    await assert.rejects(
      guidedSample({ ...draw, guidanceInterval: [10, 100], out: path.join(root, 'bad-interval') }),
      /^ConfigError: --guidance-interval 10 100: must be two integer timesteps tMin ≤ tMax in \[0, 99\]/
    );
    // Repeated guided steps are recorded and change the pairs; DPM-Solver++ samples with guidance and refuses repeats.
    const pairs = async (dir: string) =>
      Array.from((await new ShardReader(path.join(root, dir, 'pairs'), { batchSize: 1, seed: 0, shuffle: false }).epoch(0).next()).value!.tensors.audio_mel as Float32Array);
    const repeated = (await guidedSample({ ...draw, guidanceRepeats: 2, out: path.join(root, 'guided-repeats') })).index;
    assert.equal((repeated.dataset.provenance.generator as Record<string, unknown>).guidanceRepeats, 2);
    await guidedSample({ ...draw, out: path.join(root, 'guided-once') });
    assert.notDeepEqual(await pairs('guided-repeats'), await pairs('guided-once'));
    const dpm = { ...draw, sampler: 'dpm-solver++-3s' as const, steps: 6 };
    await guidedSample({ ...dpm, out: path.join(root, 'guided-dpm') });
    assert.notDeepEqual(await pairs('guided-dpm'), await pairs('guided-once'));
    await assert.rejects(guidedSample({ ...dpm, guidanceRepeats: 2, out: path.join(root, 'dpm-repeats') }), /guidanceRepeats.*ddpm and ddim samplers only/);
  });

  it('sample with a class-conditioned discriminator guides toward --class (CFG scale recorded, class column written)', async () => {
    const guidance = path.join(root, 'guidance-whole-conditioned');
    assert.deepEqual(readDiscriminatorWeights(path.join(guidance, GUIDANCE_FILES.weights)).conditioning, { column: 'label', classes: 8 });
    const draw = { audioBase: bases.audio, videoBase: bases.video, guidance, lambdaAudio: 20, lambdaVideo: 20, n: 3, sampler: 'ddim' as const, steps: 3, seed: 0, batch: 2, media: 'none' as const };
    const pairs = async (dir: string) => (await new ShardReader(path.join(dir, 'pairs'), { batchSize: 3, seed: 0, shuffle: false }).epoch(0).next()).value!;

    const toward = path.join(root, 'guided-class');
    const { index } = await guidedSample({ ...draw, out: toward, classes: [5, 2], cfgScale: 3 });
    assert.deepEqual(index.meta.map((m) => m.name), ['index', 'seed', 'label']);
    assert.deepEqual((await pairs(toward)).meta.label, [5, 2, 5]);
    assert.deepEqual((index.dataset.provenance.generator as Record<string, unknown>).conditioning, { column: 'label', classes: [5, 2], cfgScales: { audio: 3, video: 3 } });

    // The video residual at its own scale: recorded, and the video changes.
    const perModality = path.join(root, 'guided-class-per-modality');
    const perModalityIndex = (await guidedSample({ ...draw, out: perModality, classes: [5, 2], cfgScale: 3, cfgScaleVideo: 1 })).index;
    assert.deepEqual((perModalityIndex.dataset.provenance.generator as Record<string, unknown>).conditioning, { column: 'label', classes: [5, 2], cfgScales: { audio: 3, video: 1 } });
    const [videoS3, videoS1] = [(await pairs(toward)).tensors.video as Uint8Array, (await pairs(perModality)).tensors.video as Uint8Array];
    assert.ok(videoS3.some((x, i) => x !== videoS1[i]), 'the video CFG scale changes the video');

    // Without --class: the unconditional branch, and no class to write.
    const unconditional = path.join(root, 'guided-null');
    const nullIndex = (await guidedSample({ ...draw, out: unconditional })).index;
    assert.deepEqual(nullIndex.meta.map((m) => m.name), ['index', 'seed']);
    assert.deepEqual((nullIndex.dataset.provenance.generator as Record<string, unknown>).conditioning, { column: 'label', classes: [], cfgScales: null });
    const [a, b] = [(await pairs(toward)).tensors.audio_mel as Float32Array, (await pairs(unconditional)).tensors.audio_mel as Float32Array];
    assert.ok(a.some((x, i) => x !== b[i]), 'the class guidance changes the samples');
  });

  it('sample with a text-conditioned discriminator guides toward --prompt (residual CFG against the empty prompt)', async () => {
    // A text-conditioned module, as an imported released one is: the trained network with text widths, weights
    // perturbed so that the condition reaches the output.
    const { network } = readDiscriminatorWeights(path.join(root, 'guidance-B', GUIDANCE_FILES.weights));
    const textNetwork = { ...(network as MmdiscoDiscriminatorNetwork), videoTextDim: 3, audioTextDim: 2 };
    const d = new native.Discriminator({ network: textNetwork, audioSchedule: { kind: 'linear' }, videoSchedule: { kind: 'linear' }, dtype: 'float32', seed: 4, threads: 1 });
    const { values } = await d.flatParameters();
    await d.setFlatParameters(tensor(Float32Array.from(values.data, (x, i) => x + 0.3 * Math.sin(1.7 * i)), values.shape));
    const guidance = path.join(root, 'guidance-text');
    mkdirSync(guidance, { recursive: true });
    await writeDiscriminatorWeights(path.join(guidance, GUIDANCE_FILES.weights), await d.parameters(), textNetwork);
    const prompts = path.join(root, 'prompts.safetensors');
    await writeSafetensors(prompts, {
      'audio/bell': tensor(new Float32Array([1, -2]), [2]), 'video/bell': tensor(new Float32Array([0.5, 2, -1]), [3]),
      'audio/': tensor(new Float32Array([0, 0]), [2]), 'video/': tensor(new Float32Array([0, 0, 0]), [3]),
    });
    const draw = { audioBase: bases.audio, videoBase: bases.video, guidance, lambdaAudio: 20, lambdaVideo: 20, n: 2, sampler: 'ddim' as const, steps: 3, seed: 0, batch: 2, media: 'none' as const };
    const audioOf = async (dir: string) => (await new ShardReader(path.join(dir, 'pairs'), { batchSize: 2, seed: 0, shuffle: false }).epoch(0).next()).value!.tensors.audio_mel as Float32Array;

    const toward = path.join(root, 'guided-prompt');
    const { index } = await guidedSample({ ...draw, out: toward, prompts, prompt: ['bell'], cfgScale: 3 });
    assert.deepEqual((index.dataset.provenance.generator as Record<string, unknown>).prompts, { file: prompts, names: ['bell'], nullPrompt: '', cfgScales: { audio: 3, video: 3 } });
    const nullBranch = path.join(root, 'guided-prompt-null');
    await guidedSample({ ...draw, out: nullBranch, prompts, prompt: ['bell'], cfgScale: 0 });
    const [a, b] = [await audioOf(toward), await audioOf(nullBranch)];
    assert.ok(a.some((x, i) => x !== b[i]), 'the prompt guidance changes the samples');

    await assert.rejects(guidedSample({ ...draw, out: path.join(root, 'bad-p1') }), /--guidance .* is text-conditioned \(audio 2, video 3 dims\): give --prompts FILE and --prompt NAME/);
    await assert.rejects(guidedSample({ ...draw, out: path.join(root, 'bad-p2'), prompts, prompt: ['gong'] }), /--prompt 'gong': .* holds no tensor 'audio\/gong'/);
    await assert.rejects(guidedSample({ ...draw, out: path.join(root, 'bad-p3'), prompts, prompt: ['bell'], classes: [1] }), /--class: the discriminator is text-conditioned/);
    await assert.rejects(guidedSample({ ...draw, guidance: path.join(root, 'guidance-B'), out: path.join(root, 'bad-p4'), prompts, prompt: ['bell'] }), /--prompts: the discriminator .* is not text-conditioned/);
  });

  it('class conditioning: bad data, flags and discriminators fail naming the column or flag', async () => {
    const fresh = { real, fake, audioBase: bases.audio, videoBase: bases.video };
    await assert.rejects(
      trainGuidance({ out: path.join(root, 'bad-column'), config: guidanceConfig('A', 4, { ...CONDITIONING, column: 'digit' }), ...fresh }),
      (error: Error) => error instanceof ConfigError && error.message.includes(`--real ${real}: no meta column 'digit' (conditioning.column); it has: label`),
    );
    await assert.rejects(
      trainGuidance({ out: path.join(root, 'bad-classes'), config: guidanceConfig('A', 4, { ...CONDITIONING, classes: 4 }), ...fresh }),
      (error: Error) => error.message.startsWith(`--real ${real}: meta 'label' holds `) && error.message.includes('not a class in [0, 4) (conditioning.classes)'),
    );
    const draw = { audioBase: bases.audio, videoBase: bases.video, lambdaAudio: 1, lambdaVideo: 1, n: 1, sampler: 'ddim' as const, steps: 1, seed: 0, batch: 1 };
    const unconditioned = path.join(root, 'guidance-B');
    const conditioned = path.join(root, 'guidance-whole-conditioned');
    await assert.rejects(guidedSample({ ...draw, guidance: unconditioned, classes: [1], out: path.join(root, 'bad-c1') }), /^ConfigError: --class: the discriminator .* is not class-conditioned/);
    await assert.rejects(guidedSample({ ...draw, guidance: unconditioned, cfgScale: 2, out: path.join(root, 'bad-c2') }), /--cfg-scale: the discriminator .* is not class-conditioned/);
    await assert.rejects(guidedSample({ ...draw, guidance: unconditioned, cfgScaleVideo: 2, out: path.join(root, 'bad-c2') }), /--cfg-scale-video: the discriminator .* is not class-conditioned/);
    await assert.rejects(guidedSample({ ...draw, guidance: conditioned, classes: [1, 8], out: path.join(root, 'bad-c3') }), /--class 8: must be an integer in \[0, 8\)/);
    const cli = path.resolve(__dirname, '..', '..', 'ts', 'cli', 'main.js');
    const sample = (flags: string[]) =>
      promisify(execFile)(process.execPath, [
        cli, 'sample', '--audio-base', bases.audio, '--video-base', bases.video, '--guidance', conditioned,
        '--lambda-audio', '1', '--lambda-video', '1', '--n', '1', '--out', path.join(root, 'bad-c4'), ...flags,
      ]);
    await assert.rejects(sample(['--class', '9', '--cfg-scale', '2']), (error: Error & { stderr: string }) => /--class 9: must be an integer/.test(error.stderr));
    await assert.rejects(sample(['--cfg-scale', '2']), (error: Error & { stderr: string }) => /--cfg-scale needs --class/.test(error.stderr));
    await assert.rejects(sample(['--class', '1', '--cfg-scale-audio', 'high']), (error: Error & { stderr: string }) => /--cfg-scale-audio must be a number, got NaN/.test(error.stderr));
    await assert.rejects(sample(['--cfg-scale-video', '2']), (error: Error & { stderr: string }) => /--cfg-scale-video needs --class/.test(error.stderr));
    await assert.rejects(sample(['--guidance-interval', '500']), (error: Error & { stderr: string }) => /--guidance-interval 500: must be two integer timesteps/.test(error.stderr));
  });

  it('bad flags and configs fail naming the flag or field', async () => {
    assert.throws(() => validateConfig(GuidanceConfigSchema, { ...guidanceConfig('A'), discriminator: { ...guidanceConfig('A').discriminator, fusion: 'C' } }, 'cfg.json'), /cfg\.json: discriminator\.fusion/);
    assert.throws(() => validateConfig(GuidanceConfigSchema, { ...guidanceConfig('A'), discriminator: { ...guidanceConfig('A').discriminator, width: 6 } }, 'cfg.json'), /discriminator\.groups/);
    await assert.rejects(trainGuidance({ out: path.join(root, 'bad'), config: guidanceConfig('A'), real }), /--fake, --audio-base, --video-base/);
    await assert.rejects(
      trainGuidance({ out: path.join(root, 'bad2'), config: guidanceConfig('A'), real, fake, audioBase: bases.video, videoBase: bases.video }),
      (error: Error) => error instanceof ConfigError && /--audio-base .*video model/.test(error.message),
    );
    const patched = { ...guidanceConfig('A'), discriminator: { ...guidanceConfig('A').discriminator, videoPatch: 3 } };
    await assert.rejects(
      trainGuidance({ out: path.join(root, 'bad-patch'), config: patched, real, fake, audioBase: bases.audio, videoBase: bases.video }),
      /discriminator\.videoPatch = 3 must divide the video base model's frames \(8×8\)/,
    );
    assert.ok(!existsSync(path.join(root, 'bad-patch', GUIDANCE_FILES.log)), 'fails before training starts');
    const crossed = (fields: Record<string, unknown>) =>
      validateConfig(GuidanceConfigSchema, { ...guidanceConfig('A'), discriminator: { ...guidanceConfig('A').discriminator, ...fields } }, 'cfg.json');
    assert.throws(() => crossed({ crossAttentionLevels: [2] }), /cfg\.json: discriminator\.crossAttentionLevels: must be levels of channelMult/);
    assert.throws(() => crossed({ crossAttentionLevels: [0], crossAttentionHeads: 3 }), /cfg\.json: discriminator\.crossAttentionHeads: must divide/);
    await assert.rejects(
      trainGuidance({
        out: path.join(root, 'bad-window'), config: crossed({ crossAttentionLevels: [0], crossAttentionWindow: 3 }), real, fake, audioBase: bases.audio, videoBase: bases.video,
      }),
      /discriminator\.crossAttentionWindow = 3 must divide the video base model's 4 frames/,
    );
    assert.ok(!existsSync(path.join(root, 'bad-window', GUIDANCE_FILES.log)), 'fails before training starts');
    await assert.rejects(
      trainGuidance({
        out: path.join(root, 'bad-frame-tokens'), config: crossed({ fusion: 'B', fusionTokens: 'frame', audioConv: '1d', channelMult: [1, 1] }), real, fake,
        audioBase: bases.audio, videoBase: bases.video,
      }),
      /discriminator\.fusionTokens = 'frame' needs the audio frames of the last level \(\d+\) to be a whole number per video frame \(4\)/,
    );
    const grouped = { ...guidanceConfig('A'), training: { ...guidanceConfig('A').training, shuffledNegatives: 0.5, shuffledNegativesWithin: 'material' } };
    await assert.rejects(
      trainGuidance({ out: path.join(root, 'bad-within'), config: grouped, real, fake, audioBase: bases.audio, videoBase: bases.video }),
      /--real .*: no meta column 'material' \(training\.shuffledNegativesWithin\)/,
    );
    assert.ok(!existsSync(path.join(root, 'bad-within', GUIDANCE_FILES.log)), 'fails before training starts');
    const ranged = (timestepRange: number[]) =>
      validateConfig(GuidanceConfigSchema, { ...guidanceConfig('A'), training: { ...guidanceConfig('A').training, timestepRange } }, 'cfg.json');
    assert.throws(() => ranged([50, 20]), /cfg\.json: training\.timestepRange: tMin must not exceed tMax/);
    await assert.rejects(
      trainGuidance({ out: path.join(root, 'bad-range'), config: ranged([20, 100]), real, fake, audioBase: bases.audio, videoBase: bases.video }),
      /training\.timestepRange \[20, 100\] must lie within the base models' timesteps 0 … 99/,
    );
    assert.ok(!existsSync(path.join(root, 'bad-range', GUIDANCE_FILES.log)), 'fails before training starts');
    await assert.rejects(
      guidedSample({ audioBase: bases.audio, videoBase: bases.video, guidance: path.join(root, 'nope'), lambdaAudio: 1, lambdaVideo: 1, n: 1, sampler: 'ddim', steps: 1, seed: 0, batch: 1, out: path.join(root, 'bad3') }),
      /--guidance .*nope/,
    );
    const cli = path.resolve(__dirname, '..', '..', 'ts', 'cli', 'main.js');
    await assert.rejects(
      promisify(execFile)(process.execPath, [cli, 'fakes', 'generate', '--audio-base', bases.audio, '--video-base', bases.video, '--n', '0', '--out', path.join(root, 'bad4')]),
      (error: Error & { stderr: string }) => /--n must be a positive integer/.test(error.stderr),
    );
  });
});
