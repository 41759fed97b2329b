# The native addon built by node-gyp: the same sources, defines and flags as CMakeLists.txt (the build that
# `npm run build` uses; cmake-js and node-gyp both write build/Release, so build this one elsewhere with
# `node native/gyp_build.js <dir>`, and load it with MMDISCO_NATIVE=<dir>/build/Release/mmdisco_native.node).
# package.json keeps "gypfile": false, so that npm never runs it behind cmake-js.
#
# Nothing here names a source file: native/src/**/*.cpp (the core, no Node in it) and native/binding/*.cpp (the
# Node-API layer) are listed when the build is configured. native/torch_paths.js says where LibTorch is, for
# CMakeLists.txt too. gyp's precompiled headers are Mac-only, so an action precompiles torch/torch.h, as CMake
# does, with the target's own flags (make's DEFS_/INCS_/CFLAGS_ variables of the target), and every source
# includes it first (-include), where gcc takes the .gch found on the include path.
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
      'actions': [
        {
          'action_name': 'torch_pch',
          'inputs': ['<(torch_prefix)/include/torch/csrc/api/include/torch/torch.h'],
          # The header beside its .gch: the sources' own #include <torch/torch.h> then finds it there too.
          'outputs': ['<(SHARED_INTERMEDIATE_DIR)/pch/torch/torch.h', '<(SHARED_INTERMEDIATE_DIR)/pch/torch/torch.h.gch'],
          'action': ['sh', '-c', 'cp <@(_inputs) <(SHARED_INTERMEDIATE_DIR)/pch/torch/torch.h && $(CXX.target) $(DEFS_$(BUILDTYPE)) $(INCS_$(BUILDTYPE)) $(CFLAGS_$(BUILDTYPE)) $(filter-out -include torch/torch.h,$(CFLAGS_CC_$(BUILDTYPE))) -x c++-header <(SHARED_INTERMEDIATE_DIR)/pch/torch/torch.h -o <(SHARED_INTERMEDIATE_DIR)/pch/torch/torch.h.gch'],
        },
      ],
      'include_dirs': [
        '<(SHARED_INTERMEDIATE_DIR)/pch',
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
      'cflags_cc': ['-frtti', '-fexceptions', '-fopenmp', '<!@(node native/torch_paths.js cxxflags <(torch_prefix))',
                    '-include', 'torch/torch.h', '-Winvalid-pch'],
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
