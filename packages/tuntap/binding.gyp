{
  "targets": [
    {
      "target_name": "tuntap",
      "sources": ["src/tuntap.c"],
      "include_dirs": ["../../native", "native"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
