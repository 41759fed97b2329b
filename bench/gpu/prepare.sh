#!/usr/bin/env bash
# Packs what a GPU machine without Node or a package registry needs into .gpu/ (git-ignored): a compressed Node
# binary, the node_modules the build, tests and benchmarks use, and the gloo headers. Run here, then carry
# `.gpu` and `dist` to the GPU machine and run bench/gpu/run.sh there.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu/node_modules .gpu/include && mkdir -p .gpu/node_modules .gpu/include
[ .gpu/node.xz -nt "$(command -v node)" ] || xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
# Runtime packages of the code under test and the build tools, with their dependencies (no data packages).
packages=$(node -e '
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const pkg = JSON.parse(require("fs").readFileSync(`node_modules/${name}/package.json`, "utf8"));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep);
  };
  for (const name of ["cmake-js", "node-addon-api", "node-api-headers", "mocha", "yargs", "zod",
                      "cli-progress"]) visit(name);
  console.log([...seen].join("\n"));')
for p in $packages; do
  mkdir -p ".gpu/node_modules/$(dirname "$p")"
  cp -rL "node_modules/$p" ".gpu/node_modules/$p"
done
cp -r node_modules/.bin .gpu/node_modules/.bin 2>/dev/null || true
cp -r /usr/include/gloo .gpu/include/gloo
du -sh .gpu
