"""BMv2 JSON -> one C translation unit (the native engine's generator).

The unit has the program's layout (``F``/``V``/``S`` sizes, header tables), its parser (one
function, states as labels), actions, pipelines (nodes as labels, tables through the runtime's
``tbl_lookup``), checksums, calculations, deparser, field lists, and the exported entry points
``ig_run`` / ``eg_run`` / ``dep_run`` / ``run_batch`` that follow ``datapath.py`` step by step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..program import PKT_INSTANCE_TYPE_NORMAL, STD_FIELDS, Program, hexstr
from .centry import CDEF as ENTRY_CDEF
from .centry import EntryGenMixin
from .cexpr import CExpr, NativeUnsupported, cconst, cmask, copy_field
from .cparser import ParserGenMixin
from .cprims import CPrims
from .tmq_cdef import TM_CDEF, TM_TYPES, TMQ_OUT_MAX

CDEF = ENTRY_CDEF + TM_CDEF

GENERATOR_VERSION = "2"
MAX_ACTION_STEPS = 1 << 20
CALC_HASHES = {
    "crc32": "h_crc32",
    "crc16": "h_crc16",
    "crcCCITT": "h_ccitt",
    "csum16": "h_csum16",
    "cksum16": "h_csum16",
    "identity": "h_identity",
    "xor16": "h_xor16",
    "xor32": "h_xor32",
    # the *_custom CRCs with their default parameters (the switch offers no way to change them)
    "crc16_custom": "h_crc16",
    "crc32_custom": "h_crc32",
}


class CGen(ParserGenMixin, EntryGenMixin):
    """Generates the C unit for one program."""

    def __init__(self, prog: Program, table_order: list[tuple[str, dict[str, Any]]]):
        self.prog = prog
        self.tables = table_order  # [(pipeline name, table json)] in native index order
        self.tindex = {(p, t["name"]): i for i, (p, t) in enumerate(table_order)}
        objs = {
            "reg": {r["name"]: i for i, r in enumerate(prog.register_arrays)},
            "counter": {c["name"]: i for i, c in enumerate(prog.counter_arrays)},
            "meter": {m["name"]: i for i, m in enumerate(prog.meter_arrays)},
            "calc": {name: i for i, name in enumerate(prog.calculations)},
            "vset": {v["name"]: i for i, v in enumerate(prog.parse_vsets)},
        }
        self.profiles = [ap for pipe in prog.pipelines for ap in pipe.get("action_profiles", [])]
        self.pindex = {ap["name"]: i for i, ap in enumerate(self.profiles)}
        self._check_program()
        self.eg = CExpr(prog, objs)
        self.prims = CPrims(self.eg)
        self.out: list[str] = []
        self.sf = {n: prog.intrinsic(n) for n in STD_FIELDS}

    def w(self, s: str) -> None:
        self.out.append(s)

    # -- refusals ------------------------------------------------------------------------------

    def _check_program(self) -> None:
        prog = self.prog
        for m in prog.meter_arrays:
            if int(m.get("rate_count", 2)) > 4:
                raise NativeUnsupported(f"meter {m['name']}: more than 4 rates")
        for v in prog.parse_vsets:
            if int(v.get("compressed_bitwidth", 0)) > 128:
                raise NativeUnsupported(f"parser value set {v['name']} wider than 128 bits")
        for ll in prog.learn_lists.values():
            for el in ll.get("elements", []):
                hdr = el["value"] if el.get("type") == "header" else el["value"][0]
                hi = prog.header(hdr)
                if hi.vl_field is not None or any(f.width > 128 for f in hi.fields):
                    raise NativeUnsupported("digest of a variable-length / wide header")
        for r in prog.register_arrays:
            if int(r["bitwidth"]) > 128:
                raise NativeUnsupported(f"register {r['name']} wider than 128 bits")
        for calc in prog.calculations.values():
            if calc.get("algo") not in CALC_HASHES:
                raise NativeUnsupported(f"hash algorithm {calc.get('algo')!r}")
        if len(prog.parsers) > 1 or len(prog.deparsers) > 1:
            raise NativeUnsupported("more than one parser or deparser")
        for ap in self.profiles:
            sel = ap.get("selector")
            if sel and sel.get("algo") not in CALC_HASHES:
                raise NativeUnsupported(f"selector hash algorithm {sel.get('algo')!r}")
        for pipe in prog.pipelines:
            for t in pipe.get("tables", []):
                if (
                    t.get("type", "simple") != "simple"
                    and t.get("action_profile") not in self.pindex
                ):
                    raise ConfigError(f"table {t['name']}: unknown action profile")

                if len(t.get("key", [])) > 16:
                    raise NativeUnsupported(f"table {t['name']}: more than 16 key fields")

    # -- whole unit ----------------------------------------------------------------------------

    def generate(self) -> str:
        prog = self.prog
        nf, nh, ns = max(len(prog.fields), 1), max(len(prog.headers), 1), max(len(prog.stacks), 1)
        here = Path(__file__).parent
        self.w((here / "runtime.c").read_text())
        self.w((here / "tables_rt.c").read_text())
        hdrmax = sum(h.nbytes for h in prog.headers)
        self.w(
            f"#define NF {nf}\n#define NH {nh}\n#define NS {ns}\n#define NT {max(len(self.tables), 1)}\n#define HDRMAX {hdrmax}"
        )
        self.w(CDEF.split("ctx_t *ctx_new(void);")[0])
        self.w(
            "typedef struct state { pkt_t p; const uint8_t *data; v_t F[NF]; uint8_t V[NH]; "
            f"int32_t S[NS]; int32_t VLW[{max(len(self.eg.vl), 1)}]; "
            f"uint8_t VLB[{max(self.eg.nvlb, 1)}]; }} state_t;"
        )
        self._gen_ctx()
        self._gen_layout()
        self.w("#define F st->F\n#define V st->V\n#define S st->S\n#define P st->p")
        self._gen_helpers()
        for i, (name, calc) in enumerate(prog.calculations.items()):
            self._gen_calc(f"calc_{i}", name, calc)
        for i, ap in enumerate(self.profiles):
            if ap.get("selector"):
                self._gen_calc(f"sel_{i}", ap["name"], ap["selector"])
        self._gen_action_protos()
        for action in prog.actions.values():
            self._gen_action(action)
        self._gen_parser()
        self._gen_checksums()
        self._gen_deparser()
        pipe_fns = {pipe["name"]: self._gen_pipeline(pipe) for pipe in prog.pipelines}
        ingress = pipe_fns.get("ingress") or (
            pipe_fns[prog.pipelines[0]["name"]] if prog.pipelines else None
        )
        egress = pipe_fns.get("egress") or (
            pipe_fns[prog.pipelines[1]["name"]] if len(prog.pipelines) >= 2 else None
        )
        self._gen_field_lists()
        self._gen_entry(ingress, egress)
        self.w(
            "state_t *st_new(void) { return aligned_alloc(64, (sizeof(state_t) + 63) / 64 * 64); }\n"
            "void st_free(state_t *s) { free(s); }\n"
            "void st_copy(state_t *d, const state_t *s) { memcpy(d, s, sizeof(state_t)); }"
        )
        self._gen_tm()
        return "\n".join(self.out) + "\n"

    def _gen_tm(self) -> None:
        """The native traffic manager (``tm_native.c``; see :mod:`.tmq`)."""
        inst = self.sf["instance_type"]
        setn = f"FF(x)[{inst.index}] = {PKT_INSTANCE_TYPE_NORMAL}" if inst else "(void)(x)"
        self.w(f"#define TMQ_SET_NORMAL(x) do {{ {setn}; }} while (0)")
        self.w(f"#define TMQ_OUT_MAX {TMQ_OUT_MAX}")
        self.w(TM_TYPES)
        self.w(Path(__file__).with_name("tm_native.c").read_text())

    def _gen_layout(self) -> None:
        prog = self.prog
        hf0 = [h.fields[0].index if h.fields else 0 for h in prog.headers] or [0]
        hnf = [len(h.fields) for h in prog.headers] or [0]
        hb = [h.nbytes for h in prog.headers] or [0]
        v0 = [1 if h.metadata else 0 for h in prog.headers] or [0]
        self.w(f"static const int32_t HF0[] = {{{', '.join(map(str, hf0))}}};")
        self.w(f"static const int32_t HNF[] = {{{', '.join(map(str, hnf))}}};")
        self.w(f"static const int32_t HB[] = {{{', '.join(map(str, hb))}}};")
        self.w(f"static const uint8_t V0[] = {{{', '.join(map(str, v0))}}};")
        fw = [f.width for f in prog.fields] or [0]
        fs = [1 if f.signed else 0 for f in prog.fields] or [0]
        self.w(f"static const int16_t FW[] = {{{', '.join(map(str, fw))}}};")
        self.w(f"static const uint8_t FS[] = {{{', '.join(map(str, fs))}}};")
        meta = [
            (h.fields[0].index, h.fields[-1].index + 1)
            for h in prog.headers
            if h.metadata and h.fields
        ]
        self.w("static inline v_t *FF(const state_t *s) { return (v_t *)s->F; }")
        self.w("void reset_metadata(state_t *st) {")
        for a, b in meta:
            self.w(f"    memset(&st->F[{a}], 0, sizeof(v_t) * {b - a});")
            for i in range(a, b):
                if i in self.eg.wide:
                    nb = (prog.fields[i].width + 7) // 8
                    self.w(f"    memset(st->VLB + {self.eg.wide[i]}, 0, {nb});")
        self.w("}")
        for st in prog.stacks:
            hs = ", ".join(map(str, st.headers)) or "0"
            self.w(f"static const int32_t HS_{st.index}[] = {{{hs}}};")
            self.w(
                f"static inline int hsx_{st.index}(v_t i) {{ return (i >= 0 && i < {len(st.headers)}) ? HS_{st.index}[(int)i] : {st.oob}; }}"
            )

    def _gen_helpers(self) -> None:
        self.w(
            """
