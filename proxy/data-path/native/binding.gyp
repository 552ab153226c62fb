{
  # Built only by build-addon.mjs (never by npm's implicit `node-gyp rebuild`: this file
  # is not at the package root, so a machine without a compiler still installs).
  "targets": [
    {
      "target_name": "ws_sidecar_native",
      "sources": [
        "src/addon.cc",
        "src/engine.cc",
        "src/engine-commands.cc",
        "src/frame-scanner.cc",
        "src/scanner-trace.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
