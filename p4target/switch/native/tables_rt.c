/* cpn-p4 native engine: match-action tables (appended to runtime.c by cgen.py; uses its
 * value types and meters). */

/* -- tables --------------------------------------------------------------------------------
 * Entries are set from Python (the Python Table stays the source of truth for the control
 * API), one at a time (``tbl_insert`` / ``tbl_delete`` / ``tbl_modify``: only that entry's
 * place in the index changes) or all at once (``tbl_load`` + ``tbl_build``: program load,
 * table clear, fallback).  An entry keeps its slot in ``e`` while it lives (freed slots are
 * reused), so per-entry state (hits, idle stamp, direct meter) stays put across other writes.
 * Modes: 0 empty, 1 hashed (tuple space: one open-addressing hash table per mask tuple, groups
 * sorted by their best priority; entries of one group with the same key are chained best
 * first), 2 scan (``order``: the entries by (-prio, handle), kept with sorted inserts). */
typedef struct {
    int32_t aid, handle, prio, nd;
    uint64_t hp, hb;       /* direct counter: hits since the last fold into Python */
    double last_hit;       /* idle timeout */
    int32_t notified;
    int32_t nxt;           /* next (worse) entry with the same key in its group; free list */
    meter_t meter;         /* direct meter */
    int32_t mkind;         /* indirect tables: 1 member, 2 group (ref = its handle) */
    int32_t live;
    int64_t ref;
    uint64_t h;            /* hashed mode: the key's hash under its group's masks */
    v_t *key;   /* nk values (masked) or lo bounds */
    v_t *mask;  /* nk masks, or hi bounds for range fields */
    uint8_t *kind; /* scan mode: 0 value/mask, 1 range */
    v_t *data;
} entry_t;

typedef struct {
    v_t mask[MAXK];
    int32_t top;      /* best priority in the group */
    uint32_t cap;     /* power of two */
    int32_t *slots;   /* best entry of a key, or -1 */
    int32_t used;     /* occupied slots (distinct keys) */
    int32_t np, pcap; /* distinct priorities of the group's entries */
    int32_t *pv, *pc; /* ... ascending, and how many entries have each */
} group_t;

typedef struct {
    int32_t nk, mode, n, ng;  /* n: live entries */
    entry_t *e;
    group_t *g;
    int32_t *order;   /* scan mode: entries by (-prio, handle) */
    int32_t def_aid;  /* -1: no default action */
    int32_t def_nd;
    v_t def_data[64];
    int32_t ecap, hw, free1, gcap; /* slots allocated / ever used; free list head + 1 */
    int64_t builds, ops;           /* wholesale index builds; single-entry writes */
} table_t;

#define TBL_LIVE(t, i) ((i) >= 0 && (i) < (t)->hw && (t)->e[i].live)

static uint64_t key_hash(const v_t *k, const v_t *m, int nk) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < nk; i++) {
        u_t x = (u_t)(k[i] & m[i]);
        uint64_t lo = (uint64_t)x, hi = (uint64_t)(x >> 64);
        h ^= lo; h *= 0xBF58476D1CE4E5B9ull; h ^= h >> 31;
        h ^= hi; h *= 0x94D049BB133111EBull; h ^= h >> 29;
    }
    return h;
}

static void ent_free(entry_t *e) {
    free(e->key); free(e->mask); free(e->kind); free(e->data);
    e->key = e->mask = e->data = NULL; e->kind = NULL;
}

static void tbl_idx_clear(table_t *t) {
    for (int i = 0; i < t->ng; i++) { free(t->g[i].slots); free(t->g[i].pv); free(t->g[i].pc); }
    free(t->g); t->g = NULL; t->ng = 0; t->gcap = 0;
}

static void tbl_free_entries(table_t *t) {
    for (int i = 0; i < t->hw; i++) ent_free(&t->e[i]);
    free(t->e); t->e = NULL;
    tbl_idx_clear(t);
    free(t->order); t->order = NULL;
    t->n = t->hw = t->ecap = t->free1 = 0;
}

/* room for ``need`` slots (entries and, in scan mode, the order) */
static int tbl_reserve(table_t *t, int need) {
    if (need <= t->ecap) return 0;
    int cap = t->ecap ? t->ecap : 16;
    while (cap < need) cap *= 2;
    entry_t *e = realloc(t->e, sizeof(entry_t) * (size_t)cap);
    if (!e) return -1;
    memset(e + t->ecap, 0, sizeof(entry_t) * (size_t)(cap - t->ecap));
    t->e = e;
    if (t->mode == 2) {
        int32_t *o = realloc(t->order, sizeof(int32_t) * (size_t)cap);
        if (!o) return -1;
        t->order = o;
    }
    t->ecap = cap;
    return 0;
}

