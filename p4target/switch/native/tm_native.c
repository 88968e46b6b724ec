/* -- native traffic manager: the queues of p4target/switch/tm.py in C ---------------------
 * Appended to each program's unit (needs state_t, ig_run, eg_run, dep_run, TMQ_SET_NORMAL).
 * Per egress port, per priority queue, a ring of queued packets (post-ingress state + bytes);
 * scheduling is a pure function of time: C says when a port needs service (sched_at, token),
 * Python keeps one clock event per port and calls tm_service at that time.  Every rule
 * (depths, strict priority, queue rate, link serialisation, port delay, CQF gates) follows
 * tm.py line by line; the comments name the tm.py step. */
#define TMQ_PORTS 1024
#define TMQ_MAXQ 8
#define TMQ_INF (__builtin_inf())

/* tmq_t and tm_res_t: declared once, in tmq_cdef.TM_TYPES (cgen.py writes them above) */
typedef struct tq_ent { state_t st; int64_t deadline; int32_t len, pad; uint8_t data[]; } tq_ent_t;
typedef struct { tq_ent_t **a; uint32_t head, n, cap, pad; } tq_ring_t;
typedef struct {
    int32_t nq, direct, has_cqf, cq0, cq1, seen;
    int64_t depth[TMQ_MAXQ];
    double rate[TMQ_MAXQ], next_ok[TMQ_MAXQ];
    double link_bps, delay_us, busy_until, cqf_T, cqf_t0, sched_at;
    int64_t token, qlen;
    uint64_t drops, overruns;   /* not yet folded into Python */
    tq_ring_t q[TMQ_MAXQ];
} tq_port_t;
typedef struct {
    uint8_t magic[2];
    int32_t type_off, type_val, units_off, len_off, hdr_len;
} tq_rule_t;
struct tmq {
    tq_port_t p[TMQ_PORTS];
    int32_t acct;               /* frame sizes: 0 length, 1 aggregate rule, 2 Python callback */
    tq_rule_t rule;             /* the aggregate rule when acct is 1 */
    int32_t pend_len, pend_cap, bypass; /* bypass: unicast stops after ingress (Python TM) */
    uint8_t *pend_data;         /* bytes of the packet handed to Python after egress */
    uint64_t stats[8];          /* 0 queue_full, 1 priority_out_of_range, 2 cqf_overrun, 7 dirty */
};

static inline int64_t tq_floor(double x) {
    int64_t i = (int64_t)x;
    return x < (double)i ? i - 1 : i;
}
static inline int tq_par(int64_t c) { return (int)(((c % 2) + 2) % 2); }

/* framesize.AggregateFrameRule: an aggregate frame stands for ``units`` frames + ``length`` */
static int64_t tq_acct_agg(const tmq_t *t, const uint8_t *f, int n) {
    const tq_rule_t *r = &t->rule;
    if (n < 54 + 8 + r->hdr_len || f[12] != 0x86 || f[13] != 0xdd) return n;
    int off = 54, nh = f[20];
    for (;;) {
        if (nh == 0 || nh == 43 || nh == 60) {
            if (n < off + 2) return n;
            int nnh = f[off];
            off = off + (f[off + 1] + 1) * 8;
            nh = nnh;
        } else if (nh == 41) {
            if (n < off + 40) return n;
            nh = f[off + 6];
            off += 40;
        } else if (nh == 17) {
            off += 8;
            break;
        } else if (nh == 6) {
            if (n < off + 13) return n;
            off = off + (f[off + 12] >> 4) * 4;
            break;
        } else return n;
    }
    if (n < off + r->hdr_len) return n;
    if (f[off] != r->magic[0] || f[off + 1] != r->magic[1] || f[off + r->type_off] != r->type_val)
        return n;
    const uint8_t *u = f + off + r->units_off, *l = f + off + r->len_off;
    int64_t units = ((int64_t)u[0] << 8) | u[1];
    int64_t length = ((int64_t)l[0] << 24) | ((int64_t)l[1] << 16) | ((int64_t)l[2] << 8) | l[3];
    return (units > 1 ? units : 1) * n + length;
}
int64_t tmq_acct_size(tmq_t *t, const uint8_t *f, int n) { return tq_acct_agg(t, f, n); }

