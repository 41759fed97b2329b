/**
 * `toy run`: the method end to end on the Gaussian-mixture audio-video problem.
 */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { loadConfig } from '../config/load';
import { toyConfigSchema } from '../config/toy';
import { assertDeviceAvailable } from '../native';
import { runToy } from '../toy/run';
import { outputDirectory } from './paths';

interface ToyRunArgs {
  config: string;
  out: string;
  set: string[];
  device?: string;
}

export const toyRunCommand: CommandModule<object, ToyRunArgs> = {
  command: 'run',
  describe:
    'Train base models on each marginal of a Gaussian mixture, build a fake-pair bank, train the discriminator ' +
    '(with and without the denoising loss), sample with joint guidance, and compare with the closed-form optimum. ' +
    'Writes report.json, samples.png, losses.png, log.jsonl and weights/ under --out.',
  builder: (y: Argv) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'toy config file (configs/toy/*.json)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory', coerce: outputDirectory('--out') })
      .option('device', { type: 'string', describe: "where the models run: 'cpu' or 'cuda[:N]' (overrides the config's device)" })
      .option('set', {
        type: 'string',
        array: true,
        default: [],
        describe: 'override a config field, e.g. --set base.steps=500 --set base.kind=analytic',
      }) as Argv<ToyRunArgs>,
  handler: async (args) => {
    const overrides = args.device === undefined ? args.set : [...args.set, `device=${JSON.stringify(args.device)}`];
    const config = loadConfig(toyConfigSchema, args.config, overrides);
    assertDeviceAvailable(config.device, `${args.config}: device`);
    const report = await runToy(config, args.out);
    const f = (x: number): string => x.toFixed(3);
    console.log(
      [
        `coupling  independent ${f(report.coupling.independent)}  guided ${f(report.coupling.guided)}  ` +
          `oracle ${f(report.coupling.oracle)}  real ${f(report.coupling.real)}  (BCE-only guided ${f(report.no_denoising_loss.coupling)})`,
        `swd audio base ${f(report.swd.audio.base)} guided ${f(report.swd.audio.guided)}   video base ${f(report.swd.video.base)} guided ${f(report.swd.video.guided)}`,
        `swd joint independent ${f(report.swd.joint.independent)} guided ${f(report.swd.joint.guided)}`,
        `residual cosine ${f(report.residual_cosine)}  (BCE only ${f(report.no_denoising_loss.residualCosine)})`,
        `report: ${path.join(args.out, 'report.json')}`,
      ].join('\n'),
    );
  },
};
