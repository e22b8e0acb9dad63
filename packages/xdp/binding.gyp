{
  "targets": [
    {
      "target_name": "xdp",
      "include_dirs": ["../../native", "native"],
      "sources": ["src/native/module.c", "src/native/bpf.c", "src/native/xsk.c", "src/native/afpacket.c", "src/native/netdev.c", "src/native/util.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
