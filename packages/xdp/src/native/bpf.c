/*
 * bpf.c: the bpf(2) calls @tunvs/xdp needs, made directly (no libbpf): creating maps,
 * reading and writing their elements, loading a program from instructions assembled in
 * TypeScript (src/bpf/asm.ts), and attaching an XDP program to an interface through a BPF
 * link (BPF_LINK_CREATE), which the kernel detaches by itself when the last fd to it
 * closes, so a crashed process never leaves its program on the interface.
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned int size) { return syscall(__NR_bpf, cmd, attr, size); }

static void copy_name(char dst[BPF_OBJ_NAME_LEN], const char *src) {
  memset(dst, 0, BPF_OBJ_NAME_LEN);
  /* the kernel accepts [A-Za-z0-9_.] only */
  for (size_t i = 0, j = 0; src[i] && j < BPF_OBJ_NAME_LEN - 1; i++) {
    char c = src[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.') dst[j++] = c;
  }
}

/* mapCreate(type, keySize, valueSize, maxEntries, flags, name) -> fd */
TN_FN(MapCreate) {
  napi_value argv[6];
  if (tn_args(env, info, 6, argv)) return NULL;
  char name[64];
  if (tn_string(env, argv[5], name, sizeof name, "map name")) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = tn_u32(env, argv[0]);
  a.key_size = tn_u32(env, argv[1]);
  a.value_size = tn_u32(env, argv[2]);
  a.max_entries = tn_u32(env, argv[3]);
  a.map_flags = tn_u32(env, argv[4]);
  copy_name(a.map_name, name);
  int fd = (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof a);
  if (fd < 0) {
    tn_throw_errno(env, errno, "BPF_MAP_CREATE");
    return NULL;
  }
  return tn_int(env, fd);
}

/* mapUpdate(fd, key: Uint8Array, value: Uint8Array, flags) */
TN_FN(MapUpdate) {
  napi_value argv[4];
  if (tn_args(env, info, 4, argv)) return NULL;
  void *key, *val;
  size_t kl, vl;
  if (tn_typed(env, argv[1], napi_uint8_array, &key, &kl)) return NULL;
  if (tn_typed(env, argv[2], napi_uint8_array, &val, &vl)) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)tn_i32(env, argv[0]);
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)val;
  a.flags = tn_u32(env, argv[3]);
  if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof a) < 0) {
    tn_throw_errno(env, errno, "BPF_MAP_UPDATE_ELEM");
    return NULL;
  }
  return tn_undef(env);
}

/* mapDelete(fd, key) -> true when deleted, false when absent */
TN_FN(MapDelete) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  void *key;
  size_t kl;
  if (tn_typed(env, argv[1], napi_uint8_array, &key, &kl)) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)tn_i32(env, argv[0]);
  a.key = (uint64_t)(uintptr_t)key;
  if (sys_bpf(BPF_MAP_DELETE_ELEM, &a, sizeof a) < 0) {
    if (errno == ENOENT) return tn_boolv(env, false);
    tn_throw_errno(env, errno, "BPF_MAP_DELETE_ELEM");
    return NULL;
  }
  return tn_boolv(env, true);
}

/* mapLookup(fd, key, out: Uint8Array) -> true when found (value copied into out) */
TN_FN(MapLookup) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  void *key, *out;
  size_t kl, ol;
  if (tn_typed(env, argv[1], napi_uint8_array, &key, &kl)) return NULL;
  if (tn_typed(env, argv[2], napi_uint8_array, &out, &ol)) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)tn_i32(env, argv[0]);
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)out;
  if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof a) < 0) {
    if (errno == ENOENT) return tn_boolv(env, false);
    tn_throw_errno(env, errno, "BPF_MAP_LOOKUP_ELEM");
    return NULL;
  }
  return tn_boolv(env, true);
}

/*
 * progLoad(type, insns: Uint8Array, name, license) -> fd
 * On failure the thrown error carries `log`: the verifier's explanation (loaded again with
 * logging on, so a successful load pays nothing for it).
 */
