/* cpn-p4 native engine: fixed runtime shared by every generated program.
 * Values are __int128 (the Python engine's unbounded ints, truncated on store); tables are
 * tuple-space hash tables (exact, lpm, ternary, optional) or priority-ordered scans (range). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 v_t;
typedef unsigned __int128 u_t;

#define MAXK 16

static inline v_t mkv(uint64_t lo, uint64_t hi) { return (v_t)(((u_t)hi << 64) | (u_t)lo); }

static inline v_t shr_(v_t a, v_t b);
static inline v_t shl_(v_t a, v_t b) {
    if (b < 0) return shr_(a, -b);
    if (b >= 128) return 0;
    return (v_t)((u_t)a << (int)b);
}
static inline v_t shr_(v_t a, v_t b) {
    if (b < 0) return shl_(a, -b);
    if (b >= 127) return a < 0 ? -1 : 0;
    return a >> (int)b;
}
static inline v_t ushr_(v_t a, v_t b) {
    if (b < 0) return shl_(a, -b);
    if (b >= 128) return 0;
    return (v_t)((u_t)a >> (int)b);
}
static inline v_t div_(v_t a, v_t b) { return b == 0 ? 0 : a / b; }
static inline v_t mod_(v_t a, v_t b) { return b == 0 ? 0 : a % b; }
static inline v_t sx_(v_t v, int w) {
    if (w <= 0) return 0;
    if (w >= 128) return v;
    u_t m = ((u_t)1 << w) - 1;
    u_t x = (u_t)v & m;
    if (x >> (w - 1)) return (v_t)(x | ~m);
    return (v_t)x;
}
static inline v_t usat_(v_t a, int w) {
    v_t hi = (w >= 127) ? (v_t)(~(u_t)0 >> 1) : (((v_t)1 << w) - 1);
    return a < 0 ? 0 : (a > hi ? hi : a);
}
static inline v_t ssat_(v_t a, int w) {
    v_t hi = ((v_t)1 << (w - 1)) - 1, lo = -((v_t)1 << (w - 1));
    return a < lo ? lo : (a > hi ? hi : a);
}

/* big-endian bit access; the reader never goes past ``len`` (caller checks) */
static inline u_t get_bits(const uint8_t *p, int bitoff, int width) {
    int first = bitoff >> 3, last = (bitoff + width - 1) >> 3;
    int lead = bitoff & 7;
    int nb = last - first + 1;
    if (nb <= 16) {
        u_t x = 0;
        for (int i = 0; i < nb; i++) x = (x << 8) | p[first + i];
        int tail = nb * 8 - lead - width;
        x >>= tail;
        return width >= 128 ? x : (x & (((u_t)1 << width) - 1));
    }
    u_t x = 0; /* 17 bytes: a misaligned 128-bit field */
    for (int i = 0; i < width; i++) {
        int b = bitoff + i;
        x = (x << 1) | ((p[b >> 3] >> (7 - (b & 7))) & 1);
    }
    return x;
}

static inline void put_bits(uint8_t *p, int bitoff, int width, u_t v) {
    if (!(bitoff & 7) && !(width & 7)) {
        int nb = width >> 3, first = bitoff >> 3;
        for (int i = nb - 1; i >= 0; i--) { p[first + i] = (uint8_t)v; v >>= 8; }
        return;
    }
    for (int i = width - 1; i >= 0; i--) {
        int b = bitoff + i;
        uint8_t m = (uint8_t)(1u << (7 - (b & 7)));
        if (v & 1) p[b >> 3] |= m; else p[b >> 3] &= (uint8_t)~m;
        v >>= 1;
    }
}

/* copy ``nbits`` bits (a multiple of 8 in practice) from src at bit ``soff`` to dst at ``doff`` */
static inline void copy_bits(uint8_t *dst, int doff, const uint8_t *src, int soff, int nbits) {
    if (!(doff & 7) && !(soff & 7) && !(nbits & 7)) {
        memcpy(dst + (doff >> 3), src + (soff >> 3), (size_t)(nbits >> 3));
        return;
    }
    for (int i = 0; i < nbits; i++) {
        int sb = soff + i, db = doff + i;
        uint8_t m = (uint8_t)(1u << (7 - (db & 7)));
        if ((src[sb >> 3] >> (7 - (sb & 7))) & 1) dst[db >> 3] |= m; else dst[db >> 3] &= (uint8_t)~m;
    }
}

