/* capi.c - the table behind the capsule rcmlrs._tensor._C_API (see rcmlrs_capi.h). */
#include "rcmlrs.h"

/* Each function's address as a generic function pointer; the importer casts it back to
 * the type rcmlrs.h declares (the round trip C guarantees). */
#define RCML_CAPI_SLOT(name) (rcml_capi_fn)name,
static const rcml_capi_fn rcml_capi_fns[] = {RCML_CAPI_FUNCS(RCML_CAPI_SLOT)};
#undef RCML_CAPI_SLOT

static const rcml_capi_t rcml_capi = {
    RCML_CAPI_VERSION,
    RCMLRS_ABI_VERSION,
    sizeof(rcml_capi_fns) / sizeof(rcml_capi_fns[0]),
    rcml_capi_fns,
};

const rcml_capi_t *rcml_capi_table(void) { return &rcml_capi; }