int tbl_reset(table_t *t, int n) {
    tbl_free_entries(t);
    if (n > 0 && tbl_reserve(t, n) != 0) return -1;
    t->hw = n;
    return 0;
}

static int ent_fill(table_t *t, int i, const uint64_t *key, const uint64_t *mask,
                    const uint8_t *kind, int prio, int handle, int aid, int nd,
                    const uint64_t *data) {
    entry_t *e = &t->e[i];
    int nk = t->nk;
    ent_free(e);
    memset(e, 0, sizeof(entry_t));
    if (nd < 0) return -1;
    e->key = calloc((size_t)(nk ? nk : 1), sizeof(v_t));
    e->mask = calloc((size_t)(nk ? nk : 1), sizeof(v_t));
    e->kind = calloc((size_t)(nk ? nk : 1), 1);
    e->data = calloc((size_t)(nd ? nd : 1), sizeof(v_t));
    if (!e->key || !e->mask || !e->kind || !e->data) { ent_free(e); return -1; }
    for (int k = 0; k < nk; k++) {
        e->key[k] = mkv(key[2 * k], key[2 * k + 1]);
        e->mask[k] = mkv(mask[2 * k], mask[2 * k + 1]);
        e->kind[k] = kind ? kind[k] : 0;
    }
    for (int k = 0; k < nd; k++) e->data[k] = mkv(data[2 * k], data[2 * k + 1]);
    e->prio = prio; e->handle = handle; e->aid = aid; e->nd = nd;
    e->nxt = -1; e->live = 1;
    return 0;
}

/* key/mask: 2 uint64 words per value (lo, hi); kind: NULL or nk bytes (wholesale path:
 * slots 0..n-1 of ``tbl_reset``, indexed by ``tbl_build``) */
int tbl_set_entry(table_t *t, int i, const uint64_t *key, const uint64_t *mask,
                  const uint8_t *kind, int prio, int handle, int aid, int nd,
                  const uint64_t *data) {
    if (i < 0 || i >= t->hw) return -1;
    return ent_fill(t, i, key, mask, kind, prio, handle, aid, nd, data);
}

int tbl_entry_ref(table_t *t, int i, int kind, int64_t ref) {
    if (!TBL_LIVE(t, i)) return -1;
    t->e[i].mkind = kind; t->e[i].ref = ref;
    return 0;
}

/* -- action profiles: members (handle -> action, data) and groups (handle -> member slots),
 * both sorted by handle */
typedef struct {
    int32_t nm, ng;
    int64_t *mh; int32_t *maid, *mnd; v_t **mdata;
    int64_t *gh; int32_t *gn; int64_t **gslots;
} prof_t;

static void prof_free(prof_t *p) {
    for (int i = 0; i < p->nm; i++) free(p->mdata[i]);
    for (int i = 0; i < p->ng; i++) free(p->gslots[i]);
    free(p->mh); free(p->maid); free(p->mnd); free(p->mdata);
    free(p->gh); free(p->gn); free(p->gslots);
    memset(p, 0, sizeof(*p));
}
int prof_reset(prof_t *p, int nm, int ng) {
    prof_free(p);
    size_t m = (size_t)(nm ? nm : 1), g = (size_t)(ng ? ng : 1);
    p->mh = calloc(m, 8); p->maid = calloc(m, 4); p->mnd = calloc(m, 4); p->mdata = calloc(m, sizeof(v_t *));
    p->gh = calloc(g, 8); p->gn = calloc(g, 4); p->gslots = calloc(g, sizeof(int64_t *));
    if (!p->mh || !p->maid || !p->mnd || !p->mdata || !p->gh || !p->gn || !p->gslots) return -1;
    p->nm = nm; p->ng = ng;
    return 0;
}
int prof_member(prof_t *p, int i, int64_t handle, int aid, int nd, const uint64_t *data) {
    if (i < 0 || i >= p->nm || nd < 0 || nd > 64) return -1;
    p->mh[i] = handle; p->maid[i] = aid; p->mnd[i] = nd;
    p->mdata[i] = calloc((size_t)(nd ? nd : 1), sizeof(v_t));
    if (!p->mdata[i]) return -1;
    for (int k = 0; k < nd; k++) p->mdata[i][k] = mkv(data[2 * k], data[2 * k + 1]);
    return 0;
}
int prof_group(prof_t *p, int i, int64_t handle, int n, const int64_t *slots) {
    if (i < 0 || i >= p->ng || n < 0) return -1;
    p->gh[i] = handle; p->gn[i] = n;
    p->gslots[i] = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!p->gslots[i]) return -1;
    memcpy(p->gslots[i], slots, sizeof(int64_t) * (size_t)n);
    return 0;
}
static inline int find64(const int64_t *a, int n, int64_t k) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (a[mid] == k) return mid;
        if (a[mid] < k) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

