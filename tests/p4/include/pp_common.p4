// Included by preprocessor.p4 with #include "include/pp_common.p4".
#ifndef PP_COMMON_P4
#define PP_COMMON_P4
#define OUT_PORT 2
#define SET_BYTE(field, value) field = (value)
header h_t { bit<8> a; bit<8> b; bit<8> c; bit<8> d; }
#endif
