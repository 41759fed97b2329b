#!/usr/bin/env node
/*
 * Where LibTorch is, for both native build files (CMakeLists.txt and binding.gyp): the one place that decides it.
 *
 *   $LIBTORCH (an unzipped libtorch), else the torch package of the first Python that imports it, trying
 *   $MMDISCO_PYTHON, ./.venv/bin/python3 (what ./setup.sh installs) and python3.
 *
 * Usage: node native/torch_paths.js <what> [libtorch root], printing one line:
 *   cmake-dir      torch's CMake prefix (holds Torch/TorchConfig.cmake)
 *   prefix         the LibTorch root (include/, lib/, share/)
 *   include-dirs   torch's include directories, then gloo's and NCCL's where found
 *   defines        USE_C10D_GLOO when gloo's headers are found, USE_C10D_NCCL on a CUDA build with nccl.h
 *   libraries      -l flags of torch's core libraries (CUDA ones too on a CUDA build)
 *   cxxflags       -std=c++17|c++20 (torch 2.14's headers need C++20) and torch's -D_GLIBCXX_USE_CXX11_ABI
 * Failures go to stderr with exit status 1.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SYSTEM_INCLUDE_DIRS = ['/usr/include', '/usr/local/include'];

function fail(message) {
  process.stderr.write(`torch_paths: ${message}\n`);
  process.exit(1);
}

/** {cmakeDir, prefix}: where the search finds LibTorch. */
function locate() {
  const libtorch = process.env.LIBTORCH;
  if (libtorch) {
    const cmakeDir = path.join(libtorch, 'share', 'cmake');
    if (!fs.existsSync(path.join(cmakeDir, 'Torch', 'TorchConfig.cmake'))) {
      fail(`LIBTORCH=${libtorch} holds no share/cmake/Torch/TorchConfig.cmake`);
    }
    return { cmakeDir: path.resolve(cmakeDir), prefix: path.resolve(libtorch) };
  }
  const pythons = [process.env.MMDISCO_PYTHON, path.join(ROOT, '.venv', 'bin', 'python3'), 'python3'].filter(Boolean);
  for (const python of pythons) {
    let cmakeDir;
    try {
      cmakeDir = execFileSync(python, ['-c', 'import torch; print(torch.utils.cmake_prefix_path)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      continue;
    }
    if (fs.existsSync(path.join(cmakeDir, 'Torch', 'TorchConfig.cmake'))) {
      return { cmakeDir, prefix: path.resolve(cmakeDir, '..', '..') };
    }
  }
  fail(
    'LibTorch not found: set LIBTORCH to an unzipped libtorch, or make `import torch` work in ./.venv/bin/python3, ' +
      '$MMDISCO_PYTHON or python3 (./setup.sh installs torch==2.13.0+cpu into ./.venv).',
  );
}

function includeDirs(prefix) {
  return [path.join(prefix, 'include'), path.join(prefix, 'include', 'torch', 'csrc', 'api', 'include')];
}

function isCudaBuild(prefix) {
  return fs.existsSync(path.join(prefix, 'lib', 'libtorch_cuda.so'));
}

/** The first of `dirs` that holds `file`, or null (as CMake's find_path with HINTS, then the system paths). */
function findDir(file, dirs) {
  return dirs.filter(Boolean).find((dir) => fs.existsSync(path.join(dir, file))) ?? null;
}

function glooInclude() {
  return findDir(path.join('gloo', 'config.h'), [process.env.GLOO_INCLUDE_DIR, '/usr/local/include', '/usr/include']);
}

function ncclInclude(prefix) {
  if (!isCudaBuild(prefix)) return null;
  const wheel = path.join(prefix, '..', 'nvidia', 'nccl', 'include');
  return findDir('nccl.h', [process.env.NCCL_INCLUDE_DIR, wheel, '/usr/local/cuda/include']);
}

/** C++20 when torch's headers demand it (torch/all.h tests for 202002L from 2.14 on), else C++17. */
function cxxStandard(prefix) {
  for (const dir of includeDirs(prefix)) {
    const allH = path.join(dir, 'torch', 'all.h');
    if (fs.existsSync(allH) && fs.readFileSync(allH, 'utf8').includes('202002L')) return 'c++20';
  }
  return 'c++17';
}

/**
 * torch's libstdc++ ABI, read from its libc10: the new ABI mangles std::string as [abi:cxx11] ("B5cxx11"), which
 * the old one never does. Official builds since 2.7 use the new one.
 */
function cxx11Abi(prefix) {
  const c10 = path.join(prefix, 'lib', 'libc10.so');
  if (!fs.existsSync(c10)) return '1';
  return fs.readFileSync(c10).includes('B5cxx11') ? '1' : '0';
}

const what = process.argv[2];
const lines = {
  'cmake-dir': () => [torch.cmakeDir],
  prefix: () => [torch.prefix],
  // The compiler searches /usr/include and /usr/local/include already; naming them with -I would reorder them.
  'include-dirs': () =>
    [...includeDirs(torch.prefix), glooInclude(), ncclInclude(torch.prefix)].filter((d) => d && !SYSTEM_INCLUDE_DIRS.includes(d)),
  defines: () => [glooInclude() && 'USE_C10D_GLOO', ncclInclude(torch.prefix) && 'USE_C10D_NCCL'].filter(Boolean),
  libraries: () => ['c10', 'torch', 'torch_cpu', ...(isCudaBuild(torch.prefix) ? ['torch_cuda', 'c10_cuda'] : [])].map((l) => `-l${l}`),
  cxxflags: () => [`-std=${cxxStandard(torch.prefix)}`, `-D_GLIBCXX_USE_CXX11_ABI=${cxx11Abi(torch.prefix)}`],
};
if (!Object.hasOwn(lines, what ?? '')) fail(`unknown query '${what ?? ''}' (one of: ${Object.keys(lines).join(', ')})`);
// An optional second argument is a LibTorch root already located (binding.gyp asks for it once: Python's
// `import torch` takes seconds), so the other queries need not search again.
const torch = process.argv[3] ? { prefix: path.resolve(process.argv[3]), cmakeDir: path.resolve(process.argv[3], 'share', 'cmake') } : locate();
process.stdout.write(`${lines[what]().join(' ')}\n`);
