"""C generation for the native engine's context (tables, registers, counters, meters and their
control accessors) and entry points (``ig_run``, ``eg_run``, ``dep_run``, ``clone_parse``,
``run_batch``), which follow ``datapath.py`` step by step."""

from __future__ import annotations

from typing import Any

from ..program import PKT_INSTANCE_TYPE_NORMAL
from .cexpr import cmask

# the part of the unit Python's cffi sees (cdef); layout shared with the C side
CDEF = """
typedef struct {
    int32_t in_port, ilen, lreg, err, cksum_err, exit_, clone, clone_fl, resubmit, recirc, lf,
            trunc, payload_off, len, o_espec, o_mcast, o_prio, o_drop, assert_fail, pad;
    double enq_ts;
    int64_t enq_depth, deq_depth;
} pkt_t;
typedef struct ctx ctx_t;
typedef void (*rand_cb_t)(const uint64_t *lohi, uint64_t *out);
typedef void (*log_cb_t)(int id, const uint64_t *vals, int n);
void ctx_set_callbacks(ctx_t *c, rand_cb_t r, log_cb_t l);
typedef struct state state_t;
typedef struct {
    int32_t status, index, port, qid;
    int32_t n_out;
    int32_t pad;
} batch_res_t;
ctx_t *ctx_new(void);
void ctx_free(ctx_t *c);
int ctx_layout(int *out);
void ctx_set_drop_port(ctx_t *c, int p);
void ctx_set_port(ctx_t *c, int port, int ok);
void ctx_set_nb_queues(ctx_t *c, int n);
uint64_t *ctx_stats(ctx_t *c);
state_t *ctx_pending(ctx_t *c);
int tbl_reset_i(ctx_t *c, int t, int n);
int tbl_set_entry_i(ctx_t *c, int t, int i, const uint64_t *key, const uint64_t *mask,
                    const uint8_t *kind, int prio, int handle, int aid, int nd,
                    const uint64_t *data);
int tbl_set_default_i(ctx_t *c, int t, int aid, int nd, const uint64_t *data);
int tbl_build_i(ctx_t *c, int t);
int tbl_load_i(ctx_t *c, int t, int n, const uint64_t *key, const uint64_t *mask,
               const uint8_t *kind, const int32_t *prio, const int32_t *handle,
               const int32_t *aid, const int32_t *nd, const uint64_t *data);
int tbl_entry_state_i(ctx_t *c, int t, int i, uint64_t *hits, double *last_hit,
                      int32_t *notified, int write);
int ctx_take_rehit(ctx_t *c);
int tbl_insert_i(ctx_t *c, int t, int n, const uint64_t *key, const uint64_t *mask,
                 const uint8_t *kind, const int32_t *prio, const int32_t *handle,
                 const int32_t *aid, const int32_t *nd, const uint64_t *data, int32_t *slots);
int tbl_delete_i(ctx_t *c, int t, int n, const int32_t *slots);
int tbl_modify_i(ctx_t *c, int t, int i, int aid, int nd, const uint64_t *data);
int tbl_stats_i(ctx_t *c, int t, int64_t *out);
int tbl_find_i(ctx_t *c, int t, const uint64_t *key);
int tbl_entry_ref_i(ctx_t *c, int t, int i, int kind, int64_t ref);
int prof_reset_i(ctx_t *c, int p, int nm, int ng);
int prof_member_i(ctx_t *c, int p, int i, int64_t handle, int aid, int nd, const uint64_t *data);
int prof_group_i(ctx_t *c, int p, int i, int64_t handle, int n, const int64_t *slots);
int tbl_entry_meter_i(ctx_t *c, int t, int i, int32_t *n, double *rates, int64_t *bursts,
                      int64_t *tokens, int64_t *last, int32_t *colors, int write);
int reg_rw(ctx_t *c, int r, int64_t i, uint64_t *val, int write);
int reg_fill(ctx_t *c, int r, const uint64_t *val);
int cnt_rw(ctx_t *c, int k, int64_t i, uint64_t *val, int write);
int cnt_clear(ctx_t *c, int k);
int vset_set(ctx_t *c, int i, int n, const uint64_t *vals);
int meter_set(ctx_t *c, int m, int64_t i, int n, const double *rates, const int64_t *bursts,
              const int32_t *colors);
int field_rw(state_t *st, int f, uint64_t *val, int write);
void ig_run(ctx_t *c, state_t *st, const uint8_t *data, int len, int ilen, int in_port,
            int itype, double now, const state_t *preserve, int fl_id);
void eg_run(ctx_t *c, state_t *st, const uint8_t *data, int port, int qid, double now);
int dep_run(ctx_t *c, state_t *st, const uint8_t *data, uint8_t *out, int cap);
void reset_metadata(state_t *st);
void clone_parse(ctx_t *c, state_t *st, const uint8_t *data, int len, int ilen, int in_port);
void fl_copy(int fl, const state_t *src, state_t *dst);
int run_batch(ctx_t *c, int n, const uint8_t *buf, const int32_t *offs, const int32_t *lens,
              const int32_t *ports, double now, uint8_t *out, int out_cap, int32_t *o_off,
              int32_t *o_len, int32_t *o_port, batch_res_t *res);
"""


