"""The cffi declarations of the native traffic manager (``tm_native.c``)."""

from __future__ import annotations

TMQ_OUT_MAX = 4096  # output frames per C call (the engine's MAX_BATCH)

#: The types Python and C share: written into the generated C and declared to cffi.
TM_TYPES = """
typedef struct tmq tmq_t;
typedef struct {
    int32_t status, n_out, qid, index, port, pad;
    int64_t token;
    double next;
} tm_res_t;
"""

TM_CDEF = (
    TM_TYPES
    + """
tmq_t *tmq_new(int nq, int64_t depth);
void tmq_free(tmq_t *t);
void tmq_reset(tmq_t *t);
void tmq_defaults(tmq_t *t, int nq, int64_t depth, const uint8_t *known);
void tmq_set_acct(tmq_t *t, int mode);
void tmq_set_rule(tmq_t *t, const uint8_t *magic, int type_off, int type_val, int units_off,
                  int len_off, int hdr_len);
void tmq_set_bypass(tmq_t *t, int on);
const uint8_t *tmq_pend(tmq_t *t, int32_t *len);
uint64_t *tmq_stats(tmq_t *t);
int64_t tmq_acct_size(tmq_t *t, const uint8_t *f, int n);
int tmq_port(tmq_t *t, int port, int32_t *ints, int64_t *depth, double *dbl, int write);
int64_t tmq_depth(tmq_t *t, int port, int q);
int tmq_take(tmq_t *t, int32_t *ports, uint64_t *drops, uint64_t *overruns, int cap);
int tmq_enq(tmq_t *t, const state_t *st, const uint8_t *data, int len, int port, int prio,
            double now, int in_egress, int64_t *token);
double tmq_charge(tmq_t *t, int port, int64_t size, double now);
int tm_service(ctx_t *c, tmq_t *t, int port, int64_t token, int cont, double now, uint8_t *out,
               int out_cap, int32_t *o_off, int32_t *o_len, double *o_at, int64_t *o_size,
               tm_res_t *res);
int run_batch_q(ctx_t *c, tmq_t *t, int n, const uint8_t *buf, const int32_t *offs,
                const int32_t *lens, const int32_t *ports, const int64_t *ilens, double now,
                int in_egress, uint8_t *out, int out_cap, int32_t *o_off, int32_t *o_len,
                int32_t *o_port, int64_t *o_size, tm_res_t *res);
"""
)