/* bit writer for calculations */
typedef struct { uint8_t *buf; int cap; int nbits; } bw_t;
static inline void bw_put(bw_t *w, u_t v, int width) {
    if (width <= 0) return;
    if (w->nbits + width > w->cap * 8) return; /* sized by the generator; never hit */
    if (width < 128) v &= (((u_t)1 << width) - 1);
    put_bits(w->buf, w->nbits, width, v);
    w->nbits += width;
}

static inline void bw_put_bits(bw_t *w, const uint8_t *src, int nbits) {
    if (nbits <= 0 || w->nbits + nbits > w->cap * 8) return;
    copy_bits(w->buf, w->nbits, src, 0, nbits);
    w->nbits += nbits;
}

/* -- hashes ------------------------------------------------------------------------------- */
static uint32_t crc32_tab[256];
static uint16_t crc16_tab[256];
static uint16_t ccitt_tab[256];
static int hash_ready;
static void hash_init(void) {
    if (hash_ready) return;
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t r = b;
        for (int i = 0; i < 8; i++) r = (r & 1) ? (r >> 1) ^ 0xEDB88320u : r >> 1;
        crc32_tab[b] = r;
        uint16_t s = (uint16_t)b;
        for (int i = 0; i < 8; i++) s = (s & 1) ? (uint16_t)((s >> 1) ^ 0xA001) : (uint16_t)(s >> 1);
        crc16_tab[b] = s;
        uint16_t c = (uint16_t)(b << 8);
        for (int i = 0; i < 8; i++) c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
        ccitt_tab[b] = c;
    }
    hash_ready = 1;
}
static uint64_t h_crc32(const uint8_t *a, int na, const uint8_t *b, int nb) {
    uint32_t r = 0xFFFFFFFFu;
    for (int i = 0; i < na; i++) r = crc32_tab[(r ^ a[i]) & 0xFF] ^ (r >> 8);
    for (int i = 0; i < nb; i++) r = crc32_tab[(r ^ b[i]) & 0xFF] ^ (r >> 8);
    return r ^ 0xFFFFFFFFu;
}
static uint64_t h_crc16(const uint8_t *a, int na, const uint8_t *b, int nb) {
    uint16_t r = 0;
    for (int i = 0; i < na; i++) r = (uint16_t)(crc16_tab[(r ^ a[i]) & 0xFF] ^ (r >> 8));
    for (int i = 0; i < nb; i++) r = (uint16_t)(crc16_tab[(r ^ b[i]) & 0xFF] ^ (r >> 8));
    return r;
}
static uint64_t h_ccitt(const uint8_t *a, int na, const uint8_t *b, int nb) {
    uint16_t r = 0xFFFF;
    for (int i = 0; i < na; i++) r = (uint16_t)(ccitt_tab[((r >> 8) ^ a[i]) & 0xFF] ^ (r << 8));
    for (int i = 0; i < nb; i++) r = (uint16_t)(ccitt_tab[((r >> 8) ^ b[i]) & 0xFF] ^ (r << 8));
    return r;
}
static uint64_t h_csum16(const uint8_t *a, int na, const uint8_t *b, int nb) {
    uint64_t s = 0;
    int pos = 0; /* byte position in the concatenation: even = high byte */
    for (int i = 0; i < na; i++, pos++) s += (pos & 1) ? a[i] : ((uint64_t)a[i] << 8);
    for (int i = 0; i < nb; i++, pos++) s += (pos & 1) ? b[i] : ((uint64_t)b[i] << 8);
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return (~s) & 0xFFFF;
}
static uint64_t h_identity(const uint8_t *a, int na, const uint8_t *b, int nb) {
    uint64_t x = 0;
    int n = 0;
    for (int i = 0; i < na && n < 8; i++, n++) x = (x << 8) | a[i];
    for (int i = 0; i < nb && n < 8; i++, n++) x = (x << 8) | b[i];
    return x;
}

static inline uint64_t h_xor_(const uint8_t *a, int na, const uint8_t *b, int nb, int w) {
    uint64_t out = 0;
    for (int k = 0; k < na + nb; k++) {
        uint64_t byte = k < na ? a[k] : b[k - na];
        out ^= byte << (8 * (w - 1 - k % w));
    }
    return out;
}
static uint64_t h_xor16(const uint8_t *a, int na, const uint8_t *b, int nb) { return h_xor_(a, na, b, nb, 2); }
static uint64_t h_xor32(const uint8_t *a, int na, const uint8_t *b, int nb) { return h_xor_(a, na, b, nb, 4); }