/* an entry's direct meter: n rates (n = 0: unconfigured) with their token state */
int tbl_entry_meter(table_t *t, int i, int32_t *n, double *rates, int64_t *bursts,
                    int64_t *tokens, int64_t *last, int32_t *colors, int write) {
    if (!TBL_LIVE(t, i)) return -1;
    meter_t *m = &t->e[i].meter;
    if (write) {
        if (*n < 0 || *n > 4) return -1;
        m->configured = *n > 0; m->n = *n;
        for (int k = 0; k < *n; k++) {
            m->r[k].rate = rates[k]; m->r[k].burst = bursts[k]; m->r[k].tokens = tokens[k];
            m->r[k].last = last[k]; m->r[k].color = colors[k];
        }
    } else {
        *n = m->configured ? m->n : 0;
        for (int k = 0; k < m->n && k < 4; k++) {
            rates[k] = m->r[k].rate; bursts[k] = m->r[k].burst; tokens[k] = m->r[k].tokens;
            last[k] = m->r[k].last; colors[k] = m->r[k].color;
        }
    }
    return 0;
}

/* per-entry state (direct counter deltas, idle timeout); clear: zero the deltas after reading */
int tbl_entry_state(table_t *t, int i, uint64_t *hits, double *last_hit, int32_t *notified,
                    int write) {
    if (!TBL_LIVE(t, i)) return -1;
    entry_t *e = &t->e[i];
    if (write) { e->hp = hits[0]; e->hb = hits[1]; e->last_hit = *last_hit; e->notified = *notified; }
    else { hits[0] = e->hp; hits[1] = e->hb; *last_hit = e->last_hit; *notified = e->notified; }
    return 0;
}

int tbl_set_default(table_t *t, int aid, int nd, const uint64_t *data) {
    if (nd > 64) return -1;
    t->def_aid = aid;
    t->def_nd = nd;
    for (int k = 0; k < nd; k++) t->def_data[k] = mkv(data[2 * k], data[2 * k + 1]);
    return 0;
}

static int better(const entry_t *a, const entry_t *b) { /* a wins over b */
    return a->prio > b->prio || (a->prio == b->prio && a->handle < b->handle);
}

static int scan_cmp(const void *x, const void *y, void *base) {
    const entry_t *e = base;
    const entry_t *a = &e[*(const int32_t *)x], *b = &e[*(const int32_t *)y];
    if (better(a, b)) return -1;
    if (better(b, a)) return 1;
    return 0;
}
static int group_cmp(const void *x, const void *y) {
    const group_t *a = x, *b = y;
    return (a->top < b->top) - (a->top > b->top);
}

/* -- the index, one entry at a time ------------------------------------------------------ */
static int grp_find(const table_t *t, const v_t *mask) {
    size_t sz = sizeof(v_t) * (size_t)t->nk;
    for (int j = 0; j < t->ng; j++) if (!memcmp(t->g[j].mask, mask, sz)) return j;
    return -1;
}

static int grp_new(table_t *t, const v_t *mask) { /* appended; the caller places it */
    if (t->ng == t->gcap) {
        int cap = t->gcap ? 2 * t->gcap : 4;
        group_t *g = realloc(t->g, sizeof(group_t) * (size_t)cap);
        if (!g) return -1;
        t->g = g; t->gcap = cap;
    }
    group_t *gr = &t->g[t->ng];
    memset(gr, 0, sizeof(group_t));
    memcpy(gr->mask, mask, sizeof(v_t) * (size_t)t->nk);
    gr->cap = 4;
    gr->slots = malloc(sizeof(int32_t) * 4);
    if (!gr->slots) return -1;
    for (int s = 0; s < 4; s++) gr->slots[s] = -1;
    return t->ng++;
}

