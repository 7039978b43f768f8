/* Thread-local error codes, aws-c-common style: return -1, raise a code. */
#include "internal.h"

static TH_TLS int s_last_error;

int th_raise_error(int error)
{
    s_last_error = error;
    return -1;
}

int th_last_error(void)
{
    return s_last_error;
}

const char *th_error_name(int error)
{
    switch (error) {
    case TH_ERROR_SUCCESS: return "TH_ERROR_SUCCESS";
    case TH_ERROR_INVALID_ARGUMENT: return "TH_ERROR_INVALID_ARGUMENT";
    case TH_ERROR_SYS: return "TH_ERROR_SYS";
    case TH_ERROR_RING_BAD: return "TH_ERROR_RING_BAD";
    case TH_ERROR_RING_EMPTY: return "TH_ERROR_RING_EMPTY";
    case TH_ERROR_RING_FULL: return "TH_ERROR_RING_FULL";
    case TH_ERROR_POLICY_BAD: return "TH_ERROR_POLICY_BAD";
    default: return "TH_ERROR_UNKNOWN";
    }
}
