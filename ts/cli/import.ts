/**
 * `import official`: a released MMDisCo discriminator checkpoint as this project's guidance module
 * (ts/guidance/officialImport.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { native } from '../native';
import { importOfficial } from '../guidance/officialImport';

interface ImportOfficialArgs {
  ckpt: string;
  preset?: string;
  'official-config'?: string;
  out: string;
}

export const importOfficialCommand: CommandModule<object, ImportOfficialArgs> = {
  command: 'official',
  describe:
    'A released MMDisCo discriminator (torch.save state dict, read without Python) as a guidance module: writes ' +
    'discriminator.safetensors (what `sample --guidance OUT` reads) and import.json (source, SHA-256, config) to --out',
  builder: (y: Argv) =>
    y
      .option('ckpt', { type: 'string', demandOption: true, describe: 'the official checkpoint (.pt)' })
      .option('preset', {
        type: 'string',
        describe: `the released configuration it belongs to: ${native.officialPresets().join(', ')}`,
      })
      .option('official-config', {
        type: 'string',
        describe: 'or an official model config: a conf/model YAML of the release, or a JSON with the same content',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory' }) as unknown as Argv<ImportOfficialArgs>,
  handler: async (args) => {
    const { weights } = await importOfficial({ ckpt: args.ckpt, preset: args.preset, officialConfig: args['official-config'], out: args.out });
    process.stderr.write(`wrote ${weights} and import.json\n`);
  },
};
