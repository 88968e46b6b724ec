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