static inline u_t peek_(const uint8_t *d, int ld, int pos, int off, int width) {
    uint8_t tmp[40];
    int start = pos + off / 8, lead = off % 8, nb = (lead + width + 7) / 8;
    for (int i = 0; i < nb; i++) tmp[i] = (start + i >= 0 && start + i < ld) ? d[start + i] : 0;
    return get_bits(tmp, lead, width);
}
static inline void move_header(state_t *st, int dst, int src) {
    V[dst] = V[src];
    for (int k = 0; k < HNF[dst]; k++) F[HF0[dst] + k] = F[HF0[src] + k];
}
static inline void assign_header(state_t *st, int dst, int src) {
    if (!V[src]) { V[dst] = 0; return; }
    move_header(st, dst, src);
}
static inline void add_header(state_t *st, int h) {
    if (V[h]) return;
    for (int k = 0; k < HNF[h]; k++) F[HF0[h] + k] = 0;
    V[h] = 1;
    P.lreg += HB[h];
}
static inline int hdr_eq(state_t *st, int a, int b) {
    if (!V[a] && !V[b]) return 1;
    if (V[a] != V[b]) return 0;
    for (int k = 0; k < HNF[a]; k++) if (F[HF0[a] + k] != F[HF0[b] + k]) return 0;
    return 1;
}
static inline int extract_dyn(state_t *st, int h, const uint8_t *d, int ld, int pos) {
    int nb = HB[h];
    if (ld - pos < nb) return -1;
    int off = 0;
    for (int k = 0; k < HNF[h]; k++) {
        int f = HF0[h] + k, w = FW[f];
        v_t v = (v_t)get_bits(d + pos, off, w);
        F[f] = FS[f] ? sx_(v, w) : v;
        off += w;
    }
    V[h] = 1;
    return pos + nb;
}"""
        )
        for st in self.prog.stacks:
            i, n = st.index, len(st.headers)
            self.w(
                f"static inline void stack_push_{i}(state_t *st, v_t n) {{\n"
                f"    if (n <= 0) return;\n"
                f"    for (int i = {n} - 1; i >= n; i--) move_header(st, HS_{i}[i], HS_{i}[i - (int)n]);\n"
                f"    for (int i = 0; i < n && i < {n}; i++) V[HS_{i}[i]] = 0;\n"
                f"    S[{i}] = (v_t)S[{i}] + n > {n} ? {n} : (int32_t)(S[{i}] + n);\n}}"
            )
            self.w(
                f"static inline void stack_pop_{i}(state_t *st, v_t n) {{\n"
                f"    if (n <= 0) return;\n"
                f"    for (int i = 0; i < {n} - n; i++) move_header(st, HS_{i}[i], HS_{i}[i + (int)n]);\n"
                f"    for (int i = ({n} - n > 0 ? {n} - (int)n : 0); i < {n}; i++) V[HS_{i}[i]] = 0;\n"
                f"    S[{i}] = (v_t)S[{i}] - n < 0 ? 0 : (int32_t)(S[{i}] - n);\n}}"
            )

    # -- calculations ----------------------------------------------------------------------------

    def _gen_calc(self, fname: str, name: str, calc: dict[str, Any]) -> None:
        algo = calc.get("algo", "")
        fn = CALC_HASHES[algo]
        body: list[str] = []
        payload = False
        nbits = 0
        for inp in calc.get("input", []):
            t = inp.get("type")
            if t == "field":
                h = self.prog.header(inp["value"][0])
                if inp["value"][1] == "$valid$":
                    body.append(f"    bw_put(&w, (u_t)V[{h.index}], 1);")
                    nbits += 1
                    continue
                f = self.prog.field(inp["value"])
                guard = "" if h.metadata else f"if (V[{h.index}]) "
                if f.vl:
                    k, off, cap = self.eg.vl[f.index]
                    body.append(f"    {guard}bw_put_bits(&w, st->VLB + {off}, st->VLW[{k}]);")
                    nbits += cap * 8
                    continue
                if f.index in self.eg.wide:
                    body.append(
                        f"    {guard}bw_put_bits(&w, st->VLB + {self.eg.wide[f.index]}, {f.width});"
                    )
                else:
                    body.append(f"    {guard}bw_put(&w, (u_t)F[{f.index}], {f.width});")
                nbits += f.width
            elif t == "hexstr":
                width = int(inp.get("bitwidth", 0))
                v = hexstr(inp["value"]) & ((1 << width) - 1)
                body.append(f"    bw_put(&w, (u_t){cconst(v)}, {width});")
                nbits += width
            elif t == "header":
                h = self.prog.header(inp["value"])
                body.append(f"    if (V[{h.index}]) {{")
                for f in h.fields:
                    if f.vl:
                        k, off, cap = self.eg.vl[f.index]
                        body.append(f"        bw_put_bits(&w, st->VLB + {off}, st->VLW[{k}]);")
                        nbits += cap * 8
                        continue
                    if f.index in self.eg.wide:
                        body.append(
                            f"        bw_put_bits(&w, st->VLB + {self.eg.wide[f.index]}, {f.width});"
                        )
                    else:
                        body.append(f"        bw_put(&w, (u_t)F[{f.index}], {f.width});")
                if h.vl_field is not None:
                    body.append("        bw_put(&w, 0, (8 - (w.nbits & 7)) & 7);")
                else:
                    pad = h.nbytes * 8 - h.fixed_bits
                    if pad:
                        body.append(f"        bw_put(&w, 0, {pad});")
                body.append("    }")
                nbits += h.nbytes * 8 + 8
            elif t == "payload":
                payload = True
            else:
                raise NativeUnsupported(f"calculation input {t!r}")
        cap = (nbits + 7) // 8 + 1
        self.w(f"static uint64_t {fname}(ctx_t *c, state_t *st) {{ /* {name} */")
        self.w(
            f"    uint8_t buf[{cap}];\n    memset(buf, 0, sizeof buf);\n    bw_t w = {{buf, {cap}, 0}};\n    (void)c;"
        )
        for line in body:
            self.w(line)
        self.w("    int nb = (w.nbits + 7) >> 3;")
        if payload:
            self.w(
                f"    return {fn}(buf, nb, st->data + P.payload_off, P.len - P.payload_off);\n}}"
            )
        else:
            self.w(f"    return {fn}(buf, nb, NULL, 0);\n}}")

    # -- actions ---------------------------------------------------------------------------------

    def _gen_action_protos(self) -> None:
        for aid in self.prog.actions:
            self.w(f"static void act_{int(aid)}(ctx_t *c, state_t *st, const v_t *d);")

    def _action_body(self, action: dict[str, Any]) -> list[str]:
        self.prims.in_action = True
        self.eg.param_widths = [int(p["bitwidth"]) for p in action.get("runtime_data", [])]
        prims = action.get("primitives", [])
        out: list[str] = []
        has_jump = any(p.get("op") in ("_jump", "_jump_if_zero") for p in prims)
        if has_jump:
            out.append("    long _steps = 0;")
        for i, p in enumerate(prims):
            op = p.get("op")
            params = p.get("parameters", [])
            if has_jump:
                out.append(
                    f" L{i}: if (++_steps > {MAX_ACTION_STEPS}) {{ P.assert_fail = 2; return; }}"
                )
            if op == "_jump":
                out.append(f"    goto L{self._jump(params[0], len(prims))};")
            elif op == "_jump_if_zero":
                cond = self.eg.value(params[0])
                out.append(
                    f"    if (({cond.as_data()}) == 0) goto L{self._jump(params[1], len(prims))};"
                )
            else:
                out += ["    " + x for x in self.prims.gen(p)]
        if has_jump:
            out.append(f" L{len(prims)}: ;")
        self.eg.param_widths = None
        self.prims.in_action = False
        return out

    @staticmethod
    def _jump(tv: Any, n: int) -> int:
        try:
            k = hexstr(tv["value"])
        except (KeyError, TypeError, ConfigError):
            raise ConfigError(f"_jump offset must be a constant, got {tv!r}") from None
        return min(max(k, 0), n)

    def _gen_action(self, action: dict[str, Any]) -> None:
        self.w(f"static void act_{int(action['id'])}(ctx_t *c, state_t *st, const v_t *d) {{")
        self.w("    (void)c; (void)d; (void)st;")
        for line in self._action_body(action):
            self.w(line)
        self.w("}")

    @staticmethod
    def may_exit(action: dict[str, Any]) -> bool:
        """The action may stop the pipeline: ``exit``, a failed assert, a ``_jump`` loop."""
        stops = ("exit", "assert", "assume", "_jump", "_jump_if_zero")
        return any(p.get("op") in stops for p in action.get("primitives", []))

    # -- pipelines -------------------------------------------------------------------------------

    def _gen_pipeline(self, pipe: dict[str, Any]) -> str:
        pname = pipe["name"]
        nodes: dict[str, tuple[str, dict[str, Any]]] = {}
        for t in pipe.get("tables", []):
            nodes[t["name"]] = ("table", t)
        for cnd in pipe.get("conditionals", []):
            nodes[cnd["name"]] = ("cond", cnd)
        for a in pipe.get("action_calls", []):
            nodes[a["name"]] = ("call", a)
        labels = {n: f"N{i}" for i, n in enumerate(nodes)}

        def lab(n: str | None) -> str:
            if n is None:
                return "done"
            if n not in labels:
                raise ConfigError(f"pipeline {pname}: unknown node {n!r}")
            return labels[n]

        fname = f"pipe_{len(self.out)}"
        self.w(f"static void {fname}(ctx_t *c, state_t *st) {{")
        self.w(f"    goto {lab(pipe.get('init_table'))};")
        for name, (kind, j) in nodes.items():
            self.w(f" {labels[name]}: {{")
            if kind == "cond":
                e = j["expression"]
                cond = self.eg.value(e) if "type" in e else self.eg.expr(e)
                self.w(f"    if ({cond.as_bool()}) goto {lab(j.get('true_next'))};")
                self.w(f"    goto {lab(j.get('false_next'))};")
            elif kind == "call":
                action = self.prog.actions[int(j["action_id"])]
                self.w(f"    act_{int(action['id'])}(c, st, NULL);")
                if self.may_exit(action):
                    self.w("    if (P.exit_ || P.assert_fail) return;")
                self.w(f"    goto {lab(j.get('next_node'))};")
            else:
                self._gen_table(pname, j, lab)
            self.w(" }")
        self.w(" done:\n    return;\n}")
        return fname

    def _gen_table(self, pname: str, t: dict[str, Any], lab: Any) -> None:
        ti = self.tindex[(pname, t["name"])]
        nt = t.get("next_tables", {})
        hit_miss = "__HIT__" in nt or "__MISS__" in nt
        aids = [int(a) for a in t.get("action_ids", [])]
        actions = [self.prog.actions[a] for a in aids]
        keys = t.get("key", [])
        de = t.get("default_entry") or {}
        base = t.get("base_default_next")
        if (
            not keys
            and de.get("action_const")
            and de.get("action_entry_const")
            and not hit_miss
            and int(de.get("action_id", -1)) in self.prog.actions
            and len({nt.get(a, base) for a in t.get("actions", [])} | {base}) == 1
        ):
            aid = int(de["action_id"])
            data = [hexstr(x) for x in de.get("action_data", [])]
            arr = f"(const v_t[]){{{', '.join(cconst(x) for x in data)}}}" if data else "NULL"
            self.w(f"    act_{aid}(c, st, {arr});")
            if self.may_exit(self.prog.actions[aid]):
                self.w("    if (P.exit_ || P.assert_fail) return;")
            self.w(f"    goto {lab(base)};")
            return
        if keys:
            parts = []
            for k in keys:
                target = k.get("target")
                mt = k.get("match_type")
                if mt == "valid" or isinstance(target, str) or target[1] == "$valid$":
                    h = self.prog.header(target if isinstance(target, str) else target[0])
                    parts.append(f"(v_t)V[{h.index}]")
                    continue
                f = self.prog.field(target)
                if f.vl or f.index in self.eg.wide:
                    raise NativeUnsupported(f"table {t['name']}: key on a varbit / wide field")
                src = f"F[{f.index}]"
                if f.signed:
                    src = f"({src} & {cmask(f.width)})"
                mask = k.get("mask")
                if mask not in (None, ""):
                    src = f"({src} & {cconst(hexstr(mask) & f.mask)})"
                parts.append(src)
            self.w(f"    v_t key[{len(parts)}] = {{{', '.join(parts)}}};")
            self.w(f"    const entry_t *e = tbl_lookup(&c->T[{ti}], key);")
        else:
            self.w("    const entry_t *e = NULL;")
        hit = []
        if t.get("with_counters"):
            hit.append("_e->hp++; _e->hb += (uint64_t)P.ilen;")
        dm = t.get("direct_meters")
        if dm:
            marr = next((m for m in self.prog.meter_arrays if m["name"] == dm), None)
            if marr is None:
                raise ConfigError(f"table {t['name']}: unknown direct meter {dm!r}")
            inp = "1" if marr.get("type", "bytes") == "packets" else "(int64_t)P.ilen"
            hit.append(f"int _c = meter_exec(&_e->meter, c->now, {inp}); (void)_c;")
            rt = marr.get("result_target")
            if rt:
                f = self.prog.field(rt)
                hit.append(f"F[{f.index}] = (v_t)_c & {cmask(f.width)};")
        if t.get("support_timeout"):
            hit.append("_e->last_hit = c->now;")
            hit.append("if (_e->notified) { _e->notified = 0; c->rehit = 1; c->stats[79] = 1; }")
        if t.get("type", "simple") != "simple":
            self._gen_indirect(t, ti, hit)
        else:
            if hit:
                self.w(f"    if (e) {{ entry_t *_e = (entry_t *)e; {' '.join(hit)} }}")
            self.w("    int found = e != NULL;")
            self.w(f"    int aid = e ? e->aid : c->T[{ti}].def_aid;")
            self.w(f"    const v_t *dd = e ? e->data : c->T[{ti}].def_data;")
        self.w("    (void)dd;\n    switch (aid) {")
        for a in aids:
            self.w(f"    case {a}: act_{a}(c, st, dd); break;")
        self.w("    default: break;\n    }")
        if any(self.may_exit(a) for a in actions):
            self.w("    if (P.exit_ || P.assert_fail) return;")
        if hit_miss:
            self.w(
                f"    if (e) goto {lab(nt.get('__HIT__'))};\n    goto {lab(nt.get('__MISS__'))};"
            )
            return
        self.w("    switch (aid) {")
        for a, aname in zip(aids, t.get("actions", []), strict=False):
            self.w(f"    case {a}: goto {lab(nt.get(aname, base))};")
        self.w(f"    default: goto {lab(base)};\n    }}")

    def _gen_indirect(self, t: dict[str, Any], ti: int, hit: list[str]) -> None:
        """Member / group resolution of an indirect table (``ActionProfile.resolve``): an entry
        whose member or group cannot be resolved takes the miss path, as in Python."""
        pi = self.pindex[t["action_profile"]]
        sel = f"sel_{pi}(c, st)" if self.profiles[pi].get("selector") else "0"
        self.w(f"    const prof_t *pr = &c->PR[{pi}];\n    int mi = -1;")
        self.w("    if (e && e->mkind == 1) mi = find64(pr->mh, pr->nm, e->ref);")
        self.w("    else if (e && e->mkind == 2) {")
        self.w("        int gi = find64(pr->gh, pr->ng, e->ref);")
        self.w("        if (gi >= 0 && pr->gn[gi] > 0) {")
        self.w(f"            uint64_t h = {sel};")
        self.w("            mi = find64(pr->mh, pr->nm, pr->gslots[gi][h % (uint64_t)pr->gn[gi]]);")
        self.w("        }\n    }")
        self.w("    int found = mi >= 0;")
        if hit:
            self.w(f"    if (found) {{ entry_t *_e = (entry_t *)e; {' '.join(hit)} }}")
        self.w(f"    int aid = found ? pr->maid[mi] : c->T[{ti}].def_aid;")
        self.w(f"    const v_t *dd = found ? pr->mdata[mi] : c->T[{ti}].def_data;")

    def _gen_field_lists(self) -> None:
        self.w("void fl_copy(int fl, const state_t *src, state_t *dst) {\n    switch (fl) {")
        for fid, fl in self.prog.field_lists.items():
            self.w(f"    case {int(fid)}:")
            for el in fl.get("elements", []):
                t = el.get("type")
                if t == "field":
                    idx = [self.prog.field(el["value"]).index]
                elif t == "header":
                    idx = [f.index for f in self.prog.header(el["value"]).fields if not f.vl]
                else:
                    raise NativeUnsupported(f"field list element {t!r}")
                for i in idx:
                    f = self.prog.fields[i]
                    if i in self.eg.wide:
                        self.w("        " + copy_field(self.eg, f, f, "dst", "src"))
                    else:
                        self.w(f"        FF(dst)[{i}] = FF(src)[{i}];")
            self.w("        break;")
        self.w("    default: break;\n    }\n}")

    # -- entry points ----------------------------------------------------------------------------
