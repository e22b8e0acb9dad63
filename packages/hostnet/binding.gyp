{
  "targets": [
    {
      "target_name": "hostnet",
      "sources": ["src/hostnet.c"],
      "include_dirs": ["../../native", "native"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
