/**
 * Bad toy configs fail before any work, with a message naming the field.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../ts/config/load';
import { toyConfigSchema } from '../../ts/config/toy';
import { mmdisco, repo } from '../fixtures/cli';

const defaultConfig = path.join(repo, 'configs', 'toy', 'gmm.json');

function withEdit(edit: (c: any) => void): string {
  const config = JSON.parse(readFileSync(defaultConfig, 'utf8'));
  edit(config);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mmdisco-config-')), 'bad.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

function expectConfigError(file: string, overrides: string[], pattern: RegExp): void {
  assert.throws(() => loadConfig(toyConfigSchema, file, overrides), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('toy config validation', () => {
  it('accepts the shipped configs', () => {
    for (const name of ['gmm.json', 'ci.json']) loadConfig(toyConfigSchema, path.join(repo, 'configs', 'toy', name));
  });

  it('rejects an unknown key, naming it', () => {
    expectConfigError(withEdit((c) => (c.base.stepz = 10)), [], /bad\.json: base: Unrecognized key.*stepz/);
  });

  it('rejects a wrong type, naming the field', () => {
    expectConfigError(withEdit((c) => (c.discriminator.batch = 'many')), [], /discriminator\.batch: Expected number, received string/);
  });

  it('rejects negative and zero sizes, naming the field', () => {
    expectConfigError(defaultConfig, ['mixture.components=-4'], /mixture\.components/);
    expectConfigError(defaultConfig, ['sampling.pairs=0'], /sampling\.pairs/);
    expectConfigError(defaultConfig, ['discriminator.network.hidden=-1'], /discriminator\.network\.hidden/);
  });

  it('rejects inconsistent settings, naming the field', () => {
    expectConfigError(defaultConfig, ['mixture.videoStride=2'], /mixture\.videoStride: must be coprime/);
    expectConfigError(defaultConfig, ['evaluation.residualTimesteps=[10,1000]'], /evaluation\.residualTimesteps\.1: must be < 1000/);
    expectConfigError(defaultConfig, ['base.nothing.deeper=1'], /'nothing' is not a section/);
  });

  it('the CLI exits with the error before creating any output', () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'mmdisco-toy-')), 'run');
    const result = mmdisco('toy', 'run', '--config', defaultConfig, '--out', out, '--set', 'base.steps=-3');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /gmm\.json: base\.steps: Number must be greater than 0/);
    assert.equal(existsSync(out), false, 'no output directory is created for a bad config');
  });
});
