/**
 * `mmdisco import official` on the official parity fixtures (test/fixtures/official-mmdisco, README.md there): each
 * reduced-size checkpoint imports through the command line from its config.json, and the written guidance module
 * (loaded as `sample --guidance` loads it) reproduces the official logit and, for the text pipelines, the official
 * sampler's CFG residuals. Bad checkpoints and configs fail naming the key or field. The released configs held by
 * the core equal the official YAMLs read by the YAML subset reader.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { loadDiscriminatorWeights, readDiscriminatorWeights } from '../../ts/checkpoint/discriminatorWeights';
import { native, tensor, type Conditioning, type Tensor } from '../../ts/native';
import { parseYaml } from '../../ts/util/yaml';
import { mmdisco, repo } from '../fixtures/cli';

const fixtures = path.join(repo, 'test', 'fixtures', 'official-mmdisco');

/** Float tensors by name; `in.timesteps` holds an Int32Array (read it through `timesteps`). */
type Fixture = Record<string, Tensor<Float32Array>>;

/** A fixture file's tensors; I64 timesteps become Int32Array (the official files hold them as I64 or I32). */
function readFixture(file: string): Fixture {
  const bytes = readFileSync(file);
  const headerSize = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerSize).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: Fixture = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry;
    const raw = bytes.subarray(8 + headerSize + begin, 8 + headerSize + end);
    const copy = new Uint8Array(raw).buffer;
    const data =
      dtype === 'F32' ? new Float32Array(copy) : dtype === 'F64' ? new Float64Array(copy) : dtype === 'I32' ? new Int32Array(copy) : Int32Array.from(new BigInt64Array(copy), Number);
    out[name] = tensor(data, shape) as Tensor<Float32Array>;
  }
  return out;
}

/** max |got − expected| / max |expected| */
function relativeError(got: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return worst / scale;
}

/** A copy of a stored (uncompressed) zip archive with one entry's bytes edited in place, CRC-32 updated. */
function patchZipEntry(archive: Buffer, entrySuffix: string, edit: (data: Buffer) => void): Buffer {
  const out = Buffer.from(archive);
  const central = out.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = out.readUInt32LE(central + 16);
  for (let i = 0; i < out.readUInt16LE(central + 10); i++) {
    const nameLength = out.readUInt16LE(at + 28);
    const name = out.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const local = out.readUInt32LE(at + 42);
    if (name.endsWith(entrySuffix)) {
      assert.equal(out.readUInt16LE(local + 8), 0, `${name} is stored uncompressed`);
      const start = local + 30 + out.readUInt16LE(local + 26) + out.readUInt16LE(local + 28);
      const data = out.subarray(start, start + out.readUInt32LE(at + 24));
      edit(data);
      const crc = zlib.crc32(data);
      out.writeUInt32LE(crc, local + 14);
      out.writeUInt32LE(crc, at + 16);
      return out;
    }
    at += 46 + nameLength + out.readUInt16LE(at + 30) + out.readUInt16LE(at + 32);
  }
  throw new Error(`no entry ending in ${entrySuffix}`);
}

const architectures = [
  { name: 'mmdiffusion_landscape', cfg: undefined },
  { name: 'audioldm_animediff_vggsound', cfg: { audio: 2.5, video: 7.5 } },
  { name: 'auffusion_videocrafter2_vggsound', cfg: { audio: 8, video: 8 } },
] as const;