static void grp_drop(table_t *t, int j) {
    group_t *gr = &t->g[j];
    free(gr->slots); free(gr->pv); free(gr->pc);
    memmove(gr, gr + 1, sizeof(group_t) * (size_t)(t->ng - j - 1));
    t->ng--;
}

/* keep groups sorted by decreasing best priority after group j's changed */
static void grp_place(table_t *t, int j) {
    group_t tmp = t->g[j];
    int k = j;
    while (k > 0 && t->g[k - 1].top < tmp.top) { t->g[k] = t->g[k - 1]; k--; }
    while (k + 1 < t->ng && t->g[k + 1].top > tmp.top) { t->g[k] = t->g[k + 1]; k++; }
    t->g[k] = tmp;
}

/* count one more (d = 1) or one fewer (d = -1) entry of priority p; updates top */
static int grp_prio(group_t *gr, int32_t p, int d) {
    int lo = 0, hi = gr->np;
    while (lo < hi) { int mid = (lo + hi) / 2; if (gr->pv[mid] < p) lo = mid + 1; else hi = mid; }
    if (lo < gr->np && gr->pv[lo] == p) {
        gr->pc[lo] += d;
        if (gr->pc[lo] == 0) {
            memmove(gr->pv + lo, gr->pv + lo + 1, sizeof(int32_t) * (size_t)(gr->np - lo - 1));
            memmove(gr->pc + lo, gr->pc + lo + 1, sizeof(int32_t) * (size_t)(gr->np - lo - 1));
            gr->np--;
        }
    } else if (d > 0) {
        if (gr->np == gr->pcap) {
            int cap = gr->pcap ? 2 * gr->pcap : 4;
            int32_t *pv = realloc(gr->pv, sizeof(int32_t) * (size_t)cap);
            if (!pv) return -1;
            gr->pv = pv;
            int32_t *pc = realloc(gr->pc, sizeof(int32_t) * (size_t)cap);
            if (!pc) return -1;
            gr->pc = pc; gr->pcap = cap;
        }
        memmove(gr->pv + lo + 1, gr->pv + lo, sizeof(int32_t) * (size_t)(gr->np - lo));
        memmove(gr->pc + lo + 1, gr->pc + lo, sizeof(int32_t) * (size_t)(gr->np - lo));
        gr->pv[lo] = p; gr->pc[lo] = 1; gr->np++;
    }
    if (gr->np) gr->top = gr->pv[gr->np - 1];
    return 0;
}

static inline int same_key(const entry_t *x, const v_t *key, const v_t *m, int nk) {
    for (int k = 0; k < nk; k++) if (((x->key[k] ^ key[k]) & m[k]) != 0) return 0;
    return 1;
}

static int grp_rehash(table_t *t, group_t *gr, uint32_t cap) {
    int32_t *ns = malloc(sizeof(int32_t) * cap);
    if (!ns) return -1;
    for (uint32_t s = 0; s < cap; s++) ns[s] = -1;
    for (uint32_t s = 0; s < gr->cap; s++) {
        int32_t o = gr->slots[s];
        if (o < 0) continue;
        uint32_t p = (uint32_t)t->e[o].h & (cap - 1);
        while (ns[p] >= 0) p = (p + 1) & (cap - 1);
        ns[p] = o;
    }
    free(gr->slots);
    gr->slots = ns; gr->cap = cap;
    return 0;
}

static int grp_put(table_t *t, group_t *gr, int i) {
    int nk = t->nk;
    entry_t *e = &t->e[i];
    if ((uint32_t)(gr->used + 1) * 2 > gr->cap && grp_rehash(t, gr, gr->cap * 2) != 0) return -1;
    e->h = key_hash(e->key, gr->mask, nk);
    uint32_t s = (uint32_t)e->h & (gr->cap - 1);
    for (;;) {
        int32_t o = gr->slots[s];
        if (o < 0) { gr->slots[s] = i; e->nxt = -1; gr->used++; return 0; }
        if (same_key(&t->e[o], e->key, gr->mask, nk)) {
            if (better(e, &t->e[o])) { e->nxt = o; gr->slots[s] = i; return 0; }
            int32_t p = o;
            while (t->e[p].nxt >= 0 && better(&t->e[t->e[p].nxt], e)) p = t->e[p].nxt;
            e->nxt = t->e[p].nxt; t->e[p].nxt = i;
            return 0;
        }
        s = (s + 1) & (gr->cap - 1);
    }
}