/* -- meters (BMv2 two-rate three-color markers, as stateful.Meter) ------------------------ */
typedef struct { double rate; int64_t burst, tokens, last; int32_t color, pad; } mrate_t;
typedef struct { int32_t configured, n; mrate_t r[4]; } meter_t;

static inline int meter_exec(meter_t *m, double now, int64_t inp) {
    if (!m->configured) return 0;
    int64_t micros = (int64_t)now;
    for (int i = 0; i < m->n; i++) {
        mrate_t *r = &m->r[i];
        int64_t since = (int64_t)((double)micros * r->rate);
        int64_t nt = since - r->last;
        if (nt < 0) nt = 0;
        r->last = since;
        int64_t tokens = r->tokens + nt;
        if (tokens > r->burst) tokens = r->burst;
        if (tokens < inp) { r->tokens = tokens; return r->color; }
        r->tokens = tokens - inp;
    }
    return 0;
}

static int meter_config(meter_t *m, int n, const double *rates, const int64_t *bursts,
                        const int32_t *colors) {
    if (n < 0 || n > 4) return -1;
    m->configured = n > 0;
    m->n = n;
    for (int i = 0; i < n; i++) {
        m->r[i].rate = rates[i]; m->r[i].burst = bursts[i]; m->r[i].tokens = bursts[i];
        m->r[i].last = 0; m->r[i].color = colors[i];
    }
    return 0;
}

/* -- parser value sets ------------------------------------------------------------------- */
typedef struct { int32_t n; u_t *vals; } vset_t;
static inline int vset_has(const vset_t *s, u_t k, u_t m) {
    for (int i = 0; i < s->n; i++) if ((s->vals[i] & m) == (k & m)) return 1;
    return 0;
}
static int vset_load(vset_t *s, int n, const uint64_t *v) {
    u_t *a = n ? malloc(sizeof(u_t) * (size_t)n) : NULL;
    if (n && !a) return -1;
    for (int i = 0; i < n; i++) a[i] = ((u_t)v[2 * i + 1] << 64) | v[2 * i];
    free(s->vals);
    s->vals = a;
    s->n = n;
    return 0;
}

/* -- tables --------------------------------------------------------------------------------
 * Entries are set from Python (the Python Table stays the source of truth for the control
 * API); ``tbl_build`` indexes them.  Modes: 0 empty, 1 hashed (tuple space), 2 scan. */
typedef struct {
    int32_t aid, handle, prio, nd;
    uint64_t hp, hb;       /* direct counter: hits since the last fold into Python */
    double last_hit;       /* idle timeout */
    int32_t notified, pad;
    meter_t meter;         /* direct meter */
    int32_t mkind;         /* indirect tables: 1 member, 2 group (ref = its handle) */
    int64_t ref;
    v_t *key;   /* nk values (masked) or lo bounds */
    v_t *mask;  /* nk masks, or hi bounds for range fields */
    uint8_t *kind; /* scan mode: 0 value/mask, 1 range */
    v_t *data;
} entry_t;

typedef struct {
    v_t mask[MAXK];
    int32_t top;      /* best priority in the group */
    uint32_t cap;     /* power of two */
    int32_t *slots;   /* entry index or -1 */
} group_t;

typedef struct {
    int32_t nk, mode, n, ng;
    entry_t *e;
    group_t *g;
    int32_t *order;   /* scan mode: entries by (-prio, handle) */
    int32_t def_aid;  /* -1: no default action */
    int32_t def_nd;
    v_t def_data[64];
} table_t;

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

static void tbl_free_entries(table_t *t) {
    for (int i = 0; i < t->n; i++) {
        free(t->e[i].key); free(t->e[i].mask); free(t->e[i].kind); free(t->e[i].data);
    }
    free(t->e); t->e = NULL;
    for (int i = 0; i < t->ng; i++) free(t->g[i].slots);
    free(t->g); t->g = NULL; t->ng = 0;
    free(t->order); t->order = NULL;
    t->n = 0;
}

int tbl_reset(table_t *t, int n) {
    tbl_free_entries(t);
    if (n > 0) {
        t->e = calloc((size_t)n, sizeof(entry_t));
        if (!t->e) return -1;
    }
    t->n = n;
    return 0;
}

