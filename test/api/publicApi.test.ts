/**
 * The public API: package.json's `exports` and `types` name the built index, a user's script that imports 'mmdisco'
 * type-checks against the published declarations, and README shows that script as it is in examples/.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const repo = path.resolve(__dirname, '..', '..', '..');
const EXAMPLE = 'examples/toyPipeline.ts';

describe('public API', () => {
  it('package.json exports the built index and its declarations', () => {
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'));
    const root = pkg.exports['.'];
    assert.equal(pkg.types, 'dist/ts/index.d.ts');
    assert.equal(path.normalize(root.types), path.normalize(pkg.types));
    assert.equal(path.normalize(root.default), path.normalize(pkg.main));
    for (const file of [pkg.main, pkg.types]) assert.ok(existsSync(path.join(repo, file)), `${file} is built`);
  });

  it(`README shows ${EXAMPLE} as it is`, () => {
    const example = readFileSync(path.join(repo, EXAMPLE), 'utf8');
    const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(blocks.includes(example), `README.md has a \`\`\`ts block equal to ${EXAMPLE}: copy the file into it`);
  });

  it(`${EXAMPLE} type-checks against the published declarations (import 'mmdisco' resolved through exports)`, () => {
    const program = ts.createProgram([path.join(repo, EXAMPLE)], {
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    });
    const mmdisco = ts.resolveModuleName('mmdisco', path.join(repo, EXAMPLE), program.getCompilerOptions(), ts.sys).resolvedModule;
    assert.equal(mmdisco?.resolvedFileName, path.join(repo, 'dist', 'ts', 'index.d.ts'), 'mmdisco resolves to the published declarations');
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(diagnostics, []);
  });
});
