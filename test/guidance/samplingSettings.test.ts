/**
 * Sampling settings files (`--settings`, configs/released/): the released setups validate and state the official
 * fixtures' scales; a file drives `sample-joint` on the official MM-Diffusion U-Net fixture guided by the imported
 * released discriminator, and sample.json records its values; a flag overrides the file; a bad field is named.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors } from '../../ts/checkpoint/safetensors';
import { JOINT_BASE_FILE } from '../../ts/config/jointBase';
import { loadConfig } from '../../ts/config/load';
import { readIndex } from '../../ts/data';
import { type SamplingSettings, SamplingSettingsSchema } from '../../ts/config/samplingSettings';
import { mmdisco, repo } from '../fixtures/cli';
import { FIXTURE_JOINT_BASE as JOINT, officialFixtures as fixtures } from '../fixtures/jointUnet';

const released = (name: string) => path.join(repo, 'configs', 'released', `${name}.json`);
const RELEASED = ['mmdiffusion-landscape', 'mmdiffusion-aist++', 'audioldm-animatediff', 'auffusion-videocrafter2'];

interface JointProvenance {
  settings: string | null;
  sampler: string;
  steps: number;
  thresholding: boolean;
  guidance: { lambdas: number[]; repeats: number } | null;
}

describe('sampling settings files (--settings)', function () {
  this.timeout(600_000);
  let root = '';
  let joint = '';
  let guidance = '';
  const provenance = (dir: string) => JSON.parse(readFileSync(path.join(root, dir, 'sample.json'), 'utf8')) as JointProvenance;
  const samples = (dir: string) => readSafetensors(path.join(root, dir, 'samples.safetensors')).tensors;
  const settingsFile = (name: string, fields: Record<string, unknown>): string => {
    const file = path.join(root, `${name}.json`);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(released('mmdiffusion-landscape'), 'utf8')), ...fields }));
    return file;
  };

  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-settings-'));
    joint = path.join(root, 'joint');
    mkdirSync(joint);
    writeFileSync(path.join(joint, JOINT_BASE_FILE), JSON.stringify(JOINT));
    guidance = path.join(root, 'guidance');
    const imported = mmdisco('import', 'official', '--ckpt', path.join(fixtures, 'disc_mmdiffusion_landscape.pt'), '--official-config', path.join(fixtures, 'disc_mmdiffusion_landscape.config.json'), '--out', guidance);
    assert.equal(imported.status, 0, imported.stderr);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('the released settings validate and state the scales of the official fixtures', () => {
    const settings = Object.fromEntries(RELEASED.map((name) => [name, loadConfig(SamplingSettingsSchema, released(name))])) as Record<string, SamplingSettings>;
    const official = (arch: string) =>
      (JSON.parse(readFileSync(path.join(fixtures, `disc_${arch}.config.json`), 'utf8')) as { guidance: Record<string, number> }).guidance;
    const landscape = official('mmdiffusion_landscape');
    for (const name of ['mmdiffusion-landscape', 'mmdiffusion-aist++']) {
      const s = settings[name];
      assert.deepEqual([s.lambdaAudio, s.lambdaVideo], [landscape.joint_scale_audio, landscape.joint_scale_video], name);
      assert.deepEqual([s.sampler, s.steps, s.thresholding, s.cfgScaleAudio], ['dpm-solver++-3s', 20, true, undefined], name);
    }
    for (const [name, arch] of [['audioldm-animatediff', 'audioldm_animediff_vggsound'], ['auffusion-videocrafter2', 'auffusion_videocrafter2_vggsound']]) {
      const s = settings[name];
      assert.deepEqual([s.cfgScaleAudio, s.cfgScaleVideo], [official(arch).cfg_guidance_scale_audio, official(arch).cfg_guidance_scale_video], name);
      assert.deepEqual([s.sampler, s.steps, s.lambdaAudio, s.lambdaVideo, s.thresholding, s.guidanceRepeats], ['ddpm', 50, 1, 8, false, 1], name);
    }
  });

  it('a settings file drives sample-joint and sample.json records its values', () => {
    const file = released('mmdiffusion-landscape');
    const settings = loadConfig(SamplingSettingsSchema, file);
    const run = mmdisco('sample-joint', '--joint-base', joint, '--guidance', guidance, '--settings', file, '--n', '2', '--seed', '5', '--out', path.join(root, 'released'));
    assert.equal(run.status, 0, run.stderr);
    const recorded = provenance('released');
    assert.equal(recorded.settings, file);
    assert.deepEqual(
      { sampler: recorded.sampler, steps: recorded.steps, thresholding: recorded.thresholding, lambdas: recorded.guidance?.lambdas, repeats: recorded.guidance?.repeats },
      { sampler: settings.sampler, steps: settings.steps, thresholding: settings.thresholding, lambdas: [settings.lambdaAudio, settings.lambdaVideo], repeats: settings.guidanceRepeats },
    );
  });

  it('flags override the file, and the run equals the same settings given as flags', () => {
    const common = ['--joint-base', joint, '--guidance', guidance, '--n', '2', '--seed', '7'];
    const overridden = mmdisco('sample-joint', ...common, '--settings', released('mmdiffusion-landscape'), '--steps', '3', '--lambda-video', '0.5', '--no-thresholding', '--out', path.join(root, 'overridden'));
    assert.equal(overridden.status, 0, overridden.stderr);
    const recorded = provenance('overridden');
    assert.deepEqual([recorded.sampler, recorded.steps, recorded.thresholding, recorded.guidance?.lambdas], ['dpm-solver++-3s', 3, false, [1, 0.5]]);
    const flags = mmdisco('sample-joint', ...common, '--sampler', 'dpm-solver++-3s', '--steps', '3', '--lambda-audio', '1', '--lambda-video', '0.5', '--no-thresholding', '--out', path.join(root, 'flags'));
    assert.equal(flags.status, 0, flags.stderr);
    assert.equal(provenance('flags').settings, null);
    const [a, b] = [samples('overridden'), samples('flags')];
    for (const name of ['audio', 'video']) assert.deepEqual(a[name].data, b[name].data, name);
  });

  it('a settings file drives sample, a flag overrides it, and the pair dataset records both', () => {
    const file = path.join(root, 'ddim.json');
    const cite = 'a test setup';
    writeFileSync(file, JSON.stringify({
      description: 'DDIM with repeated guided steps',
      sampler: 'ddim', steps: 2, lambdaAudio: 0.5, lambdaVideo: 2, thresholding: false, guidanceRepeats: 2,
      source: { repository: 'test', commit: '0'.repeat(40), fields: Object.fromEntries(['sampler', 'steps', 'lambdaAudio', 'lambdaVideo', 'thresholding', 'guidanceRepeats'].map((k) => [k, cite])) },
    }));
    const base = (name: string) => path.join(repo, 'models', 'base', name);
    const run = mmdisco('sample', '--audio-base', base('spoken-mnist-audio'), '--video-base', base('spoken-mnist-video'), '--guidance', path.join(repo, 'models', 'guidance', 'spoken-mnist'),
      '--settings', file, '--steps', '3', '-n', '2', '--batch', '2', '--out', path.join(root, 'sampled'));
    assert.equal(run.status, 0, run.stderr);
    const provenance = readIndex(path.join(root, 'sampled', 'pairs')).dataset.provenance as { sampler: string; steps: number; generator: { settings: string; lambdas: number[]; guidanceRepeats: number } };
    assert.deepEqual(
      [provenance.sampler, provenance.steps, provenance.generator.lambdas, provenance.generator.guidanceRepeats, provenance.generator.settings],
      ['ddim', 3, [0.5, 2], 2, file],
    );
  });

  it('a bad settings field, or settings for another command, fail naming the file and the field', () => {
    const fail = (args: string[], pattern: RegExp) => {
      const run = mmdisco(...args);
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, pattern);
    };
    const joint2 = (file: string) => ['sample-joint', '--joint-base', joint, '--settings', file, '--n', '2', '--out', path.join(root, 'never')];
    const escaped = (file: string) => file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const badSampler = settingsFile('bad-sampler', { sampler: 'euler' });
    fail(joint2(badSampler), new RegExp(`${escaped(badSampler)}: sampler: Invalid enum value`));
    const badSteps = settingsFile('bad-steps', { steps: 0 });
    fail(joint2(badSteps), new RegExp(`${escaped(badSteps)}: steps: Number must be greater than 0`));
    const uncited = settingsFile('uncited', { cfgScaleAudio: 2, cfgScaleVideo: 2 });
    fail(joint2(uncited), new RegExp(`${escaped(uncited)}: source\\.fields\\.cfgScaleAudio: must cite where cfgScaleAudio comes from`));
    const unknown = settingsFile('unknown', { guidanceScale: 3 });
    fail(joint2(unknown), new RegExp(`${escaped(unknown)}: \\(root\\): Unrecognized key\\(s\\) in object: 'guidanceScale'`));
    const text = released('audioldm-animatediff');
    fail(joint2(text), new RegExp(`${escaped(text)}: cfgScaleAudio: sample-joint guides with unconditioned discriminators`));
    const mmdiff = released('mmdiffusion-landscape');
    fail(
      ['sample', '--audio-base', root, '--video-base', root, '--guidance', guidance, '--settings', mmdiff, '--n', '2', '--out', path.join(root, 'never')],
      new RegExp(`${escaped(mmdiff)}: thresholding: sample does not threshold`),
    );
  });
});
