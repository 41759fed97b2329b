import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDiscriminatorWeights, readDiscriminatorWeights, saveDiscriminatorWeights } from '../../ts/checkpoint/discriminatorWeights';
import { writeSafetensors } from '../../ts/checkpoint/safetensors';
import { native, tensor, type MmdiscoDiscriminatorNetwork } from '../../ts/native';

describe('discriminator weights (safetensors)', () => {
  const network: MmdiscoDiscriminatorNetwork = { kind: 'mmdisco', preset: 'mmdiffusion', width: 32, blocksPerLevel: 1, fusion: 'B' };
  const build = (seed: number) =>
    new native.Discriminator({ network, audioSchedule: { kind: 'linear' }, videoSchedule: { kind: 'linear' }, seed, threads: 1 });
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-weights-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips every parameter and records the network config', async () => {
    const a = build(1);
    const b = build(2);
    const file = path.join(dir, 'd.safetensors');
    await saveDiscriminatorWeights(file, a, network);
    assert.deepEqual(readDiscriminatorWeights(file).network, network);
    await loadDiscriminatorWeights(file, b);
    assert.deepEqual((await b.flatParameters()).values.data, (await a.flatParameters()).values.data);
  });

  it('strict: errors name the file and the tensor', async () => {
    const a = build(1);
    const { tensors } = readDiscriminatorWeights(path.join(dir, 'd.safetensors'));
    const { ['fusion_model.fm.cls_emb']: _cls, ...rest } = tensors;
    const missing = path.join(dir, 'missing.safetensors');
    await writeSafetensors(missing, rest);
    await assert.rejects(loadDiscriminatorWeights(missing, a), (e: Error) => e.message.includes(missing) && e.message.includes("'fusion_model.fm.cls_emb'"));
    const misshapen = path.join(dir, 'shape.safetensors');
    await writeSafetensors(misshapen, { ...tensors, 'last_linear.bias': tensor(new Float32Array(2), [2]) });
    await assert.rejects(loadDiscriminatorWeights(misshapen, a), (e: Error) => e.message.includes(misshapen) && e.message.includes("'last_linear.bias'"));
    const extra = path.join(dir, 'extra.safetensors');
    await writeSafetensors(extra, { ...tensors, 'fusion_model.fm.extra': tensor(new Float32Array(1), [1]) });
    await assert.rejects(loadDiscriminatorWeights(extra, a), /unexpected parameter 'fusion_model\.fm\.extra'/);
  });
});
