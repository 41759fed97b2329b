/**
 * Text conditioning on embedding columns, on the tiny pairs whose embeddings encode the class (a fixed random vector
 * per class and modality, of different widths, 6 audio / 8 video): `data attach-embeddings` copies a dataset with
 * the columns (per prompt and per pair); train-guidance on real pairs against the same pairs under a wrong class's
 * embeddings learns the condition (BCE falls, the right embedding scores above a wrong one on the real pairs), and
 * the module samples with `sample --prompts`; the draws (dropout rate, fakes' own or borrowed embeddings, ranks);
 * bad columns, widths and null prompts fail naming the field; a stopped or crashed run resumes exactly; a
 * data-parallel group of 2 ranks trains on them.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readDiscriminatorWeights } from '../../ts/checkpoint/discriminatorWeights';
import { readSafetensors, writeSafetensors } from '../../ts/checkpoint/safetensors';
import { type GuidanceConfig, GuidanceConfigSchema } from '../../ts/config/guidance';
import { ConfigError, validateConfig } from '../../ts/config/load';
import { normalise } from '../../ts/core/normalisation';
import { type Batch, readIndex, ShardReader, verifyDataset } from '../../ts/data';
import { loadBasePair } from '../../ts/guidance/basePair';
import { attachEmbeddings } from '../../ts/guidance/embeddingColumns';
import { generateFakes } from '../../ts/guidance/fakes';
import { loadGuidance } from '../../ts/guidance/sample';
import { embeddingConditions, embeddingDraws, type TextColumns } from '../../ts/guidance/textConditioning';
import { GUIDANCE_FILES, trainGuidance } from '../../ts/guidance/train';
import { type MmdiscoDiscriminatorNetwork, native, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';
import { mmdisco } from '../fixtures/cli';
import { launch } from '../distributed/processes';
import { guidanceLog, trainEntriesWithoutTiming } from '../fixtures/guidanceLog';
import { trainTinyBases, writeTinyPairs } from '../fixtures/tinyPairs';

const DIMS = { audio: 6, video: 8 };
const CLASSES = 8;
const PAIRS = 16;

/** The class embeddings: a fixed random vector per class and modality; the empty prompt a vector of its own. */
function classEmbeddings(): Record<'audio' | 'video', Float32Array[]> & { null: Record<'audio' | 'video', Float32Array> } {
  const rng = new Rng(3);
  const vector = (d: number) => Float32Array.from({ length: d }, () => rng.gaussian());
  const per = (d: number) => Array.from({ length: CLASSES }, () => vector(d));
  return { audio: per(DIMS.audio), video: per(DIMS.video), null: { audio: vector(DIMS.audio).map((x) => 0.1 * x), video: vector(DIMS.video).map((x) => 0.1 * x) } };
}

const readAll = async (dir: string): Promise<Batch> => (await new ShardReader(dir, { batchSize: readIndex(dir).pairs, seed: 0, shuffle: false }).epoch(0).next()).value!;

