# The native addon built by node-gyp: the same sources, defines and flags as CMakeLists.txt (the build that
# `npm run build` uses; cmake-js and node-gyp both write build/Release, so build this one elsewhere with
# `node native/gyp_build.js <dir>`, and load it with MMDISCO_NATIVE=<dir>/build/Release/mmdisco_native.node).
# package.json keeps "gypfile": false, so that npm never runs it behind cmake-js.
#
# Nothing here names a source file: native/src/**/*.cpp (the core, no Node in it) and native/binding/*.cpp (the
# Node-API layer) are listed when the build is configured. native/torch_paths.js says where LibTorch is, for
# CMakeLists.txt too. Unlike CMake, gyp has no precompiled headers on Linux: every file parses torch/torch.h.
{
  'variables': {
    'torch_prefix': '<!(node native/torch_paths.js prefix)',
  },
  'targets': [
    {
      'target_name': 'mmdisco_native',
      'sources': [
        "<!@(node -p 'require(\"fs\").readdirSync(\"native/src\", { recursive: true }).filter((f) => f.endsWith(\".cpp\")).sort().map((f) => \"native/src/\" + f).join(\" \")')",
        "<!@(node -p 'require(\"fs\").readdirSync(\"native/binding\").filter((f) => f.endsWith(\".cpp\")).sort().map((f) => \"native/binding/\" + f).join(\" \")')",
      ],
      'include_dirs': [
        'native/src',
        "<!(node -p 'require(\"node-addon-api\").include_dir')",
        '<!@(node native/torch_paths.js include-dirs <(torch_prefix))',
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NAPI_CPP_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        '<!@(node native/torch_paths.js defines <(torch_prefix))',
      ],
      # Node's common.gypi compiles without RTTI and exceptions, in gnu++17: LibTorch and node-addon-api's C++
      # exceptions need both, and torch's headers decide the standard (with its libstdc++ ABI).
      'cflags_cc!': ['-fno-rtti', '-fno-exceptions', '-std=gnu++17'],
      # -fopenmp: the fused kernels run their loops on LibTorch's OpenMP threads (see CMakeLists.txt).
      'cflags_cc': ['-frtti', '-fexceptions', '-fopenmp', '<!@(node native/torch_paths.js cxxflags <(torch_prefix))'],
      # --no-as-needed keeps libtorch_cuda on a CUDA build, though no symbol of it is referenced directly (or CUDA
      # is never registered); the rpath finds LibTorch at run time.
      'ldflags': ['-Wl,--no-as-needed', '-Wl,-rpath,<(torch_prefix)/lib', '-fopenmp'],
      'libraries': ['-L<(torch_prefix)/lib', '<!@(node native/torch_paths.js libraries <(torch_prefix))'],
      'configurations': {
        'Release': {
          'defines': ['NDEBUG'],
        },
      },
    },
  ],
}