tmq_t *tmq_new(int nq, int64_t depth) {
    tmq_t *t = calloc(1, sizeof(tmq_t));
    if (!t) return NULL;
    for (int i = 0; i < TMQ_PORTS; i++) {
        tq_port_t *e = &t->p[i];
        e->nq = nq; e->direct = 1; e->sched_at = TMQ_INF;
        for (int q = 0; q < TMQ_MAXQ; q++) e->depth[q] = depth;
    }
    return t;
}
static void tq_clear(tq_port_t *e) {
    for (int q = 0; q < TMQ_MAXQ; q++) {
        tq_ring_t *r = &e->q[q];
        for (uint32_t k = 0; k < r->n; k++) free(r->a[(r->head + k) % r->cap]);
        r->head = r->n = 0;
    }
    e->qlen = 0;
}
void tmq_free(tmq_t *t) {
    if (!t) return;
    for (int i = 0; i < TMQ_PORTS; i++) {
        tq_clear(&t->p[i]);
        for (int q = 0; q < TMQ_MAXQ; q++) free(t->p[i].q[q].a);
    }
    free(t->pend_data);
    free(t);
}
/* ports not in ``known`` (1024 flags): a fresh direct port of nq queues of ``depth`` */
void tmq_defaults(tmq_t *t, int nq, int64_t depth, const uint8_t *known) {
    for (int i = 0; i < TMQ_PORTS; i++) {
        if (known[i]) continue;
        tq_port_t *e = &t->p[i];
        e->nq = nq; e->direct = 1; e->has_cqf = 0; e->link_bps = e->delay_us = 0;
        for (int q = 0; q < TMQ_MAXQ; q++) { e->depth[q] = depth; e->rate[q] = 0; }
    }
}
void tmq_reset(tmq_t *t) { for (int i = 0; i < TMQ_PORTS; i++) tq_clear(&t->p[i]); }
void tmq_set_acct(tmq_t *t, int mode) { t->acct = mode; }
void tmq_set_rule(tmq_t *t, const uint8_t *magic, int type_off, int type_val, int units_off,
                  int len_off, int hdr_len) {
    tq_rule_t *r = &t->rule;
    r->magic[0] = magic[0]; r->magic[1] = magic[1];
    r->type_off = type_off; r->type_val = type_val; r->units_off = units_off;
    r->len_off = len_off; r->hdr_len = hdr_len;
}
void tmq_set_bypass(tmq_t *t, int on) { t->bypass = on; }
const uint8_t *tmq_pend(tmq_t *t, int32_t *len) { *len = t->pend_len; return t->pend_data; }
uint64_t *tmq_stats(tmq_t *t) { return t->stats; }

/* a port's whole configuration and scheduling state (tm.EgressPort); rw: 1 write, 0 read */
int tmq_port(tmq_t *t, int port, int32_t *ints, int64_t *depth, double *dbl, int write) {
    if (port < 0 || port >= TMQ_PORTS) return -1;
    tq_port_t *e = &t->p[port];
    /* ints: nq, direct, has_cqf, cq0, cq1; dbl: rate[8], next_ok[8], link, delay, busy,
     * cqf_T, cqf_t0 */
    if (write) {  /* 1: configuration; 2: also the scheduling state (next_ok, busy_until) */
        if (ints[0] < 1 || ints[0] > TMQ_MAXQ) return -1;
        e->nq = ints[0]; e->direct = ints[1]; e->has_cqf = ints[2]; e->cq0 = ints[3]; e->cq1 = ints[4];
        for (int q = 0; q < TMQ_MAXQ; q++) {
            e->depth[q] = depth[q]; e->rate[q] = dbl[q];
            if (write == 2) e->next_ok[q] = dbl[8 + q];
        }
        e->link_bps = dbl[16]; e->delay_us = dbl[17];
        if (write == 2) e->busy_until = dbl[18];
        e->cqf_T = dbl[19]; e->cqf_t0 = dbl[20];
    } else {
        ints[0] = e->nq; ints[1] = e->direct; ints[2] = e->has_cqf; ints[3] = e->cq0; ints[4] = e->cq1;
        for (int q = 0; q < TMQ_MAXQ; q++) {
            depth[q] = e->depth[q]; dbl[q] = e->rate[q]; dbl[8 + q] = e->next_ok[q];
        }
        dbl[16] = e->link_bps; dbl[17] = e->delay_us; dbl[18] = e->busy_until;
        dbl[19] = e->cqf_T; dbl[20] = e->cqf_t0;
    }
    return 0;
}
/* queued packets of ``port`` (q < 0: all priorities) */
int64_t tmq_depth(tmq_t *t, int port, int q) {
    if (port < 0 || port >= TMQ_PORTS) return 0;
    tq_port_t *e = &t->p[port];
    if (q < 0) return e->qlen;
    return q < TMQ_MAXQ ? (int64_t)e->q[q].n : 0;
}
/* drops / CQF overruns per port since the last call (ports with any: out, count returned) */
int tmq_take(tmq_t *t, int32_t *ports, uint64_t *drops, uint64_t *overruns, int cap) {
    int n = 0;
    for (int i = 0; i < TMQ_PORTS && n < cap; i++) {
        tq_port_t *e = &t->p[i];
        if (!e->drops && !e->overruns && !e->seen) continue;
        ports[n] = i; drops[n] = e->drops; overruns[n] = e->overruns; n++;
        e->drops = e->overruns = 0; e->seen = 0;
    }
    t->stats[7] = 0;
    return n;
}