describe('text conditioning on embedding columns', function () {
  this.timeout(300_000);
  const embeddings = classEmbeddings();
  let root = '';
  let real = '';
  let realText = '';
  let wrongText = '';
  let fake = '';
  let prompts = '';
  const bases = { audio: '', video: '' };

  function config(steps: number, text: Partial<GuidanceConfig['textConditioning']> = {}, training: Record<string, unknown> = {}): GuidanceConfig {
    return validateConfig(GuidanceConfigSchema, {
      textConditioning: { columns: { audio: 'text_audio', video: 'text_video' }, nullPrompt: { file: prompts, name: '' }, dropout: 0.1, ...text },
      discriminator: { width: 8, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'A' },
      training: { steps, batchSize: 8, lr: 3e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0, checkpointEvery: 2, logEvery: 1, seed: 0, ...training },
      runtime: { device: 'cpu', threads: 1 },
    }, 'test');
  }

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'mmdisco-text-'));
    real = path.join(root, 'real');
    await writeTinyPairs(real, PAIRS);
    Object.assign(bases, await trainTinyBases(root, real));
    fake = path.join(root, 'fake');
    await generateFakes({ audioBase: bases.audio, videoBase: bases.video, n: 8, sampler: 'ddim', steps: 2, seed: 5, batch: 8, out: fake });
    prompts = path.join(root, 'prompts.safetensors');
    const named: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const m of ['audio', 'video'] as const) {
      embeddings[m].forEach((e, k) => (named[`${m}/${k}`] = { data: e, shape: [DIMS[m]] }));
      named[`${m}/`] = { data: embeddings.null[m], shape: [DIMS[m]] };
    }
    await writeSafetensors(prompts, named);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('data attach-embeddings copies a dataset with each pair\'s embeddings, per prompt or per pair; bad input names the flag', async () => {
    realText = path.join(root, 'real-text');
    const run = mmdisco('data', 'attach-embeddings', real, '--embeddings', prompts, '--prompt-column', 'label', '--out', realText);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /wrote 16 pairs with text_audio \[6\], text_video \[8\]/);
    assert.equal((await verifyDataset(realText)).pairs, PAIRS);
    const [before, after] = [await readAll(real), await readAll(realText)];
    assert.deepEqual(after.tensors.video, before.tensors.video);
    assert.deepEqual(after.tensors.audio_mel, before.tensors.audio_mel);
    assert.deepEqual(after.meta.label, before.meta.label);
    const labels = after.meta.label as number[];
    for (const m of ['audio', 'video'] as const) {
      const column = after.tensors[`text_${m}`] as Float32Array;
      labels.forEach((k, i) => assert.deepEqual(column.subarray(i * DIMS[m], (i + 1) * DIMS[m]), embeddings[m][k], `pair ${i} ${m}`));
    }
    const index = readIndex(realText);
    assert.equal(index.dataset.name, readIndex(real).dataset.name);
    assert.deepEqual((index.dataset.provenance.embeddings as Record<string, unknown>).promptColumn, 'label');

    // Per pair: the same pairs under the next class's embeddings, the negatives of the training test below.
    const perPair = path.join(root, 'wrong.safetensors');
    const rows = (m: 'audio' | 'video') => {
      const data = new Float32Array(PAIRS * DIMS[m]);
      labels.forEach((k, i) => data.set(embeddings[m][(k + 1) % CLASSES], i * DIMS[m]));
      return { data, shape: [PAIRS, DIMS[m]] };
    };
    await writeSafetensors(perPair, { audio: rows('audio'), video: rows('video') });
    wrongText = path.join(root, 'wrong-text');
    await attachEmbeddings({ data: real, embeddings: perPair, out: wrongText, columns: { audio: 'text_audio', video: 'text_video' } });
    const wrong = await readAll(wrongText);
    assert.deepEqual(wrong.tensors.text_audio, rows('audio').data);
    assert.deepEqual(wrong.tensors.video, before.tensors.video);

    const bad = mmdisco('data', 'attach-embeddings', real, '--embeddings', prompts, '--prompt-column', 'caption', '--out', path.join(root, 'bad-attach'));
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /--prompt-column 'caption': .* has no such meta column; it has: label/);
    const fails = (opts: { promptColumn?: string; columns?: { audio: string; video: string } }, message: RegExp) =>
      assert.rejects(attachEmbeddings({ data: real, embeddings: prompts, out: path.join(root, 'bad-attach'), columns: { audio: 'a', video: 'v' }, ...opts }), message);
    await fails({ promptColumn: 'label', columns: { audio: 'video', video: 'v' } }, /--audio-column 'video': .* already has a column of that name/);
    await fails({}, /--embeddings .*prompts\.safetensors: needs a tensor 'audio' of shape \[16, d\]/);
    const partial = path.join(root, 'partial.safetensors');
    await writeSafetensors(partial, { 'audio/0': { data: embeddings.audio[0], shape: [6] }, 'video/0': { data: embeddings.video[0], shape: [8] } });
    await assert.rejects(
      attachEmbeddings({ data: real, embeddings: partial, promptColumn: 'label', out: path.join(root, 'bad-attach2'), columns: { audio: 'a', video: 'v' } }),
      /pair 1: --prompt-column 'label' '1': .* holds no tensor 'audio\/1'/,
    );
  });

  it('draws: dropout at its rate, fakes their own embeddings or a real row\'s, reproducible by step, each rank its rows of the global draws', () => {
    const rows = { batchSize: 16, rank: 0, worldSize: 1 };
    let dropped = 0;
    for (let step = 0; step < 200; step++) {
      const d = embeddingDraws(0.25, 7, step, rows);
      dropped += d.realKept.filter((k) => !k).length + d.fakeKept.filter((k) => !k).length;
      assert.ok(d.fakeFrom.every((j) => Number.isInteger(j) && j >= 0 && j < 16));
    }
    // 6400 draws: the binomial std of the rate is 0.0054.
    assert.ok(Math.abs(dropped / 6400 - 0.25) < 0.02, `null rate ${dropped / 6400}`);
    assert.deepEqual(embeddingDraws(0.25, 7, 3, rows), embeddingDraws(0.25, 7, 3, rows));
    assert.notDeepEqual(embeddingDraws(0.25, 7, 3, rows), embeddingDraws(0.25, 7, 4, rows));
    const whole = embeddingDraws(0.25, 7, 3, { batchSize: 8, rank: 0, worldSize: 1 });
    const ranks = [0, 1].map((rank) => embeddingDraws(0.25, 7, 3, { batchSize: 4, rank, worldSize: 2 }));
    assert.deepEqual([...ranks[0].realKept, ...ranks[1].realKept], whole.realKept);
    assert.deepEqual([...ranks[0].fakeKept, ...ranks[1].fakeKept], whole.fakeKept);

    // Rows: real 0 kept, real 1 dropped; fake 0 kept (own, or real row 1's), fake 1 dropped.
    const batch = (offset: number): Batch => ({
      tensors: { a: Float32Array.from({ length: 4 }, (_, i) => offset + i), v: Float32Array.from({ length: 2 }, (_, i) => offset + 10 + i) },
      meta: {}, indices: [0, 1], position: { epoch: 0, position: 2 },
    });
    const text: TextColumns = { columns: { audio: 'a', video: 'v' }, dims: { audio: 2, video: 1 }, nullPrompt: { name: '', audio: Float32Array.of(-1, -1), video: Float32Array.of(-2) }, fakesCarryEmbeddings: false };
    const draws = { realKept: [true, false], fakeKept: [true, false], fakeFrom: [1, 0] };
    const borrowed = embeddingConditions(text, draws, batch(0), batch(100));
    assert.deepEqual(Array.from(borrowed.real.audio!.data), [0, 1, -1, -1]);
    assert.deepEqual(Array.from(borrowed.real.video!.data), [10, -2]);
    assert.deepEqual(borrowed.real.audio!.shape, [2, 2]);
    assert.deepEqual(Array.from(borrowed.fake.audio!.data), [2, 3, -1, -1]);
    const own = embeddingConditions({ ...text, fakesCarryEmbeddings: true }, draws, batch(0), batch(100));
    assert.deepEqual(Array.from(own.fake.audio!.data), [100, 101, -1, -1]);
    assert.deepEqual(Array.from(own.fake.video!.data), [110, -2]);
  });

  it('train-guidance learns the condition (BCE falls, the right embedding scores above a wrong one), and the module samples with --prompts', async () => {
    const out = path.join(root, 'guidance-text');
    const configFile = path.join(root, 'text.json');
    // Negatives are the real pairs under the next class's embeddings: only the condition tells them apart.
    writeFileSync(configFile, JSON.stringify(config(60, { dropout: 0 }, { logEvery: 10, checkpointEvery: 60, timestepRange: [0, 30] })));
    const run = mmdisco('train-guidance', '--real', realText, '--fake', wrongText, '--audio-base', bases.audio, '--video-base', bases.video, '--config', configFile, '--out', out);
    assert.equal(run.status, 0, run.stderr);
    const start = guidanceLog(out).find((e) => e.event === 'start')!;
    assert.deepEqual((start.textConditioning as Record<string, unknown>).dims, DIMS);
    assert.equal((start.textConditioning as Record<string, unknown>).fakesCarryEmbeddings, true);
    const bce = guidanceLog(out).filter((e) => e.event === 'train').map((e) => e.bce as number);
    // Measured: 1.39 over steps 1–10, 0.008 over steps 51–60.
    assert.ok(bce[bce.length - 1] < 0.5 * bce[0], `bce ${bce.map((b) => b.toFixed(3))}`);
    const { network } = readDiscriminatorWeights(path.join(out, GUIDANCE_FILES.weights));
    assert.equal((network as MmdiscoDiscriminatorNetwork).audioTextDim, DIMS.audio);
    assert.equal((network as MmdiscoDiscriminatorNetwork).videoTextDim, DIMS.video);

    const pairBases = await loadBasePair(bases.audio, bases.video, { threads: 1 });
    const { discriminator } = await loadGuidance(out, pairBases, { threads: 1 });
    const pairs = await readAll(real);
    const labels = pairs.meta.label as number[];
    const input = (m: 'audio' | 'video', name: string) =>
      tensor(Float32Array.from(normalise(pairBases[m].normalisation, pairs.tensors[name])), [PAIRS, ...pairBases[m].inputShape]);
    const condition = (shift: number) => {
      const stack = (m: 'audio' | 'video') => {
        const data = new Float32Array(PAIRS * DIMS[m]);
        labels.forEach((k, i) => data.set(embeddings[m][(k + shift) % CLASSES], i * DIMS[m]));
        return tensor(data, [PAIRS, DIMS[m]]);
      };
      return { audio: stack('audio'), video: stack('video') };
    };
    const t = tensor(new Int32Array(PAIRS).fill(5), [PAIRS]);
    const [a, v] = [input('audio', 'audio_mel'), input('video', 'video')];
    const right = Array.from((await discriminator.logit(a, v, t, condition(0))).logit.data);
    const wrong = Array.from((await discriminator.logit(a, v, t, condition(3))).logit.data);
    const ahead = right.filter((r, i) => r > wrong[i]).length;
    // Measured: ℓ(right) − ℓ(wrong) from 2.5 to 20.4 on the 16 pairs.
    assert.equal(ahead, PAIRS, `the right embedding scores higher on ${ahead} of 16 pairs: ${right.map((r, i) => (r - wrong[i]).toFixed(2))}`);

    const sampled = mmdisco('sample', '--audio-base', bases.audio, '--video-base', bases.video, '--guidance', out, '--prompts', prompts, '--prompt', '3',
      '--cfg-scale', '2', '--lambda-audio', '5', '--lambda-video', '5', '--sampler', 'ddim', '--steps', '3', '-n', '2', '--batch', '2',
      '--out', path.join(root, 'sampled'));
    assert.equal(sampled.status, 0, sampled.stderr);
    assert.equal(readIndex(path.join(root, 'sampled', 'pairs')).pairs, 2);
  });

  it('bad columns, widths and null prompts fail naming the data, field and column', async () => {
    const fresh = { real: realText, fake, audioBase: bases.audio, videoBase: bases.video };
    const fails = async (out: string, cfg: GuidanceConfig, message: RegExp, data: Partial<typeof fresh> = {}) =>
      assert.rejects(trainGuidance({ out: path.join(root, out), config: cfg, ...fresh, ...data }), (e: Error) => e instanceof ConfigError && message.test(e.message), out);
    await fails('bad-column', config(2, { columns: { audio: 'caption', video: 'text_video' } }),
      /^--real .*real-text: no column 'caption' \(textConditioning\.columns\.audio\); it has: video, audio_mel, text_audio, text_video$/);
    await fails('no-columns', config(2), /^--real .*real: no column 'text_audio' \(textConditioning\.columns\.audio\)/, { real });
    await fails('not-embedding', config(2, { columns: { audio: 'text_audio', video: 'video' } }),
      /column 'video' \(textConditioning\.columns\.video\) is uint8 \[4,1,8,8\], not an embedding \(float32 \[d\]\)/);
    const narrow = path.join(root, 'narrow.safetensors');
    await writeSafetensors(narrow, { 'audio/': { data: new Float32Array(5), shape: [5] }, 'video/': { data: new Float32Array(8), shape: [8] } });
    await fails('bad-null-width', config(2, { nullPrompt: { file: narrow, name: '' } }),
      /^textConditioning\.nullPrompt\.name '': 'audio\/' in .*narrow\.safetensors has shape \[5\], expected \[6\] or \[tokens, 6\]/);
    await fails('bad-null-name', config(2, { nullPrompt: { file: prompts, name: 'silence' } }), /^textConditioning\.nullPrompt\.name 'silence': .* holds no tensor 'audio\/silence'/);
    await fails('bad-null-file', config(2, { nullPrompt: { file: path.join(root, 'none.safetensors'), name: '' } }), /^textConditioning\.nullPrompt\.file .*none\.safetensors: /);
    // A fake bank with embeddings of another width.
    const wide = path.join(root, 'wide.safetensors');
    await writeSafetensors(wide, { audio: { data: new Float32Array(PAIRS * 7), shape: [PAIRS, 7] }, video: { data: new Float32Array(PAIRS * 8), shape: [PAIRS, 8] } });
    const wideFake = path.join(root, 'wide-fake');
    await attachEmbeddings({ data: real, embeddings: wide, out: wideFake, columns: { audio: 'text_audio', video: 'text_video' } });
    await fails('bad-fake-width', config(2), /^--fake .*wide-fake: column 'text_audio' \(textConditioning\.columns\.audio\) is \[7\] wide but the real pairs' is \[6\]$/, { fake: wideFake });

    const base = config(2);
    const invalid = (block: Record<string, unknown>, message: RegExp) =>
      assert.throws(() => validateConfig(GuidanceConfigSchema, { ...base, ...block }, 'cfg.json'), message);
    invalid({ conditioning: { column: 'label', classes: 8, dropout: 0.1 } }, /cfg\.json: textConditioning: a discriminator takes class or text conditions, not both/);
    invalid({ textConditioning: { ...base.textConditioning, dropout: 1 } }, /cfg\.json: textConditioning\.dropout/);
    invalid({ textConditioning: { ...base.textConditioning, columns: { audio: 'text_audio' } } }, /cfg\.json: textConditioning\.columns\.video/);
  });

  it('a run stopped (--max-steps) or crashed and then resumed replays the uninterrupted run exactly (fakes borrowing real embeddings)', async () => {
    const cfg = config(6, { dropout: 0.3 }, { batchSize: 4 });
    const fresh = { config: cfg, real: realText, fake, audioBase: bases.audio, videoBase: bases.video };
    const weights = (dir: string) => readSafetensors(path.join(dir, GUIDANCE_FILES.weights)).tensors;
    const whole = path.join(root, 'resume-whole');
    await trainGuidance({ out: whole, ...fresh });
    assert.equal(guidanceLog(whole).find((e) => e.event === 'start')?.textConditioning !== undefined, true);
    const expected = trainEntriesWithoutTiming(whole);
    assert.equal(expected.length, 6);

    const stopped = path.join(root, 'resume-stopped');
    assert.equal((await trainGuidance({ out: stopped, ...fresh, maxStepsThisRun: 3 })).steps, 3);
    assert.equal((await trainGuidance({ out: stopped, resume: true })).steps, 3);
    const crashed = path.join(root, 'resume-crashed');
    const crash = new Error('simulated crash at step 3 (last checkpoint: step 2)');
    await assert.rejects(trainGuidance({ out: crashed, ...fresh, onStep: (step) => { if (step === 3) throw crash; } }), (e) => e === crash);
    await trainGuidance({ out: crashed, resume: true });
    for (const dir of [stopped, crashed]) {
      assert.deepEqual(trainEntriesWithoutTiming(dir), expected, dir);
      const [a, b] = [weights(whole), weights(dir)];
      for (const name of Object.keys(a)) assert.deepEqual(b[name].data, a[name].data, `${dir}: ${name}`);
    }
  });

  it('a group of 2 ranks trains on text conditions, each rank on its rows', async function () {
    if (!native.runtimeInfo().gloo) this.skip();
    const configFile = path.join(root, 'text-ranks.json');
    writeFileSync(configFile, JSON.stringify(config(2, { dropout: 0.3 }, { batchSize: 4, logEvery: 1 })));
    const out = path.join(root, 'ranks');
    const r = await launch(2, ['train-guidance', '--real', realText, '--fake', fake, '--audio-base', bases.audio, '--video-base', bases.video, '--config', configFile, '--out', out]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const log = guidanceLog(out);
    assert.equal(log.find((e) => e.event === 'start')?.worldSize, 2);
    assert.ok(log.filter((e) => e.event === 'train').every((e) => Number.isFinite(e.bce)), JSON.stringify(log));
  });
});
