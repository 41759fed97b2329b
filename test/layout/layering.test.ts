/**
 * The import rules of README's Layout section, checked on the sources: ts/ is built in floors and a file imports only
 * from its own floor or the ones below; datasets/ imports the floors it builds on and, of ts/, only the command layer
 * imports datasets/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const repo = path.resolve(__dirname, '..', '..', '..');

/** The floors of ts/, lowest first: a path prefix (a folder or one file) per entry, without the .ts. */
export const FLOORS: readonly (readonly string[])[] = [
  ['ts/core'],
  ['ts/native'],
  ['ts/util'],
  ['ts/media', 'ts/data', 'ts/config'],
  ['ts/distributed'],
  ['ts/checkpoint'],
  ['ts/base'],
  ['ts/eval'],
  ['ts/report'],
  ['ts/guidance'],
  ['ts/pipeline'],
  ['ts/toy'],
  ['ts/cli', 'ts/index'],
];

/** What datasets/ may import of ts/: the floors its builders stand on. */
const DATASETS_MAY_IMPORT = ['ts/core', 'ts/util', 'ts/media', 'ts/data'];
/** The only part of ts/ that imports datasets/: the commands, which wire the builders in. */
const IMPORTS_DATASETS = ['ts/cli'];

const under = (file: string, prefix: string): boolean => file === prefix || file.startsWith(prefix + '/');

function floorOf(file: string): number {
  const floor = FLOORS.findIndex((prefixes) => prefixes.some((p) => under(file, p)));
  if (floor < 0) throw new Error(`${file}.ts is on no floor: add its folder to FLOORS (test/layout/layering.test.ts) and README's Layout`);
  return floor;
}

function sources(dir: string): string[] {
  return readdirSync(path.join(repo, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(repo, rel)).isDirectory()) return sources(rel);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Every relative import of a file (static, re-export, dynamic or require), as a repository path without .ts. */
export function importsOf(file: string): string[] {
  return importSpecs(readFileSync(path.join(repo, file), 'utf8')).map((spec) => {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    return target.endsWith('.ts') ? target.slice(0, -3) : target;
  });
}

/** The relative module specifiers a source text imports. */
function importSpecs(text: string): string[] {
  return [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;'"]*?from\s*'(\.[^']*)'/g),
    ...text.matchAll(/(?:^|\n)\s*import\s*'(\.[^']*)'/g),
    ...text.matchAll(/\b(?:import|require)\(\s*'(\.[^']*)'\s*\)/g),
  ].map((m) => m[1]);
}

function violations(): string[] {
  const found: string[] = [];
  for (const file of [...sources('ts'), ...sources('datasets')]) {
    const from = file.slice(0, -3);
    for (const to of importsOf(file)) {
      const toDatasets = under(to, 'datasets');
      if (under(from, 'datasets')) {
        if (to.startsWith('ts/') && !DATASETS_MAY_IMPORT.some((p) => under(to, p))) {
          found.push(`${from} → ${to}: datasets/ imports only ${DATASETS_MAY_IMPORT.join(', ')} of ts/`);
        }
      } else if (toDatasets) {
        if (!IMPORTS_DATASETS.some((p) => under(from, p))) found.push(`${from} → ${to}: only ${IMPORTS_DATASETS.join(', ')} imports datasets/`);
      } else if (to.startsWith('ts/') || to === 'ts') {
        if (floorOf(to) > floorOf(from)) found.push(`${from} → ${to}: imports a floor above its own`);
      } else {
        found.push(`${from} → ${to}: imports outside ts/ and datasets/`);
      }
    }
  }
  return found;
}

describe('layering', () => {
  it('the import parser sees static, re-exported, dynamic and multi-line imports', () => {
    const text = [
      "import path from 'node:path';",
      "import { a } from './a';",
      "import {\n  b,\n  c,\n} from '../b';",
      "import type { D } from './d';",
      "export { e } from './e';",
      "export * from './f';",
      "import './g';",
      "const h = await import('./h');",
      "const i = require('./i');",
    ].join('\n');
    assert.deepEqual(importSpecs(text).sort(), ['../b', './a', './d', './e', './f', './g', './h', './i']);
    assert.ok(importsOf('ts/cli/eval.ts').includes('ts/guidance/discriminatorProbe'), 'a dynamic import of ts/cli/eval.ts is seen');
  });

  it('ts/core imports nothing of the project but itself', () => {
    const outside = sources('ts/core').flatMap((file) => importsOf(file).filter((to) => !under(to, 'ts/core')).map((to) => `${file} → ${to}`));
    assert.deepEqual(outside, []);
  });

  it('no import runs to a floor above, datasets/ and ts/ import each other in one direction', () => {
    assert.deepEqual(violations(), []);
  });
});