TN_FN(ProgLoad) {
  napi_value argv[4];
  if (tn_args(env, info, 4, argv)) return NULL;
  void *insns;
  size_t len;
  if (tn_typed(env, argv[1], napi_uint8_array, &insns, &len)) return NULL;
  char name[64], license[32];
  if (tn_string(env, argv[2], name, sizeof name, "program name")) return NULL;
  if (tn_string(env, argv[3], license, sizeof license, "license")) return NULL;
  if (len == 0 || len % sizeof(struct bpf_insn) != 0) {
    tn_throw(env, "EINVAL", "the program must be a whole number of 8-byte instructions");
    return NULL;
  }
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = tn_u32(env, argv[0]);
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = (uint32_t)(len / sizeof(struct bpf_insn));
  a.license = (uint64_t)(uintptr_t)license;
  copy_name(a.prog_name, name);
  /* the verifier answers EAGAIN when a signal interrupts it: try again a few times, as libbpf does */
  int fd = -1;
  for (int attempt = 0; attempt < 5; attempt++) {
    fd = (int)sys_bpf(BPF_PROG_LOAD, &a, sizeof a);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  if (fd >= 0) return tn_int(env, fd);
  int err = errno;
  size_t cap = 1 << 20;
  char *log = calloc(1, cap);
  if (log) {
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = (uint32_t)cap;
    a.log_level = 1;
    int fd2 = (int)sys_bpf(BPF_PROG_LOAD, &a, sizeof a);
    if (fd2 >= 0) close(fd2); /* passed with logging on: keep the first error */
  }
  tn_throw_errno(env, err, "BPF_PROG_LOAD");
  if (log) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value e, s;
      napi_get_and_clear_last_exception(env, &e);
      /* keep the tail: the verifier says what failed at the end */
      size_t n = strlen(log);
      const char *tail = n > 8000 ? log + n - 8000 : log;
      napi_create_string_utf8(env, tail, NAPI_AUTO_LENGTH, &s);
      napi_set_named_property(env, e, "log", s);
      napi_throw(env, e);
    }
    free(log);
  }
  return NULL;
}

/*
 * xdpAttach(ifindex, progFd, flags) -> link fd
 * flags: XDP_FLAGS_SKB_MODE (generic, any device) or XDP_FLAGS_DRV_MODE (the driver's own
 * XDP hook). The program stays attached while the returned fd (or a copy) is open.
 */
TN_FN(XdpAttach) {
  napi_value argv[3];
  if (tn_args(env, info, 3, argv)) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.link_create.prog_fd = (uint32_t)tn_i32(env, argv[1]);
  a.link_create.target_ifindex = tn_u32(env, argv[0]);
  a.link_create.attach_type = BPF_XDP;
  a.link_create.flags = tn_u32(env, argv[2]);
  int fd = (int)sys_bpf(BPF_LINK_CREATE, &a, sizeof a);
  if (fd < 0) {
    tn_throw_errno(env, errno, "BPF_LINK_CREATE");
    return NULL;
  }
  return tn_int(env, fd);
}

/* xdpLinkUpdate(linkFd, newProgFd): swap the program of an attached link atomically. */
TN_FN(XdpLinkUpdate) {
  napi_value argv[2];
  if (tn_args(env, info, 2, argv)) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.link_update.link_fd = (uint32_t)tn_i32(env, argv[0]);
  a.link_update.new_prog_fd = (uint32_t)tn_i32(env, argv[1]);
  if (sys_bpf(BPF_LINK_UPDATE, &a, sizeof a) < 0) {
    tn_throw_errno(env, errno, "BPF_LINK_UPDATE");
    return NULL;
  }
  return tn_undef(env);
}

/* progId(fd) -> the kernel's id of a program (what `ip link` and bpftool show) */
TN_FN(ProgId) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  struct bpf_prog_info pi;
  memset(&pi, 0, sizeof pi);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.info.bpf_fd = (uint32_t)tn_i32(env, argv[0]);
  a.info.info_len = sizeof pi;
  a.info.info = (uint64_t)(uintptr_t)&pi;
  if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof a) < 0) {
    tn_throw_errno(env, errno, "BPF_OBJ_GET_INFO_BY_FD");
    return NULL;
  }
  return tn_int(env, pi.id);
}

/* closeFd(fd) */
TN_FN(CloseFd) {
  napi_value argv[1];
  if (tn_args(env, info, 1, argv)) return NULL;
  int fd = tn_i32(env, argv[0]);
  if (fd >= 0) close(fd);
  return tn_undef(env);
}

void xd_bpf_init(napi_env env, napi_value exports) {
  napi_property_descriptor p[] = {
      TN_PROP("mapCreate", MapCreate), TN_PROP("mapUpdate", MapUpdate),   TN_PROP("mapDelete", MapDelete),
      TN_PROP("mapLookup", MapLookup), TN_PROP("progLoad", ProgLoad),     TN_PROP("xdpAttach", XdpAttach),
      TN_PROP("xdpLinkUpdate", XdpLinkUpdate), TN_PROP("progId", ProgId), TN_PROP("closeFd", CloseFd),
  };
  napi_define_properties(env, exports, sizeof p / sizeof p[0], p);
}