/* key/mask: 2 uint64 words per value (lo, hi); kind: NULL or nk bytes */
int tbl_set_entry(table_t *t, int i, const uint64_t *key, const uint64_t *mask,
                  const uint8_t *kind, int prio, int handle, int aid, int nd,
                  const uint64_t *data) {
    if (i < 0 || i >= t->n) return -1;
    entry_t *e = &t->e[i];
    int nk = t->nk;
    e->key = calloc((size_t)(nk ? nk : 1), sizeof(v_t));
    e->mask = calloc((size_t)(nk ? nk : 1), sizeof(v_t));
    e->kind = calloc((size_t)(nk ? nk : 1), 1);
    e->data = calloc((size_t)(nd ? nd : 1), sizeof(v_t));
    if (!e->key || !e->mask || !e->kind || !e->data) return -1;
    for (int k = 0; k < nk; k++) {
        e->key[k] = mkv(key[2 * k], key[2 * k + 1]);
        e->mask[k] = mkv(mask[2 * k], mask[2 * k + 1]);
        e->kind[k] = kind ? kind[k] : 0;
    }
    for (int k = 0; k < nd; k++) e->data[k] = mkv(data[2 * k], data[2 * k + 1]);
    e->prio = prio; e->handle = handle; e->aid = aid; e->nd = nd;
    e->hp = e->hb = 0; e->last_hit = 0; e->notified = 0;
    memset(&e->meter, 0, sizeof(meter_t));
    e->mkind = 0; e->ref = 0;
    return 0;
}

int tbl_entry_ref(table_t *t, int i, int kind, int64_t ref) {
    if (i < 0 || i >= t->n) return -1;
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
    if (i < 0 || i >= t->n) return -1;
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
    if (i < 0 || i >= t->n) return -1;
    entry_t *e = &t->e[i];
    if (write) { e->hp = hits[0]; e->hb = hits[1]; e->last_hit = *last_hit; e->notified = *notified; }
    else { hits[0] = e->hp; hits[1] = e->hb; *last_hit = e->last_hit; *notified = e->notified; }
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

int tbl_build(table_t *t) {
    int nk = t->nk;
    if (t->mode == 2) {
        t->order = malloc(sizeof(int32_t) * (size_t)(t->n ? t->n : 1));
        if (!t->order) return -1;
        for (int i = 0; i < t->n; i++) t->order[i] = i;
        qsort_r(t->order, (size_t)t->n, sizeof(int32_t), scan_cmp, t->e);
        return 0;
    }
    if (t->mode != 1) return 0;
    /* distinct mask tuples */
    group_t *g = calloc((size_t)(t->n ? t->n : 1), sizeof(group_t));
    int32_t *gi = malloc(sizeof(int32_t) * (size_t)(t->n ? t->n : 1));
    int32_t *cnt = calloc((size_t)(t->n ? t->n : 1), sizeof(int32_t));
    if (!g || !gi || !cnt) { free(g); free(gi); free(cnt); return -1; }
    int ng = 0;
    for (int i = 0; i < t->n; i++) {
        int found = -1;
        for (int j = 0; j < ng; j++) {
            if (!memcmp(g[j].mask, t->e[i].mask, sizeof(v_t) * (size_t)nk)) { found = j; break; }
        }
        if (found < 0) {
            found = ng++;
            memcpy(g[found].mask, t->e[i].mask, sizeof(v_t) * (size_t)nk);
            g[found].top = t->e[i].prio;
        }
        if (t->e[i].prio > g[found].top) g[found].top = t->e[i].prio;
        gi[i] = found;
        cnt[found]++;
    }
    for (int j = 0; j < ng; j++) {
        uint32_t cap = 4;
        while (cap < (uint32_t)cnt[j] * 2) cap <<= 1;
        g[j].cap = cap;
        g[j].slots = malloc(sizeof(int32_t) * cap);
        if (!g[j].slots) return -1;
        for (uint32_t s = 0; s < cap; s++) g[j].slots[s] = -1;
    }
    for (int i = 0; i < t->n; i++) {
        group_t *gr = &g[gi[i]];
        entry_t *e = &t->e[i];
        uint32_t s = (uint32_t)key_hash(e->key, gr->mask, nk) & (gr->cap - 1);
        for (;;) {
            int32_t o = gr->slots[s];
            if (o < 0) { gr->slots[s] = i; break; }
            entry_t *x = &t->e[o];
            int same = 1;
            for (int k = 0; k < nk; k++) if (((x->key[k] ^ e->key[k]) & gr->mask[k]) != 0) { same = 0; break; }
            if (same) { if (better(e, x)) gr->slots[s] = i; break; }
            s = (s + 1) & (gr->cap - 1);
        }
    }
    free(gi); free(cnt);
    qsort(g, (size_t)ng, sizeof(group_t), group_cmp);
    t->g = g;
    t->ng = ng;
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