/* tm.enqueue's checks: -1 priority out of range, -2 queue full (both counted), 0 direct
 * (the caller runs egress at once), 1 to be queued */
static inline int tq_admit(tmq_t *t, tq_port_t *e, int prio, int in_egress) {
    if (prio < 0 || prio >= e->nq) { e->seen = 1; t->stats[1]++; t->stats[7] = 1; return -1; }
    if ((int64_t)e->q[prio].n >= e->depth[prio]) {
        e->drops++; t->stats[0]++; t->stats[7] = 1; return -2;
    }
    if (e->direct && !e->qlen && !in_egress && e->sched_at == TMQ_INF) return 0;
    return 1;
}

/* the queueing half of tm.enqueue: 1 queued, 2 queued and the port needs a service event at
 * ``now`` (sched_at / token updated), -3 out of memory */
static int tq_push(tq_port_t *e, int prio, const state_t *st, const uint8_t *data, int len,
                   double now) {
    tq_ring_t *r = &e->q[prio];
    if (r->n == r->cap) {
        uint32_t nc = r->cap ? r->cap * 2 : 16;
        tq_ent_t **a = malloc(sizeof(tq_ent_t *) * nc);
        if (!a) return -3;
        for (uint32_t k = 0; k < r->n; k++) a[k] = r->a[(r->head + k) % r->cap];
        free(r->a);
        r->a = a; r->cap = nc; r->head = 0;
    }
    tq_ent_t *x = malloc(sizeof(tq_ent_t) + (size_t)(len ? len : 1));
    if (!x) return -3;
    memcpy(&x->st, st, sizeof(state_t));
    memcpy(x->data, data, (size_t)len);
    x->len = len;
    x->st.data = x->data;
    x->st.p.enq_ts = now;
    x->st.p.enq_depth = r->n;
    x->deadline = 0;
    if (e->has_cqf && (prio == e->cq0 || prio == e->cq1)) {
        int64_t c = tq_floor((now - e->cqf_t0) / e->cqf_T);
        int parity = prio == e->cq0 ? 0 : 1;
        x->deadline = tq_par(c) == parity ? c : c + 1;
    }
    r->a[(r->head + r->n) % r->cap] = x;
    r->n++;
    e->qlen++;
    if (now < e->sched_at) { e->sched_at = now; e->token++; return 2; }
    return 1;
}

/* tm.enqueue for a packet the Python side holds (clones, multicast copies, recirculated...):
 * -1/-2 dropped, 0 direct, 1 queued, 2 queued + service event at now (token in *token) */
