#!/usr/bin/env bash
# Packs what a GPU machine without Node or a package registry needs into .gpu/ (git-ignored): a compressed Node
# binary, the node_modules the build, the commands, the tests and the benchmarks use (one compressed tarball,
# MNIST included for spoken-mnist; the Sonic Pi package without its samples, whose bank comes from .cache), and
# the gloo headers. Run here, then carry `.gpu`, `dist` and `.cache/banks` to the GPU machine and run
# bench/gpu/run.sh (tests, benchmarks) or bench/gpu/results.sh (the results tables) there.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu/node_modules .gpu/node_modules.tar.xz .gpu/include && mkdir -p .gpu/include
[ .gpu/node.xz -nt "$(command -v node)" ] || xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
packages=$(node -e '
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const pkg = JSON.parse(require("fs").readFileSync(`node_modules/${name}/package.json`, "utf8"));
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) {
      if (require("fs").existsSync(`node_modules/${dep}`)) visit(dep);
    }
  };
  const root = require("./package.json");
  for (const name of [...Object.keys(root.dependencies), "cmake-js", "node-api-headers", "mocha"]) visit(name);
  console.log([...seen].join("\n"));')
# shellcheck disable=SC2086
tar -C node_modules -cf - --exclude='supersonic-scsynth-samples/samples' $packages .bin | xz -T2 -9e > .gpu/node_modules.tar.xz  # -9e: the working tree that travels is capped at 64 MiB
cp -r /usr/include/gloo .gpu/include/gloo
du -sh .gpu
