/* module.c: the entry point of the @tunvs/xdp addon; each file registers its functions. */
#include "util.h"

void xd_bpf_init(napi_env env, napi_value exports);
void xd_netdev_init(napi_env env, napi_value exports);
void xd_xsk_init(napi_env env, napi_value exports);
void xd_pkt_init(napi_env env, napi_value exports);

#include <stdlib.h>

/* Per-thread instance data: the id that marks frames held by this thread's JS. */
typedef struct {
  uint16_t group;
} xd_instance_t;

static uint32_t g_next_group = 0;

static void instance_free(napi_env env, void *data, void *hint) { free(data); }

uint16_t xd_env_group(napi_env env) {
  xd_instance_t *inst = NULL;
  napi_get_instance_data(env, (void **)&inst);
  return inst ? inst->group : 1;
}

static napi_value Init(napi_env env, napi_value exports) {
  xd_instance_t *inst = malloc(sizeof *inst);
  if (inst) {
    uint32_t g = __atomic_add_fetch(&g_next_group, 1, __ATOMIC_RELAXED);
    inst->group = (uint16_t)(g % 65535 + 1);
    napi_set_instance_data(env, inst, instance_free, NULL);
  }
  xd_bpf_init(env, exports);
  xd_netdev_init(env, exports);
  xd_xsk_init(env, exports);
  xd_pkt_init(env, exports);
  xd_ring_model_init(env, exports);
  return exports;
}

NAPI_MODULE_INIT() { return Init(env, exports); }