int tmq_enq(tmq_t *t, const state_t *st, const uint8_t *data, int len, int port, int prio,
            double now, int in_egress, int64_t *token) {
    if (port < 0 || port >= TMQ_PORTS) return -4;
    tq_port_t *e = &t->p[port];
    int a = tq_admit(t, e, prio, in_egress);
    if (a <= 0) return a;
    int r = tq_push(e, prio, st, data, len, now);
    *token = e->token;
    return r;
}

/* serialisation of a frame of ``size`` bytes sent now: returns when it reaches the port */
double tmq_charge(tmq_t *t, int port, int64_t size, double now) {
    tq_port_t *e = &t->p[port];
    double done = now;
    if (e->link_bps) {
        done = now + (double)size * 8e6 / e->link_bps;
        e->busy_until = done;
    }
    return done + e->delay_us;
}

static inline void tq_sched(tq_port_t *e, double at) { e->token++; e->sched_at = at; }


/* tm._service_locked for ``port``: status 0 done (res->next: the next service event, INF:
 * none; token: its token), 1 stale token, 2 a packet needs Python after egress (state in
 * c->pend, bytes in pend_data), 3 output buffer full, 5 the last output needs its size from
 * Python (tmq_charge).  cont: continue a service after status 2/3/5 (no token check).
 * Outputs: o_at (when the frame reaches the port), o_size (bytes charged). */
int tm_service(ctx_t *c, tmq_t *t, int port, int64_t token, int cont, double now, uint8_t *out,
               int out_cap, int32_t *o_off, int32_t *o_len, double *o_at, int64_t *o_size,
               tm_res_t *res) {
    res->status = 0; res->n_out = 0; res->next = TMQ_INF; res->token = 0;
    if (port < 0 || port >= TMQ_PORTS) { res->status = 1; return 1; }
    tq_port_t *e = &t->p[port];
    if (!cont) {
        if (token != e->token) { res->status = 1; return 1; }
        e->sched_at = TMQ_INF;
    }
    int used = 0, no = 0;
    for (;;) {
        if (e->busy_until > now) { tq_sched(e, e->busy_until); break; }
        int pick = -1;
        double next_t = TMQ_INF;
        for (int qi = e->nq - 1; qi >= 0; qi--) {
            if (!e->q[qi].n) continue;
            double tt = e->next_ok[qi];
            if (e->has_cqf && (qi == e->cq0 || qi == e->cq1)) {
                int parity = qi == e->cq0 ? 0 : 1;
                int64_t cy = tq_floor((now - e->cqf_t0) / e->cqf_T);
                double g = tq_par(cy) == parity ? now : e->cqf_t0 + (double)(cy + 1) * e->cqf_T;
                if (g > tt) tt = g;
            }
            if (tt <= now) { pick = qi; break; }
            if (tt < next_t) next_t = tt;
        }
        if (pick < 0) {
            if (next_t < TMQ_INF) tq_sched(e, next_t);
            break;
        }
        tq_ring_t *r = &e->q[pick];
        tq_ent_t *x = r->a[r->head];
        if (out_cap - used < x->len + HDRMAX || no >= TMQ_OUT_MAX) { res->status = 3; break; }
        r->head = (r->head + 1) % r->cap;
        r->n--;
        e->qlen--;
        if (e->rate[pick]) {
            double b = e->next_ok[pick] > now ? e->next_ok[pick] : now;
            e->next_ok[pick] = b + 1e6 / e->rate[pick];
        }
        if (e->has_cqf && (pick == e->cq0 || pick == e->cq1)) {
            if (tq_floor((now - e->cqf_t0) / e->cqf_T) > x->deadline) {
                e->overruns++; t->stats[2]++; t->stats[7] = 1;
            }
        }
        state_t *st = &x->st;
        st->p.deq_depth = r->n;
        eg_run(c, st, x->data, port, pick, now);
        int o = -1;
        if (!(P.clone || P.recirc || P.assert_fail) && P.o_espec != c->drop_port)
            o = dep_run(c, st, x->data, out + used, out_cap - used);
        if (P.clone || P.recirc || P.assert_fail || (o < 0 && P.o_espec != c->drop_port)) {
            /* Python finishes it (tm's egress callback); the state goes to c->pend */
            memcpy(&c->pend, st, sizeof(state_t));
            if (t->pend_cap < x->len) {
                uint8_t *nb = realloc(t->pend_data, (size_t)x->len);
                if (!nb) { free(x); res->status = 1; break; }
                t->pend_data = nb; t->pend_cap = x->len;
            }
            memcpy(t->pend_data, x->data, (size_t)x->len);
            t->pend_len = x->len;
            c->pend.data = t->pend_data;
            free(x);
            res->status = 2; res->qid = pick;
            break;
        }
        free(x);
        if (P.o_espec == c->drop_port) { c->stats[66]++; c->stats[79] = 1; continue; }
        o_off[no] = used; o_len[no] = o;
        if (t->acct == 2) {  /* the size comes from Python (tmq_charge) */
            o_size[no] = -1; o_at[no] = now; no++;
            res->status = 5;
            break;
        }
        int64_t size = t->acct == 1 ? tq_acct_agg(t, out + used, o) : o;
        o_size[no] = size;
        o_at[no] = tmq_charge(t, port, size, now);
        no++;
        used += o;
    }
    res->n_out = no;
    if (res->status == 0) { res->next = e->sched_at; res->token = e->token; }
    return res->status;
}

