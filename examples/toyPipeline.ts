/**
 * Train and sample from a script, through the package's API: the toy problem's stages on pairs in memory, with MLP
 * base models, a discriminator and guided sampling. After `npm run build`: node dist/examples/toyPipeline.js
 */
import path from 'node:path';
import {
  drawPairs, type EpsModel, evaluate, loadConfig, type Modality, MODALITIES, mixtureSource, native, Rng, sampleGuided,
  seedStreams, tensorSource, toyConfigSchema, toyMixture, trainBase, trainDiscriminator,
} from 'mmdisco';

async function main(): Promise<void> {
  const config = loadConfig(toyConfigSchema, path.resolve(__dirname, '../../configs/toy/gmm.json'), [
    'base.steps=500', 'discriminator.steps=500', 'fakes.pairs=4000', 'sampling.pairs=1000',
  ]);
  const mixture = toyMixture(config.mixture);
  const real = mixtureSource(mixture); // fresh pairs of the mixture; shardSource(dir) reads Arrow shards instead
  const seeds = seedStreams(config.seed);
  const { base, discriminator: d, sampling } = config;

  const bases = {} as Record<Modality, EpsModel>;
  for (const [i, m] of MODALITIES.entries()) {
    const network = { kind: 'mlp', dim: real.dims[m], ...base.network } as const;
    bases[m] = new native.EpsModel({ seed: seeds.of('baseInit', i), network, schedule: config.schedules[m], optimizer: base.optimizer });
  }
  await trainBase({ data: real, models: bases, steps: base.steps, batch: base.batch, chunkSteps: 100, seeds });

  const fakes = await drawPairs({ bases, dims: real.dims, n: config.fakes.pairs, sampler: config.fakes.sampler, seed: seeds.of('fakeBank'), label: 'fakes' });
  const disc = new native.Discriminator({
    seed: seeds.of('discriminatorInit'),
    network: { kind: 'toy-mlp', audioDim: real.dims.audio, videoDim: real.dims.video, ...d.network },
    audioSchedule: config.schedules.audio,
    videoSchedule: config.schedules.video,
  });
  const runs = [{ name: 'D', disc, lambdaDenoising: d.lambdaDenoising }];
  await trainDiscriminator({ real, fake: tensorSource(fakes), bases, runs, steps: d.steps, batch: d.batch, chunkSteps: 100, optimizer: d.optimizer, seeds });

  const draw = { bases, dims: real.dims, n: sampling.pairs, sampler: sampling.sampler, seed: seeds.of('sampling') };
  const independent = await drawPairs({ ...draw, label: 'independent' });
  const guided = await sampleGuided({ ...draw, label: 'guided', critic: disc, lambdas: [sampling.lambdaAudio, sampling.lambdaVideo] });
  const truth = real.draw(sampling.pairs, new Rng(seeds.of('realEvaluation')));
  for (const [name, pairs] of Object.entries({ independent, guided })) {
    const { coupling, swd } = evaluate({ pairs, mixture, real: truth, swdProjections: 64, swdSeed: seeds.run });
    console.log(`${name}: coupling ${coupling.toFixed(3)}, joint sliced Wasserstein ${swd.joint.toFixed(3)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