class EntryGenMixin:
    """Mixin for :class:`.cgen.CGen` (needs ``prog``, ``tables``, ``sf``, ``w``)."""

    prog: Any
    profiles: list[dict[str, Any]]
    tables: list[tuple[str, dict[str, Any]]]
    sf: dict[str, Any]

    def w(self, s: str) -> None:  # pragma: no cover - provided by CGen
        raise NotImplementedError

    def _gen_ctx(self) -> None:
        prog = self.prog
        self.w("struct ctx {\n    table_t T[NT];")
        for i, _r in enumerate(prog.register_arrays):
            self.w(f"    v_t *R{i};")
        for i, _c in enumerate(prog.counter_arrays):
            self.w(f"    uint64_t *CP{i}, *CB{i};")
        for i, _m in enumerate(prog.meter_arrays):
            self.w(f"    meter_t *M{i};")
        self.w("    int32_t drop_port, nb_queues;\n    double now;\n    uint8_t port_ok[1024];")
        self.w("    rand_cb_t cb_rand;\n    log_cb_t cb_log;\n    int32_t rehit;")
        self.w(f"    vset_t VS[{max(len(prog.parse_vsets), 1)}];")
        self.w(f"    prof_t PR[{max(len(self.profiles), 1)}];")
        self.w(
            "    uint64_t stats[80];  /* 0..63 parser errors, 64 cksum, 65 ig drop, 66 eg drop, 67 prio */"
        )
        self.w("    state_t pend;\n};")
        for i, r in enumerate(prog.register_arrays):
            size, bw = int(r["size"]), int(r["bitwidth"])
            self.w(f"#define RS_{i} {size}")
            m = cmask(bw) if bw < 128 else "(v_t)-1"
            self.w(
                f"static inline v_t reg_get_{i}(ctx_t *c, v_t i) {{ return (i >= 0 && i < {size}) ? c->R{i}[(int64_t)i] : 0; }}"
            )
            self.w(
                f"static inline void reg_set_{i}(ctx_t *c, v_t i, v_t v) {{ if (i >= 0 && i < {size}) c->R{i}[(int64_t)i] = v & {m}; }}"
            )
        for i, cn in enumerate(prog.counter_arrays):
            size = int(cn.get("size", 0))
            self.w(
                f"static inline void cnt_{i}(ctx_t *c, v_t i, int n) {{ if (i >= 0 && i < {size}) {{ c->CP{i}[(int64_t)i]++; c->CB{i}[(int64_t)i] += (uint64_t)n; }} }}"
            )
        # construction and control accessors
        self.w(
            "ctx_t *ctx_new(void) {\n    hash_init();\n    ctx_t *c = calloc(1, sizeof(ctx_t));\n    if (!c) return NULL;"
        )
        for i, (_p, t) in enumerate(self.tables):
            keys = t.get("key", [])
            types = [k.get("match_type") for k in keys]
            mode = 0 if not keys else (2 if "range" in types else 1)
            self.w(
                f"    c->T[{i}].nk = {len(keys)}; c->T[{i}].mode = {mode}; c->T[{i}].def_aid = -1;"
            )
        for i, r in enumerate(prog.register_arrays):
            self.w(f"    c->R{i} = calloc({max(int(r['size']), 1)}, sizeof(v_t));")
        for i, cn in enumerate(prog.counter_arrays):
            n = max(int(cn.get("size", 0)), 1)
            self.w(f"    c->CP{i} = calloc({n}, 8); c->CB{i} = calloc({n}, 8);")
        for i, m in enumerate(prog.meter_arrays):
            self.w(f"    c->M{i} = calloc({max(int(m.get('size', 0)), 1)}, sizeof(meter_t));")
        self.w("    c->drop_port = 511; c->nb_queues = 1;\n    return c;\n}")
        self.w(
            "void ctx_free(ctx_t *c) {\n    if (!c) return;\n    for (int i = 0; i < NT; i++) tbl_free_entries(&c->T[i]);"
        )
        for i, _r in enumerate(prog.register_arrays):
            self.w(f"    free(c->R{i});")
        for i, _c in enumerate(prog.counter_arrays):
            self.w(f"    free(c->CP{i}); free(c->CB{i});")
        for i, _m in enumerate(prog.meter_arrays):
            self.w(f"    free(c->M{i});")
        self.w("    free(c);\n}")
        self.w(
            "int ctx_layout(int *out) { out[0] = (int)sizeof(state_t); out[1] = (int)sizeof(ctx_t); return 0; }\n"
            "void ctx_set_drop_port(ctx_t *c, int p) { c->drop_port = p; }\n"
            "int vset_set(ctx_t *c, int i, int n, const uint64_t *vals) { "
            f"if (i < 0 || i >= {len(prog.parse_vsets)}) return -1; return vset_load(&c->VS[i], n, vals); }}\n"
            "void ctx_set_callbacks(ctx_t *c, rand_cb_t r, log_cb_t l) { c->cb_rand = r; c->cb_log = l; }\n"
            "void ctx_set_port(ctx_t *c, int port, int ok) { if (port >= 0 && port < 1024) c->port_ok[port] = (uint8_t)ok; }\n"
            "void ctx_set_nb_queues(ctx_t *c, int n) { c->nb_queues = n; }\n"
            "uint64_t *ctx_stats(ctx_t *c) { return c->stats; }\n"
            "state_t *ctx_pending(ctx_t *c) { return &c->pend; }\n"
            "int tbl_reset_i(ctx_t *c, int t, int n) { if (t < 0 || t >= NT) return -1; return tbl_reset(&c->T[t], n); }\n"
            "int tbl_set_entry_i(ctx_t *c, int t, int i, const uint64_t *key, const uint64_t *mask, const uint8_t *kind, int prio, int handle, int aid, int nd, const uint64_t *data) {\n"
            "    if (t < 0 || t >= NT) return -1; return tbl_set_entry(&c->T[t], i, key, mask, kind, prio, handle, aid, nd, data); }\n"
            "int tbl_set_default_i(ctx_t *c, int t, int aid, int nd, const uint64_t *data) { if (t < 0 || t >= NT) return -1; return tbl_set_default(&c->T[t], aid, nd, data); }\n"
            "int tbl_entry_state_i(ctx_t *c, int t, int i, uint64_t *hits, double *last_hit, int32_t *notified, int write) {\n"
            "    if (t < 0 || t >= NT) return -1; return tbl_entry_state(&c->T[t], i, hits, last_hit, notified, write); }\n"
            "int tbl_entry_meter_i(ctx_t *c, int t, int i, int32_t *n, double *rates, int64_t *bursts, int64_t *tokens, int64_t *last, int32_t *colors, int write) {\n"
            "    if (t < 0 || t >= NT) return -1; return tbl_entry_meter(&c->T[t], i, n, rates, bursts, tokens, last, colors, write); }\n"
            "int tbl_entry_ref_i(ctx_t *c, int t, int i, int kind, int64_t ref) { if (t < 0 || t >= NT) return -1; return tbl_entry_ref(&c->T[t], i, kind, ref); }\n"
            f"int prof_reset_i(ctx_t *c, int p, int nm, int ng) {{ if (p < 0 || p >= {len(self.profiles)}) return -1; return prof_reset(&c->PR[p], nm, ng); }}\n"
            f"int prof_member_i(ctx_t *c, int p, int i, int64_t h, int aid, int nd, const uint64_t *data) {{ if (p < 0 || p >= {len(self.profiles)}) return -1; return prof_member(&c->PR[p], i, h, aid, nd, data); }}\n"
            f"int prof_group_i(ctx_t *c, int p, int i, int64_t h, int n, const int64_t *slots) {{ if (p < 0 || p >= {len(self.profiles)}) return -1; return prof_group(&c->PR[p], i, h, n, slots); }}\n"
            "int ctx_take_rehit(ctx_t *c) { int r = c->rehit; c->rehit = 0; return r; }\n"
            "int tbl_load_i(ctx_t *c, int t, int n, const uint64_t *key, const uint64_t *mask, const uint8_t *kind, const int32_t *prio, const int32_t *handle, const int32_t *aid, const int32_t *nd, const uint64_t *data) {\n"
            "    if (t < 0 || t >= NT) return -1; return tbl_load(&c->T[t], n, key, mask, kind, prio, handle, aid, nd, data); }\n"
            "int tbl_build_i(ctx_t *c, int t) { if (t < 0 || t >= NT) return -1; return tbl_build(&c->T[t]); }\n"
            "int tbl_insert_i(ctx_t *c, int t, int n, const uint64_t *key, const uint64_t *mask, const uint8_t *kind, const int32_t *prio, const int32_t *handle, const int32_t *aid, const int32_t *nd, const uint64_t *data, int32_t *slots) {\n"
            "    if (t < 0 || t >= NT) return -1; return tbl_insert(&c->T[t], n, key, mask, kind, prio, handle, aid, nd, data, slots); }\n"
            "int tbl_delete_i(ctx_t *c, int t, int n, const int32_t *slots) { if (t < 0 || t >= NT) return -1; return tbl_delete(&c->T[t], n, slots); }\n"
            "int tbl_modify_i(ctx_t *c, int t, int i, int aid, int nd, const uint64_t *data) { if (t < 0 || t >= NT) return -1; return tbl_modify(&c->T[t], i, aid, nd, data); }\n"
            "int tbl_stats_i(ctx_t *c, int t, int64_t *out) { if (t < 0 || t >= NT) return -1; return tbl_stats(&c->T[t], out); }\n"
            "int tbl_find_i(ctx_t *c, int t, const uint64_t *key) {\n"
            "    if (t < 0 || t >= NT || c->T[t].nk > MAXK) return -2;\n"
            "    v_t k[MAXK]; for (int i = 0; i < c->T[t].nk; i++) k[i] = mkv(key[2 * i], key[2 * i + 1]);\n"
            "    const entry_t *e = tbl_lookup(&c->T[t], k); return e ? e->handle : -1; }\n"
            "int field_rw(state_t *st, int f, uint64_t *val, int write) {\n"
            "    if (f < 0 || f >= NF) return -1;\n"
            "    if (write) st->F[f] = mkv(val[0], val[1]); else { u_t x = (u_t)st->F[f]; val[0] = (uint64_t)x; val[1] = (uint64_t)(x >> 64); }\n"
            "    return 0; }"
        )
        self.w(
            "int reg_rw(ctx_t *c, int r, int64_t i, uint64_t *val, int write) {\n    v_t *a; int64_t n;\n    switch (r) {"
        )
        for i, r in enumerate(prog.register_arrays):
            self.w(f"    case {i}: a = c->R{i}; n = {int(r['size'])}; break;")
        self.w(
            "    default: return -1; }\n    if (i < 0 || i >= n) return -1;\n"
            "    if (write) a[i] = mkv(val[0], val[1]); else { u_t x = (u_t)a[i]; val[0] = (uint64_t)x; val[1] = (uint64_t)(x >> 64); }\n"
            "    return 0;\n}"
        )
        self.w("int reg_fill(ctx_t *c, int r, const uint64_t *val) {\n    switch (r) {")
        for i, r in enumerate(prog.register_arrays):
            self.w(
                f"    case {i}: for (int64_t k = 0; k < {int(r['size'])}; k++) c->R{i}[k] = mkv(val[0], val[1]); return 0;"
            )
        self.w("    default: return -1; }\n}")
        self.w(
            "int cnt_rw(ctx_t *c, int k, int64_t i, uint64_t *val, int write) {\n    uint64_t *p, *b; int64_t n;\n    switch (k) {"
        )
        for i, cn in enumerate(prog.counter_arrays):
            self.w(
                f"    case {i}: p = c->CP{i}; b = c->CB{i}; n = {int(cn.get('size', 0))}; break;"
            )
        self.w(
            "    default: return -1; }\n    if (i < 0 || i >= n) return -1;\n"
            "    if (write) { p[i] = val[0]; b[i] = val[1]; } else { val[0] = p[i]; val[1] = b[i]; }\n    return 0;\n}"
        )
        self.w(
            "int meter_set(ctx_t *c, int m, int64_t i, int n, const double *rates, "
            "const int64_t *bursts, const int32_t *colors) {\n    switch (m) {"
        )
        for i, m in enumerate(prog.meter_arrays):
            size = int(m.get("size", 0))
            self.w(
                f"    case {i}: if (i < 0 || i >= {size}) return -1; return meter_config(&c->M{i}[i], n, rates, bursts, colors);"
            )
        self.w("    default: return -1; }\n}")
        for i, m in enumerate(prog.meter_arrays):
            size = int(m.get("size", 0))
            inp = "1" if m.get("type", "bytes") == "packets" else "(int64_t)ilen"
            self.w(
                f"static inline int meter_run_{i}(ctx_t *c, v_t i, int ilen) {{ (void)ilen; "
                f"return (i >= 0 && i < {size}) ? meter_exec(&c->M{i}[(int64_t)i], c->now, {inp}) : -1; }}"
            )
        self.w("int cnt_clear(ctx_t *c, int k) {\n    switch (k) {")
        for i, cn in enumerate(prog.counter_arrays):
            n = max(int(cn.get("size", 0)), 1)
            self.w(
                f"    case {i}: memset(c->CP{i}, 0, {n} * 8); memset(c->CB{i}, 0, {n} * 8); return 0;"
            )
        self.w("    default: return -1; }\n}")

    def _put(self, name: str, value: str) -> str:
        f = self.sf[name]
        if f is None:
            return ""
        return f"    F[{f.index}] = (v_t)({value}) & {cmask(f.width)};"

    def _get(self, name: str, default: str = "0") -> str:
        f = self.sf[name]
        return default if f is None else f"(int64_t)F[{f.index}]"

    def _gen_entry(self, ingress: str | None, egress: str | None) -> None:
        put, get = self._put, self._get
        no_error = self.prog.errors["NoError"]
        qmeta = all(
            self.sf[n] is not None
            for n in ("enq_timestamp", "enq_qdepth", "deq_timedelta", "deq_qdepth")
        )
        w = self.w
        w(
            "void ig_run(ctx_t *c, state_t *st, const uint8_t *data, int len, int ilen, int in_port, int itype,"
        )
        w("            double now, const state_t *preserve, int fl_id) {")
        w("    memset(&st->p, 0, sizeof(pkt_t));\n    memset(F, 0, sizeof(F));")
        w("    memcpy(V, V0, sizeof(V));\n    memset(S, 0, sizeof(S));")
        w("    memset(st->VLW, 0, sizeof(st->VLW));\n    memset(st->VLB, 0, sizeof(st->VLB));")
        w(
            "    st->data = data; P.len = len; P.in_port = in_port; P.ilen = ilen; P.lreg = ilen; P.trunc = -1;"
        )
        w("    c->now = now;\n    if (!preserve) {")
        for line in (
            put("ingress_port", "in_port"),
            put("ingress_global_timestamp", "(int64_t)now"),
            put("instance_type", "itype"),
            put("packet_length", "ilen"),
        ):
            if line:
                w("    " + line)
        w("    } else {\n        fl_copy(fl_id, preserve, st);")
        for line in (put("instance_type", "itype"), put("packet_length", "ilen")):
            if line:
                w("    " + line)
        w("    }")
        w(f"    P.err = {no_error};\n    int pos = parse_(c, st);\n    P.payload_off = pos;")
        w("    verify_checksums(c, st);")
        w(
            f"    if (P.err != {no_error}) {{ c->stats[P.err >= 0 && P.err < 63 ? P.err : 63]++; c->stats[79] = 1; }}"
        )
        w("    if (P.cksum_err) { c->stats[64]++; c->stats[79] = 1; }")
        for line in (put("parser_error", "P.err"), put("checksum_error", "P.cksum_err")):
            if line:
                w(line)
        if ingress:
            w(f"    {ingress}(c, st);")
        w("    P.exit_ = 0;")
        w(
            f"    P.o_mcast = (int32_t){get('mcast_grp')};\n    P.o_espec = (int32_t){get('egress_spec')};"
        )
        w(f"    P.o_prio = (int32_t){get('priority')};\n}}")
        w(
            "void clone_parse(ctx_t *c, state_t *st, const uint8_t *data, int len, int ilen, int in_port) {"
        )
        w("    memset(&st->p, 0, sizeof(pkt_t));\n    memset(F, 0, sizeof(F));")
        w("    memcpy(V, V0, sizeof(V));\n    memset(S, 0, sizeof(S));")
        w("    memset(st->VLW, 0, sizeof(st->VLW));\n    memset(st->VLB, 0, sizeof(st->VLB));")
        w(
            "    st->data = data; P.len = len; P.in_port = in_port; P.ilen = ilen; P.lreg = ilen; P.trunc = -1;"
        )
        line = put("ingress_port", "in_port")
        if line:
            w(line)
        w(f"    P.err = {no_error};\n    int pos = parse_(c, st);\n    P.payload_off = pos;")
        w("    verify_checksums(c, st);")
        w(
            f"    if (P.err != {no_error}) {{ c->stats[P.err >= 0 && P.err < 63 ? P.err : 63]++; c->stats[79] = 1; }}"
        )
        w("    if (P.cksum_err) { c->stats[64]++; c->stats[79] = 1; }\n}")
        w(
            "void eg_run(ctx_t *c, state_t *st, const uint8_t *data, int port, int qid, double now) {"
        )
        w("    st->data = data; int64_t nw = (int64_t)now; (void)nw; (void)qid; c->now = now;")
        for line in (put("egress_global_timestamp", "nw"),):
            if line:
                w(line)
        if qmeta:
            for line in (
                put("enq_timestamp", "(int64_t)P.enq_ts"),
                put("enq_qdepth", "P.enq_depth"),
                put("deq_timedelta", "nw - (int64_t)P.enq_ts"),
                put("deq_qdepth", "P.deq_depth"),
                put("qid", "qid"),
            ):
                if line:
                    w(line)
        for line in (
            put("egress_port", "port"),
            put("egress_spec", "c->drop_port + 1"),
            put("packet_length", "P.lreg"),
        ):
            if line:
                w(line)
        if egress:
            w(f"    {egress}(c, st);")
        w(f"    P.exit_ = 0;\n    P.o_espec = (int32_t){get('egress_spec', '-1')};\n}}")
        w("int dep_run(ctx_t *c, state_t *st, const uint8_t *data, uint8_t *out, int cap) {")
        w(
            "    st->data = data;\n    update_checksums(c, st);\n    int o = deparse_(c, st, out, cap);\n    if (o < 0) return -1;"
        )
        w("    int pl = P.len - P.payload_off;\n    if (o + pl > cap) return -1;")
        w("    memcpy(out + o, data + P.payload_off, (size_t)pl);\n    o += pl;")
        w("    if (P.trunc >= 0 && P.trunc < o) o = P.trunc;\n    return o;\n}")
        instance = self.sf["instance_type"]
        set_normal = f"F[{instance.index}] = {PKT_INSTANCE_TYPE_NORMAL};" if instance else ""
        w(
            f"""
/* The whole path for packets that need nothing of Python: unicast to a direct, idle port.
 * status: 0 all done; 1 packet ``index`` stopped after ingress (state in c->pend);
 * 2 stopped after egress (port, qid); 3 output buffer full before packet ``index``. */
int run_batch(ctx_t *c, int n, const uint8_t *buf, const int32_t *offs, const int32_t *lens,
              const int32_t *ports, double now, uint8_t *out, int out_cap, int32_t *o_off,
              int32_t *o_len, int32_t *o_port, batch_res_t *res) {{
    state_t *st = &c->pend;
    int used = 0, no = 0;
    res->status = 0; res->index = n; res->n_out = 0;
    for (int i = 0; i < n; i++) {{
        const uint8_t *data = buf + offs[i];
        int len = lens[i];
        if (out_cap - used < len + HDRMAX) {{ res->status = 3; res->index = i; break; }}
        ig_run(c, st, data, len, len, ports[i], 0, now, NULL, 0);
        if (P.clone || P.lf || P.resubmit || P.o_mcast || P.assert_fail) {{ res->status = 1; res->index = i; break; }}
        if (P.o_espec == c->drop_port) {{ c->stats[65]++; c->stats[79] = 1; continue; }}
        int port = P.o_espec, prio = P.o_prio;
        if (port < 0 || port >= 1024 || !c->port_ok[port] || prio < 0 || prio >= c->nb_queues) {{
            res->status = 1; res->index = i; break;
        }}
        {set_normal}
        P.enq_ts = now; P.enq_depth = 0; P.deq_depth = 0;
        eg_run(c, st, data, port, prio, now);
        if (P.clone || P.recirc || P.assert_fail) {{ res->status = 2; res->index = i; res->port = port; res->qid = prio; break; }}
        if (P.o_espec == c->drop_port) {{ c->stats[66]++; c->stats[79] = 1; continue; }}
        int o = dep_run(c, st, data, out + used, out_cap - used);
        if (o < 0) {{ res->status = 2; res->index = i; res->port = port; res->qid = prio; break; }}
        o_off[no] = used; o_len[no] = o; o_port[no] = port; no++;
        used += o;
    }}
    res->n_out = no;
    return res->status;
}}"""
        )