/* run_batch with the traffic manager in C: ingress, admission and queueing for every unicast
 * packet, egress + deparser at once for idle direct ports.  ilens: NULL (lengths, or the BULK
 * rule when acct is 1) or the charged sizes.  status: 0 all done; 1 packet ``index`` stopped
 * after ingress (state in c->pend); 2 stopped after egress on a direct port (port, qid);
 * 3 output buffer full before packet ``index``; 4 packet ``index`` was queued and its port
 * needs a service event now (port, token). */
int run_batch_q(ctx_t *c, tmq_t *t, int n, const uint8_t *buf, const int32_t *offs,
                const int32_t *lens, const int32_t *ports, const int64_t *ilens, double now,
                int in_egress, uint8_t *out, int out_cap, int32_t *o_off, int32_t *o_len,
                int32_t *o_port, int64_t *o_size, tm_res_t *res) {
    state_t *st = &c->pend;
    int used = 0, no = 0;
    res->status = 0; res->index = n; res->n_out = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *data = buf + offs[i];
        int len = lens[i];
        if (out_cap - used < len + HDRMAX || no >= TMQ_OUT_MAX) { res->status = 3; res->index = i; break; }
        int ilen = ilens ? (int)ilens[i] : (t->acct == 1 ? (int)tq_acct_agg(t, data, len) : len);
        ig_run(c, st, data, len, ilen, ports[i], 0, now, NULL, 0);
        if (P.clone || P.lf || P.resubmit || P.o_mcast || P.assert_fail) { res->status = 1; res->index = i; break; }
        if (P.o_espec == c->drop_port) { c->stats[65]++; c->stats[79] = 1; continue; }
        int port = P.o_espec, prio = P.o_prio;
        if (port < 0 || port >= TMQ_PORTS || t->bypass) { res->status = 1; res->index = i; break; }
        tq_port_t *e = &t->p[port];
        int a = tq_admit(t, e, prio, in_egress);
        if (a < 0) continue;
        TMQ_SET_NORMAL(st);
        if (a == 1) {
            int r = tq_push(e, prio, st, data, len, now);
            if (r == -3) { res->status = 1; res->index = i; break; }
            if (r == 2) { res->status = 4; res->index = i; res->port = port; res->token = e->token; break; }
            continue;
        }
        P.enq_ts = now; P.enq_depth = 0; P.deq_depth = 0;
        eg_run(c, st, data, port, prio, now);
        if (P.clone || P.recirc || P.assert_fail) { res->status = 2; res->index = i; res->port = port; res->qid = prio; break; }
        if (P.o_espec == c->drop_port) { c->stats[66]++; c->stats[79] = 1; continue; }
        int o = dep_run(c, st, data, out + used, out_cap - used);
        if (o < 0) { res->status = 2; res->index = i; res->port = port; res->qid = prio; break; }
        o_off[no] = used; o_len[no] = o; o_port[no] = port;
        o_size[no] = t->acct == 1 ? tq_acct_agg(t, out + used, o) : o;
        no++;
        used += o;
    }
    res->n_out = no;
    return res->status;
}