static void grp_del(table_t *t, group_t *gr, int i) {
    entry_t *e = &t->e[i];
    uint32_t m = gr->cap - 1, s = (uint32_t)e->h & m;
    int32_t o;
    for (;;) {
        o = gr->slots[s];
        if (o < 0) return; /* not indexed: never happens */
        if (same_key(&t->e[o], e->key, gr->mask, t->nk)) break;
        s = (s + 1) & m;
    }
    if (o != i) { /* unlink from the chain */
        while (t->e[o].nxt >= 0 && t->e[o].nxt != i) o = t->e[o].nxt;
        if (t->e[o].nxt == i) t->e[o].nxt = e->nxt;
        return;
    }
    if (e->nxt >= 0) { gr->slots[s] = e->nxt; return; }
    uint32_t j = s; /* backward-shift deletion (linear probing, no tombstones) */
    for (;;) {
        j = (j + 1) & m;
        int32_t x = gr->slots[j];
        if (x < 0) break;
        uint32_t k = (uint32_t)t->e[x].h & m;
        if ((j > s && (k <= s || k > j)) || (j < s && k <= s && k > j)) { gr->slots[s] = x; s = j; }
    }
    gr->slots[s] = -1;
    gr->used--;
}

/* scan mode: where ``e`` goes in the priority order (after every entry better than it) */
static int order_pos(const table_t *t, const entry_t *e) {
    int lo = 0, hi = t->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (better(&t->e[t->order[mid]], e)) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* index live entry i; ``bulk``: leave the group order to the caller */
static int idx_add(table_t *t, int i, int bulk) {
    entry_t *e = &t->e[i];
    if (t->mode == 2) {
        int lo = order_pos(t, e);
        memmove(t->order + lo + 1, t->order + lo, sizeof(int32_t) * (size_t)(t->n - lo));
        t->order[lo] = i;
    } else if (t->mode == 1) {
        int j = grp_find(t, e->mask);
        if (j < 0 && (j = grp_new(t, e->mask)) < 0) return -1;
        group_t *gr = &t->g[j];
        int32_t top = gr->np ? gr->top : INT32_MIN;
        if (grp_prio(gr, e->prio, 1) != 0 || grp_put(t, gr, i) != 0) return -1;
        if (!bulk && gr->top != top) grp_place(t, j);
    }
    t->n++;
    return 0;
}

static void idx_del(table_t *t, int i) {
    entry_t *e = &t->e[i];
    if (t->mode == 2) {
        int lo = order_pos(t, e);
        if (lo < t->n && t->order[lo] == i)
            memmove(t->order + lo, t->order + lo + 1, sizeof(int32_t) * (size_t)(t->n - lo - 1));
    } else if (t->mode == 1) {
        int j = grp_find(t, e->mask);
        if (j >= 0) {
            group_t *gr = &t->g[j];
            int32_t top = gr->top;
            grp_del(t, gr, i);
            grp_prio(gr, e->prio, -1);
            if (!gr->np) grp_drop(t, j);
            else if (gr->top != top) grp_place(t, j);
        }
    }
    t->n--;
}

/* index every live entry from scratch */
int tbl_build(table_t *t) {
    tbl_idx_clear(t);
    t->n = 0;
    t->builds++;
    if (t->mode == 2) {
        for (int i = 0; i < t->hw; i++) if (t->e[i].live) t->order[t->n++] = i;
        if (t->n > 1) qsort_r(t->order, (size_t)t->n, sizeof(int32_t), scan_cmp, t->e);
        return 0;
    }
    for (int i = 0; i < t->hw; i++)
        if (t->e[i].live && idx_add(t, i, 1) != 0) return -1;
    if (t->mode == 1 && t->ng > 1) qsort(t->g, (size_t)t->ng, sizeof(group_t), group_cmp);
    return 0;
}

/* all entries at once: key/mask 2 words per value (n * nk), kind n * nk bytes, data the
 * entries' action data one after the other (nd[i] values each) */
int tbl_load(table_t *t, int n, const uint64_t *key, const uint64_t *mask, const uint8_t *kind,
             const int32_t *prio, const int32_t *handle, const int32_t *aid, const int32_t *nd,
             const uint64_t *data) {
    if (tbl_reset(t, n) != 0) return -1;
    int nk = t->nk;
    size_t d = 0;
    for (int i = 0; i < n; i++) {
        size_t k = (size_t)i * (size_t)nk;
        if (tbl_set_entry(t, i, key + 2 * k, mask + 2 * k, kind + k, prio[i], handle[i], aid[i],
                          nd[i], data + 2 * d) != 0) return -1;
        d += (size_t)nd[i];
    }
    return tbl_build(t);
}

/* -- single-entry writes: only the entry's place in the index changes -------------------- */
static int slot_alloc(table_t *t) {
    if (t->free1) {
        int s = t->free1 - 1;
        t->free1 = t->e[s].nxt + 1;
        return s;
    }
    if (tbl_reserve(t, t->hw + 1) != 0) return -1;
    return t->hw++;
}

static void slot_free(table_t *t, int s) {
    ent_free(&t->e[s]);
    memset(&t->e[s], 0, sizeof(entry_t));
    t->e[s].nxt = t->free1 - 1;
    t->free1 = s + 1;
}

/* n entries laid out as for ``tbl_load``; their slots go to ``slots`` (-1 when not placed) */
int tbl_insert(table_t *t, int n, const uint64_t *key, const uint64_t *mask,
               const uint8_t *kind, const int32_t *prio, const int32_t *handle,
               const int32_t *aid, const int32_t *nd, const uint64_t *data, int32_t *slots) {
    int nk = t->nk;
    size_t d = 0;
    for (int i = 0; i < n; i++) slots[i] = -1;
    for (int i = 0; i < n; i++) {
        size_t k = (size_t)i * (size_t)nk;
        int s = slot_alloc(t);
        if (s < 0) return -1;
        if (ent_fill(t, s, key + 2 * k, mask + 2 * k, kind + k, prio[i], handle[i], aid[i],
                     nd[i], data + 2 * d) != 0) { slot_free(t, s); return -1; }
        d += (size_t)nd[i];
        if (idx_add(t, s, 0) != 0) return -1; /* index half-updated: the caller rebuilds */
        slots[i] = s;
        t->ops++;
    }
    return 0;
}

int tbl_delete(table_t *t, int n, const int32_t *slots) {
    for (int i = 0; i < n; i++) {
        int s = slots[i];
        if (!TBL_LIVE(t, s)) return -1;
        idx_del(t, s);
        slot_free(t, s);
        t->ops++;
    }
    return 0;
}

/* new action (or member / group reference, set after with ``tbl_entry_ref``); the entry's
 * hits, idle stamp and meter stay */
int tbl_modify(table_t *t, int s, int aid, int nd, const uint64_t *data) {
    if (!TBL_LIVE(t, s) || nd < 0) return -1;
    entry_t *e = &t->e[s];
    if (nd != e->nd) {
        v_t *nd_ = calloc((size_t)(nd ? nd : 1), sizeof(v_t));
        if (!nd_) return -1;
        free(e->data);
        e->data = nd_;
    }
    for (int k = 0; k < nd; k++) e->data[k] = mkv(data[2 * k], data[2 * k + 1]);
    e->aid = aid; e->nd = nd; e->mkind = 0; e->ref = 0;
    t->ops++;
    return 0;
}

/* builds, single-entry writes, live entries, mask groups */
int tbl_stats(const table_t *t, int64_t *out) {
    out[0] = t->builds; out[1] = t->ops; out[2] = t->n; out[3] = t->ng;
    return 0;
}

static inline const entry_t *tbl_lookup(const table_t *t, const v_t *key) {
    int nk = t->nk;
    if (t->mode == 1) {
        const entry_t *best = NULL;
        for (int j = 0; j < t->ng; j++) {
            const group_t *gr = &t->g[j];
            if (best && gr->top < best->prio) break;
            uint32_t s = (uint32_t)key_hash(key, gr->mask, nk) & (gr->cap - 1);
            for (;;) {
                int32_t o = gr->slots[s];
                if (o < 0) break;
                const entry_t *x = &t->e[o];
                int same = 1;
                for (int k = 0; k < nk; k++) if (((x->key[k] ^ key[k]) & gr->mask[k]) != 0) { same = 0; break; }
                if (same) { if (!best || better(x, best)) best = x; break; }
                s = (s + 1) & (gr->cap - 1);
            }
        }
        return best;
    }
    if (t->mode == 2) {
        for (int i = 0; i < t->n; i++) {
            const entry_t *x = &t->e[t->order[i]];
            int ok = 1;
            for (int k = 0; k < nk && ok; k++) {
                if (x->kind[k]) ok = (u_t)key[k] >= (u_t)x->key[k] && (u_t)key[k] <= (u_t)x->mask[k];
                else ok = (key[k] & x->mask[k]) == x->key[k];
            }
            if (ok) return x;
        }
    }
    return NULL;
}

int tbl_count(const table_t *t) { return t->n; }
