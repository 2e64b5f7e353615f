# The CUDA engine (native/cuda/, SWAPNAS_WITH_CUDA) is built by CMake only (CMakeLists.txt, SWAPNAS_CUDA): a node-gyp
# build has no CUDA entry points except cudaProbe, which reports "built without CUDA".
{
  "variables": {
    "swapnas_native_arch%": "true"
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["-std=c++17", "-O3", "-fno-fast-math", "-Werror=switch"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
    "defines": [
      "NAPI_VERSION=8",
      "NAPI_CPP_EXCEPTIONS",
      "NODE_ADDON_API_DISABLE_DEPRECATED",
      "SWAPNAS_VERSION_RAW=<!(node -p \"require('./package.json').version\")",
      "SWAPNAS_BUILD_SYSTEM_GYP"
    ],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-fast-math", "-Werror=switch"]
    },
    "conditions": [
      ["swapnas_native_arch=='true'", {
        "cflags_cc": ["-march=native"],
        "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-march=native"] }
      }]
    ]
  },
  "targets": [
    {
      "target_name": "swapnas_exact",
      "type": "static_library",
      "sources": ["native/prng.cpp", "native/linalg.cpp", "native/proxy_reduce.cpp", "native/f64_conv.cpp", "native/f64_hvp.cpp", "native/f64_pass.cpp"],
      "cflags_cc": ["-fPIC", "-ffp-contract=off", "-fno-math-errno"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off", "-fno-math-errno"] }
    },
    {
      "target_name": "swapnas",
      "dependencies": ["swapnas_exact"],
      "sources": [
        "native/addon.cpp",
        "native/backward.cpp",
        "native/backward_pass.cpp",
        "native/block_scale.cpp",
        "native/hvp_pass.cpp",
        "native/conv.cpp",
        "native/count_pool.cpp",
        "native/count_worker.cpp",
        "native/forward.cpp",
        "native/gemm.cpp",
        "native/grad_buffers.cpp",
        "native/grad_ops.cpp",
        "native/grad_worker.cpp",
        "native/ir.cpp",
        "native/nwot.cpp",
        "native/ops.cpp",
        "native/parked_threads.cpp",
        "native/patterns.cpp",
        "native/peak.cpp",
        "native/stats.cpp",
        "native/stderr_capture.cpp",
        "native/weight_store.cpp"
      ]
    }
  ]
}
