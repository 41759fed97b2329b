/**
 * A joint base model through `sample-joint`: the official MM-Diffusion U-Net fixture (TorchScript, specialised to
 * batch 2; test/fixtures/official-mmdisco) sampled with the official DPM-Solver++ settings, unguided and guided by
 * the released discriminator fixture imported with `import official`. joint.json mistakes fail before sampling,
 * naming the file and the field.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors } from '../../ts/checkpoint/safetensors';
import { JOINT_BASE_FILE } from '../../ts/config/jointBase';
import { sampleJoint } from '../../ts/guidance/jointSample';
import { mmdisco } from '../fixtures/cli';
import { FIXTURE_JOINT_BASE as JOINT, officialFixtures as fixtures } from '../fixtures/jointUnet';


describe('joint base models (sample-joint)', function () {
  this.timeout(600_000);
  let root = '';
  const jointDir = (name: string, fields: Record<string, unknown> = {}): string => {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, JOINT_BASE_FILE), JSON.stringify({ ...JOINT, ...fields }));
    return dir;
  };

  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-joint-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('samples the joint U-Net unguided and guided by an imported released discriminator', () => {
    const joint = jointDir('mmdiffusion');
    const guidance = path.join(root, 'guidance');
    const imported = mmdisco('import', 'official', '--ckpt', path.join(fixtures, 'disc_mmdiffusion_landscape.pt'), '--official-config', path.join(fixtures, 'disc_mmdiffusion_landscape.config.json'), '--out', guidance);
    assert.equal(imported.status, 0, imported.stderr);
    const common = ['--joint-base', joint, '--n', '2', '--steps', '6', '--seed', '803'];
    const unguided = mmdisco('sample-joint', ...common, '--out', path.join(root, 'unguided'));
    assert.equal(unguided.status, 0, unguided.stderr);
    const guided = mmdisco('sample-joint', ...common, '--guidance', guidance, '--lambda-audio', '1', '--lambda-video', '1', '--out', path.join(root, 'guided'));
    assert.equal(guided.status, 0, guided.stderr);

    const read = (dir: string) => readSafetensors(path.join(root, dir, 'samples.safetensors')).tensors;
    const [u, g] = [read('unguided'), read('guided')];
    assert.deepEqual(g.video.shape, [2, 8, 3, 8, 8]);
    assert.deepEqual(g.audio.shape, [2, 1, 1600]);
    // The guidance moves the samples a little (the official 6-step runs: at most 1.8e-3 on the video).
    const video = Array.from(g.video.data as Float32Array);
    assert.ok(video.every((v) => Number.isFinite(v)));
    const change = Math.max(...video.map((v, i) => Math.abs(v - (u.video.data as Float32Array)[i])));
    assert.ok(change > 1e-6 && change < 1e-2, `guided − unguided video: max |Δ| ${change}`);
    const provenance = JSON.parse(readFileSync(path.join(root, 'guided', 'sample.json'), 'utf8')) as { guidance: { lambdas: number[] }; sampler: string; thresholding: boolean };
    assert.deepEqual(provenance.guidance.lambdas, [1, 1]);
    assert.equal(provenance.sampler, 'dpm-solver++-3s');
    assert.equal(provenance.thresholding, true);
    for (const file of ['sample-000.mp4', 'sample-001.wav', 'contact.png']) assert.ok(existsSync(path.join(root, 'guided', file)), file);
  });

  it('a joint.json that does not fit its module, or flags that do not fit it, fail naming the field or flag', async () => {
    const opts = { n: 2, sampler: 'dpm-solver++-3s' as const, steps: 2, seed: 0 };
    const file = (dir: string) => path.join(dir, JOINT_BASE_FILE).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const wrongShape = jointDir('wrong-shape', { shapes: { audio: [1, 1600], video: [8, 3, 16, 16] } });
    await assert.rejects(sampleJoint({ ...opts, jointBase: wrongShape, out: path.join(root, 'x1') }), new RegExp(`^ConfigError: ${file(wrongShape)}: shapes: `));
    const twice = jointDir('twice', { arguments: ['audio', 'audio'] });
    await assert.rejects(sampleJoint({ ...opts, jointBase: twice, out: path.join(root, 'x2') }), new RegExp(`${file(twice)}: arguments: must name audio and video once each`));
    const missing = jointDir('missing', { module: 'nowhere.pt' });
    await assert.rejects(sampleJoint({ ...opts, jointBase: missing, out: path.join(root, 'x3') }), new RegExp(`${file(missing)}: module: cannot load TorchScript module`));
    await assert.rejects(sampleJoint({ ...opts, batch: 1, jointBase: jointDir('ok'), out: path.join(root, 'x4') }), /--batch 1: the module of .* is specialised to batch 2/);
    await assert.rejects(
      sampleJoint({ ...opts, jointBase: jointDir('ok'), guidance: path.join(root, 'nothing'), lambdaAudio: 1, lambdaVideo: 1, out: path.join(root, 'x5') }),
      /--guidance .*nothing: no discriminator weights/,
    );
  });
});