describe('import official: the released MMDisCo discriminators', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-import-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const arch of architectures) {
    it(`${arch.name}: imports through the command line and reproduces the official outputs`, async () => {
      const stem = path.join(fixtures, `disc_${arch.name}`);
      const out = path.join(dir, arch.name);
      const run = mmdisco('import', 'official', '--ckpt', `${stem}.pt`, '--official-config', `${stem}.config.json`, '--out', out);
      assert.equal(run.status, 0, run.stderr);
      const record = JSON.parse(readFileSync(path.join(out, 'import.json'), 'utf8')) as { source: { sha256: string; file: string }; network: object };
      const { createHash } = await import('node:crypto');
      assert.equal(record.source.sha256, createHash('sha256').update(readFileSync(`${stem}.pt`)).digest('hex'));
      const weights = path.join(out, 'discriminator.safetensors');
      const { network } = readDiscriminatorWeights(weights);
      assert.deepEqual(network, record.network);

      const d = new native.Discriminator({ network: network!, audioSchedule: { kind: 'linear' }, videoSchedule: { kind: 'linear' }, dtype: 'float32', threads: 1 });
      await loadDiscriminatorWeights(weights, d);
      const fx = readFixture(`${stem}.fixture.safetensors`);
      const t = fx['in.timesteps'] as unknown as Tensor<Int32Array>;
      const condition: Conditioning | undefined = arch.cfg && { audio: fx['in.audio_text_emb'], video: fx['in.video_text_emb'] };
      const { logit } = await d.logit(fx['in.audio'], fx['in.video'], t, condition);
      const expected = fx[arch.cfg ? 'out.cond.logit_exp' : 'out.logit_exp'].data;
      const logitError = relativeError(logit.data, expected);
      assert.ok(logitError <= 1e-5, `smoothed logit: relative error ${logitError}`);
      if (!arch.cfg) return;
      // The official sampler's residual CFG: uncond + g·(cond − uncond) of score_factor·∇ℓ. This network's residuals
      // carry −σ_t of its own schedule instead of the score factor (an input of the fixture), hence the ratio.
      const nullCondition = { audio: fx['in.audio_text_emb_neg'], video: fx['in.video_text_emb_neg'] };
      const r = await d.residuals(fx['in.audio'], fx['in.video'], t, condition, { nullCondition, scales: arch.cfg });
      const alphaBar = native.scheduleAlphaBar({ kind: 'linear' }).data;
      for (const [modality, got] of [['audio', r.audio], ['video', r.video]] as const) {
        const factor = fx[`in.score_factor_${modality}`].data;
        const rows = got.data.length / 2;
        const rescaled = Array.from(got.data, (x, i) => {
          const b = Math.floor(i / rows);
          return (x * -factor[b]) / Math.sqrt(1 - alphaBar[t.data[b]]);
        });
        const error = relativeError(rescaled, fx[`out.res_${modality}`].data);
        assert.ok(error <= 1e-5, `CFG ${modality} residual: relative error ${error}`);
      }
    });
  }

  it('names a renamed key as missing and unexpected', () => {
    const bad = path.join(dir, 'renamed.pt');
    const original = readFileSync(path.join(fixtures, 'disc_mmdiffusion_landscape.pt'));
    writeFileSync(bad, patchZipEntry(original, '/data.pkl', (pkl) => {
      const at = pkl.indexOf('last_linear.weight');
      pkl.write('last_linear.weighz', at);
    }));
    const run = mmdisco('import', 'official', '--ckpt', bad, '--official-config', path.join(fixtures, 'disc_mmdiffusion_landscape.config.json'), '--out', path.join(dir, 'renamed'));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /missing keys 'last_linear\.weight'; unexpected keys 'last_linear\.weighz'/);
    assert.ok(!existsSync(path.join(dir, 'renamed', 'discriminator.safetensors')), 'nothing is written');
  });

  it('names the tensor holding a NaN', () => {
    const bad = path.join(dir, 'nan.pt');
    const original = readFileSync(path.join(fixtures, 'disc_mmdiffusion_landscape.pt'));
    // Storage 0 holds the first tensor, time_embed.projection.linear_1.weight.
    writeFileSync(bad, patchZipEntry(original, '/data/0', (data) => data.writeFloatLE(Number.NaN, 8)));
    const run = mmdisco('import', 'official', '--ckpt', bad, '--official-config', path.join(fixtures, 'disc_mmdiffusion_landscape.config.json'), '--out', path.join(dir, 'nan'));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /key 'time_embed\.projection\.linear_1\.weight' holds a NaN/);
  });

  it('names the key whose shape the config does not give', () => {
    const config = JSON.parse(readFileSync(path.join(fixtures, 'disc_mmdiffusion_landscape.config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    config['VAResidualBlocks.__init__'].video_cdim = 4;
    const file = path.join(dir, 'four-channels.json');
    writeFileSync(file, JSON.stringify(config));
    const run = mmdisco('import', 'official', '--ckpt', path.join(fixtures, 'disc_mmdiffusion_landscape.pt'), '--official-config', file, '--out', path.join(dir, 'shape'));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /key 'feature_extractor\.input_blocks\.0\.0\.video_conv\.video_conv_spatial\.weight' has shape \[32, 3, 3, 3\], the network expects \[32, 4, 3, 3\]/);
  });

  it('refuses a checkpoint of another configuration, naming the keys', () => {
    const ckpt = path.join(fixtures, 'disc_mmdiffusion_landscape.pt');
    // The released landscape network has two ResBlocks per level where this reduced one has one.
    const sizes = mmdisco('import', 'official', '--ckpt', ckpt, '--preset', 'mmdiffusion-landscape', '--out', path.join(dir, 'sizes'));
    assert.equal(sizes.status, 1);
    assert.match(sizes.stderr, /does not fit the network: missing keys 'feature_extractor\.input_blocks\.4\.0\.video_skip_connection\.video_conv\.weight'/);
    assert.match(sizes.stderr, /unexpected keys 'feature_extractor\.input_blocks\.5\.0\.audio_skip_connection\.audio_conv\.bias'/);
    const family = mmdisco('import', 'official', '--ckpt', ckpt, '--preset', 'audioldm-animatediff', '--out', path.join(dir, 'family'));
    assert.equal(family.status, 1);
    assert.match(family.stderr, /missing keys 'video_text_embed\.weight', 'video_text_embed\.bias'/);
    const unknown = mmdisco('import', 'official', '--ckpt', ckpt, '--preset', 'mmdiffusion', '--out', path.join(dir, 'unknown'));
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /names no released configuration: 'mmdiffusion' \(expected mmdiffusion-landscape, mmdiffusion-aist\+\+, audioldm-animatediff, auffusion-videocrafter2\)/);
  });

  it('names the official field that has no equivalent', () => {
    const config = JSON.parse(readFileSync(path.join(fixtures, 'disc_auffusion_videocrafter2_vggsound.config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    config['FusionModel.ModelConfig'].fusion_type = 'interp_time_and_cat_ch_and_apply_transformer';
    const file = path.join(dir, 'interp.json');
    writeFileSync(file, JSON.stringify(config));
    const run = mmdisco('import', 'official', '--ckpt', path.join(fixtures, 'disc_auffusion_videocrafter2_vggsound.pt'), '--official-config', file, '--out', path.join(dir, 'interp'));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /MultimodalDiscriminator\.__init__\.fusion_model_conf\.fusion_type: must be 'aggregate_time_and_cat_ch' or 'cat_time_and_apply_transformer'/);
  });

  it('holds the released configs as the official YAMLs state them', () => {
    for (const [preset, yaml] of [
      ['mmdiffusion-landscape', 'mmdiffusion_landscape'],
      ['mmdiffusion-aist++', 'mmdiffusion_aist++'],
      ['audioldm-animatediff', 'audioldm_animediff_vggsound'],
      ['auffusion-videocrafter2', 'auffusion_videocrafter2_vggsound'],
    ] as const) {
      const document = parseYaml(readFileSync(path.join(fixtures, 'conf', `${yaml}.yaml`), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(native.officialNetwork(document), native.officialNetwork(native.officialPreset(preset)), preset);
    }
    const released = native.officialNetwork(native.officialPreset('auffusion-videocrafter2'));
    assert.deepEqual(
      [released.videoLayout, released.audioLayout, released.fusion, released.fusionLayers, released.fusionWidth, released.videoTextDim, released.audioTextDim],
      ['bcfhw', 'bcml', 'B', 5, 256, 1024, 768],
    );
  });
});
