// cpn-p4 live view: reads the controller's HTTP API (controlplane/api.py, controlplane/web.py)
// and draws it with plain SVG. No library, nothing fetched from elsewhere.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const $ = (s, el = document) => el.querySelector(s);
const PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04",
                 "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488"];
const ROLE_COLOUR = { ingress_gateway: "#2563eb", transit: "#64748b", egress_gateway: "#ea580c" };
const KEEP = 300; // points kept per series
const params = new URLSearchParams(location.search);

const S = {
  topo: null, frame: null, nodes: {}, linkEls: [], swEls: {}, nodeEls: {}, selected: null,
  hist: { t: [], node_util: {}, drops: {}, path_delay_us: {} }, lastTelT: null,
  seen: { swaps: null, registry: null, events: null, requests: null }, requestsAt: 0,
  frames: 0, lastFrameAt: 0, swapBase: null, sites: {}, siteEls: {},
};

// ------------------------------------------------------------------------------ helpers
async function api(method, path, body) {
  const opt = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) opt.body = JSON.stringify(body);
  const r = await fetch(path.replace(/^\//, ""), opt);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const d = data && data.detail;
    const msg = d && d.error ? d.error : (typeof d === "string" ? d : JSON.stringify(d));
    throw new Error(`${r.status}: ${msg || r.statusText}`);
  }
  return data;
}

function el(tag, attrs = {}, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4))
                                   : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmt = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toFixed(d);
const pct = (u) => (u === null || u === undefined) ? "no data" : `${(100 * u).toPrecision(3)} %`;
const shortName = (t) => t.replace(/^Cpn(Ingress|Egress)\./, "");

// Link colour: no measurement light grey, idle slate, else green -> red on a log scale
// (1e-6 .. 1 of the link rate), since emulated traffic is far below line rate.
function utilPos(u) { return u > 0 ? Math.min(1, Math.max(0, (Math.log10(u) + 6) / 6)) : 0; }
function utilColour(u) {
  if (u === null || u === undefined) return "#cbd2d9";
  if (u <= 0) return "#94a3b8";
  const t = utilPos(u);
  return `hsl(${Math.round(120 - 120 * t)}, 75%, ${Math.round(40 + 5 * t)}%)`;
}
function loadColour(u) { // compute utilisation, linear 0..1
  if (u === null || u === undefined) return "#f1f5f9";
  const t = Math.min(1, Math.max(0, u));
  return `hsl(${Math.round(120 - 120 * t)}, 70%, ${Math.round(88 - 40 * t)}%)`;
}

// ------------------------------------------------------------------------------ topology
function drawTopology() {
  const t = S.topo, svg = $("#topo");
  svg.textContent = "";
  for (const n of t.nodes) S.nodes[n.id] = n;
  for (const [id, name] of Object.entries(t.sites)) S.sites[id] = name;
  const xs = t.nodes.map((n) => n.x), ys = t.nodes.map((n) => n.y);
  const pad = 45;
  const x0 = Math.min(...xs) - pad, y0 = Math.min(...ys) - pad;
  const vw = Math.max(...xs) - x0 + pad, vh = Math.max(...ys) - y0 + pad;
  svg.setAttribute("viewBox", `${x0} ${y0} ${vw} ${vh}`);
  svg.style.height = `${Math.round(Math.min(640, Math.max(260, (vh / vw) * svg.clientWidth)))}px`;
  $("#topo-note").textContent = `${t.network}: ${t.nodes.filter((n) => n.kind === "switch").length} switches, ` +
    `${t.links.length} links` + (t.geo ? ", placed by latitude/longitude" : ", layout");
  const gA = el("svg:g"), gL = el("svg:g"), gN = el("svg:g");
  svg.append(gA, gL, gN);
  for (const [a, b] of t.attach) {
    const p = S.nodes[a], q = S.nodes[b];
    gA.append(el("svg:line", { class: "attach", x1: p.x, y1: p.y, x2: q.x, y2: q.y }));
  }
  S.linkEls = t.links.map((lk) => {
    const p = S.nodes["sw:" + lk.a], q = S.nodes["sw:" + lk.b];
    const line = el("svg:line", { class: "link", x1: p.x, y1: p.y, x2: q.x, y2: q.y,
      stroke: utilColour(null), "stroke-width": 2.5, "data-link": `${lk.a}|${lk.b}`, "data-util": "" });
    line.append(el("svg:title", {}, `${lk.a} – ${lk.b}`));
    gL.append(line);
    return line;
  });
  for (const n of t.nodes) {
    if (n.kind === "switch") {
      const g = el("svg:g", { class: "sw", "data-switch": n.name, "data-role": n.role,
                               transform: `translate(${n.x},${n.y})` });
      const c = ROLE_COLOUR[n.role] || "#64748b";
      let shape;
      if (n.role === "ingress_gateway") shape = el("svg:rect", { x: -12, y: -12, width: 24, height: 24, rx: 4 });
      else if (n.role === "egress_gateway") shape = el("svg:polygon", { points: "0,-16 16,0 0,16 -16,0" });
      else shape = el("svg:circle", { r: 12 });
      shape.setAttribute("class", "shape");
      shape.setAttribute("fill", c);
      g.append(shape, el("svg:text", { class: "lbl", x: 0, y: -20, "text-anchor": "middle" }, n.name));
      g.append(el("svg:title", {}, `${n.name} (${n.role.replace("_", " ")}, device ${n.device_id})` +
        (n.lat !== null && n.lat !== undefined ? `\n${n.lat}, ${n.lon}` : "")));
      g.addEventListener("click", () => selectSwitch(n.name));
      gN.append(g);
      S.swEls[n.name] = g;
    } else if (n.kind === "site") {
      const g = el("svg:g", { class: "site", "data-site": n.name, transform: `translate(${n.x},${n.y})` });
      g.append(el("svg:rect", { x: -24, y: -11, width: 48, height: 22, rx: 6 }),
               el("svg:text", { class: "lbl small", x: 0, y: 4, "text-anchor": "middle" }, n.name),
               el("svg:title", {}, `site ${n.name} (${n.site_id})`));
      gN.append(g);
      S.siteEls[n.name] = g;
    } else if (n.kind === "node") {
      const g = el("svg:g", { class: "node", "data-node": n.id, transform: `translate(${n.x},${n.y})` });
      const c = el("svg:circle", { r: 8, fill: loadColour(null) });
      const tt = el("svg:title", {}, `${n.name}: ${n.device}, ${n.capacity_tflops} TFLOPS`);
      c.append(tt);
      g.append(c, el("svg:text", { class: "lbl small", x: 11, y: 4 }, n.name));
      gN.append(g);
      S.nodeEls[`${n.site_id}>${n.node_id}`] = { circle: c, title: tt, node: n };
    } else if (n.kind === "host") {
      const g = el("svg:g", { class: "host", "data-host": n.name, transform: `translate(${n.x},${n.y})` });
      g.append(el("svg:rect", { x: -7, y: -7, width: 14, height: 14, rx: 2 }),
               el("svg:text", { class: "lbl small", x: 0, y: 19, "text-anchor": "middle" }, n.name),
               el("svg:title", {}, `${n.name} (${n.host_kind}) ${n.address}`));
      gN.append(g);
    }
  }
  drawLegend();
}

function drawLegend() {
  const lg = $("#legend");
  lg.textContent = "";
  const item = (svgInner, label) => {
    const s = el("svg:svg", { width: 26, height: 18, viewBox: "-13 -9 26 18" });
    svgInner.forEach((x) => s.append(x));
    const span = el("span");
    span.append(s, document.createTextNode(" " + label));
    lg.append(span);
  };
  item([el("svg:rect", { x: -7, y: -7, width: 14, height: 14, rx: 3, fill: ROLE_COLOUR.ingress_gateway })], "ingress gateway");
  item([el("svg:circle", { r: 7, fill: ROLE_COLOUR.transit })], "transit");
  item([el("svg:polygon", { points: "0,-8 8,0 0,8 -8,0", fill: ROLE_COLOUR.egress_gateway })], "egress gateway");
  item([el("svg:rect", { x: -11, y: -6, width: 22, height: 12, rx: 4, fill: "#fff7ed", stroke: "#f59e0b" })], "site");
  item([el("svg:circle", { r: 6, fill: loadColour(0.5), stroke: "#78716c" })], "service node (compute load)");
  item([el("svg:rect", { x: -5, y: -5, width: 10, height: 10, fill: "#e0e7ff", stroke: "#6366f1" })], "host");
  item([el("svg:rect", { x: -11, y: -6, width: 22, height: 12, rx: 4, fill: "#fee2e2", stroke: "#dc2626",
    "stroke-width": 2, "stroke-dasharray": "4 3" })], "site/gateway of a service without a live site");
  const grad = el("span");
  grad.append(document.createTextNode("link utilisation: "));
  const s = el("svg:svg", { width: 170, height: 16 });
  [null, 0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1].forEach((u, i) =>
    s.append(el("svg:rect", { x: i * 19, y: 3, width: 18, height: 10, fill: utilColour(u) },
    )));
  grad.append(s, document.createTextNode(" none · 0 · 10⁻⁶ … 1 (log)"));
  lg.append(grad);
}

function updateTopology(f) {
  const topo = S.topo;
  f.links.forEach((l) => {
    const line = S.linkEls[l.id], lk = topo.links[l.id];
    if (!line) return;
    const vals = [l.ab, l.ba].filter((v) => v !== null && v !== undefined);
    const u = vals.length ? Math.max(...vals) : null;
    line.setAttribute("stroke", l.down ? "#dc2626" : utilColour(u));
    line.setAttribute("stroke-width", (2.5 + 8 * utilPos(u || 0)).toFixed(2));
    line.setAttribute("data-util", u === null ? "" : String(u));
    line.classList.toggle("down", !!l.down);
    line.firstChild.textContent = `${lk.a} → ${lk.b}: ${pct(l.ab)}\n${lk.b} → ${lk.a}: ${pct(l.ba)}\n` +
      `${(lk.rate_bps / 1e9).toPrecision(3)} Gbit/s, ${lk.delay_us} µs` + (l.down ? "\nDOWN" : "");
  });
  for (const [name, st] of Object.entries(f.switches)) {
    const g = S.swEls[name];
    if (!g) continue;
    g.classList.toggle("notready", st.state !== "ready");
    g.setAttribute("data-state", st.state);
  }
  for (const [key, e] of Object.entries(S.nodeEls)) {
    const nl = f.node_load[key];
    e.circle.setAttribute("fill", loadColour(nl ? nl.utilisation : null));
    e.title.textContent = `${e.node.name}: ${e.node.device}, ${e.node.capacity_tflops} TFLOPS` +
      (nl ? `\nutilisation ${pct(nl.utilisation)}, ${nl.connections} connections, backlog ${fmt(nl.backlog_ms)} ms` +
            (nl.alive ? "" : ", DOWN") : "");
  }
}

// ------------------------------------------------------------------------------ frames
function onFrame(f) {
  S.frame = f;
  S.frames += 1;
  S.lastFrameAt = Date.now();
  document.body.dataset.frames = String(S.frames);
  $("#network").textContent = f.network;
  $("#policy").textContent = f.policy;
  $("#version").textContent = String(f.version);
  $("#swapping").hidden = !f.swapping;
  $("#clock").textContent = fmt(f.t, 1);
  const losses = f.losses_total === null ? f.drops_total : f.losses_total;
  const lossEl = $("#losses");
  lossEl.textContent = String(losses);
  lossEl.parentElement.className = "pill " + (losses ? "bad" : "ok");
  lossEl.title = `switch drops (telemetry): ${f.drops_total}` +
    (f.losses_total === null ? "" : `; every loss (network driver): ${f.losses_total}`) +
    (Object.keys(f.telemetry_errors).length ? `\ntelemetry errors: ${JSON.stringify(f.telemetry_errors)}` : "");
  const lost = $("#swap-lost");
  if (S.swapBase !== null && lost) lost.textContent = String(losses - S.swapBase);
  setConn(true);
  updateTopology(f);
  updateOutages(f);
  if (f.telemetry_t !== null && f.telemetry_t !== S.lastTelT) {
    S.lastTelT = f.telemetry_t;
    appendHistory(f);
    drawCharts();
  }
  if (f.swaps !== S.seen.swaps) { S.seen.swaps = f.swaps; refreshSwaps(); }
  if (f.registry !== S.seen.registry) { S.seen.registry = f.registry; refreshRegistry(); }
  if (f.events !== S.seen.events) { S.seen.events = f.events; refreshEvents(); }
  if (f.requests !== S.seen.requests && Date.now() - S.requestsAt > 1500) {
    S.seen.requests = f.requests; S.requestsAt = Date.now(); refreshRequests();
  }
}

// Services without a live site (frame.outages): the banner lists them, their sites and the
// ingress gateways that punt their requests are marked on the topology; all cleared once served.
function updateOutages(f) {
  const o = f.outages || { active: [], ended: 0 };
  const ul = $("#outage-list"), gws = {}, sites = {};
  ul.textContent = "";
  o.active.forEach((x) => {
    const li = el("li", { "data-service": x.service, "data-service-id": x.service_id });
    li.append(el("b", {}, x.service), document.createTextNode(
      ` (service ${x.service_id}): ${x.reason}; punted at ${x.gateways.join(", ") || "–"} since t = ` +
      `${fmt(x.since, 2)} s (for ${fmt(f.t - x.since, 1)} s), ${x.punted} packets punted`));
    ul.append(li);
    x.gateways.forEach((g) => (gws[g] = (gws[g] || []).concat(x.service)));
    x.sites.forEach((s) => (sites[s] = (sites[s] || []).concat(x.service)));
  });
  $("#outages").hidden = $("#outage-pill").hidden = o.active.length === 0;
  $("#outage-names").textContent = o.active.map((x) => x.service).join(", ");
  $("#outages-note").textContent = o.ended ? `(${o.ended} ended earlier)` : "";
  document.body.dataset.outages = String(o.active.length);
  const mark = (els, which, what) => {
    for (const [name, g] of Object.entries(els)) {
      g.classList.toggle("outage", name in which);
      if (name in which) g.setAttribute("data-outage", which[name].join(" "));
      else g.removeAttribute("data-outage");
      const t = g.querySelector("title");
      if (t) t.textContent = t.textContent.split("\n⚠")[0] + (name in which ? `\n⚠ ${what}: ${which[name].join(", ")}` : "");
    }
  };
  mark(S.swEls, gws, "punts the requests of (no live site)");
  mark(S.siteEls, sites, "no live site for");
}

function appendHistory(f) {
  const H = S.hist, n = H.t.length;
  H.t.push(f.telemetry_t);
  for (const part of ["node_util", "drops", "path_delay_us"]) {
    const cur = f[part] || {};
    const missing = part === "drops" ? 0 : null; // drop counters: absent means none yet
    for (const k of Object.keys(cur)) if (!H[part][k]) H[part][k] = new Array(n).fill(missing);
    for (const k of Object.keys(H[part])) H[part][k].push(k in cur ? cur[k] : missing);
  }
  if (H.t.length > KEEP) {
    H.t.shift();
    for (const part of ["node_util", "drops", "path_delay_us"]) for (const k in H[part]) H[part][k].shift();
  }
}

function setConn(ok) {
  const c = $("#conn");
  c.textContent = ok ? "live" : "no data";
  c.className = "pill " + (ok ? "ok" : "bad");
}

function connect() {
  const iv = params.get("interval");
  const es = new EventSource("web/stream" + (iv ? `?interval=${encodeURIComponent(iv)}` : ""));
  es.addEventListener("frame", (e) => onFrame(JSON.parse(e.data)));
  // The server ends each stream after a few seconds; EventSource reconnects by itself.
  setInterval(() => { if (Date.now() - S.lastFrameAt > 4000) setConn(false); }, 1000);
}

// ------------------------------------------------------------------------------ switch panel
async function selectSwitch(name) {
  S.selected = name;
  for (const [n, g] of Object.entries(S.swEls)) g.classList.toggle("selected", n === name);
  $("#sw-name").textContent = name + " (reading…)";
  const body = $("#sw-body");
  let v;
  try {
    v = await api("GET", `/web/switch/${encodeURIComponent(name)}`);
  } catch (e) {
    $("#sw-name").textContent = name;
    body.innerHTML = "";
    body.append(el("div", { class: "err" }, String(e.message)));
    return;
  }
  if (S.selected !== name) return;
  $("#sw-name").textContent = `${name} — ${v.role.replace("_", " ")}`;
  body.innerHTML = "";
  body.dataset.switch = name;
  const kv = el("div", { class: "kv" });
  const add = (k, val) => kv.append(el("span", { class: "note" }, k), el("span", { class: "mono" }, String(val)));
  add("device id", v.device_id); add("P4Runtime", v.address); add("state", v.state);
  for (const [k, val] of Object.entries(v.registers)) add(k, typeof val === "object" ? JSON.stringify(val) : val);
  body.append(kv);
  const tt = el("table", { id: "sw-tables" });
  tt.append(el("thead"));
  tt.tHead.append(el("tr"));
  ["table", "on switch", "intent"].forEach((h) => tt.tHead.rows[0].append(el("th", {}, h)));
  const tb = el("tbody");
  for (const [t, info] of Object.entries(v.tables)) {
    const tr = el("tr", { "data-table": t });
    tr.append(el("td", { class: "mono" }, shortName(t)), el("td", { class: "n" }, String(info.entries)),
              el("td", {}, String(info.intent)));
    if (info.entries !== info.intent) tr.classList.add("err");
    tb.append(tr);
    if (info.sample.length) {
      const sr = el("tr"), td = el("td", { colspan: 3 }), ul = el("ul", { class: "sample mono" });
      info.sample.forEach((s) => { const li = el("li", { title: s }, s); ul.append(li); });
      if (info.entries > info.sample.length) ul.append(el("li", { class: "note" }, `… ${info.entries - info.sample.length} more`));
      td.append(ul); sr.append(td); tb.append(sr);
    }
  }
  tt.append(tb);
  body.append(el("h2", {}, "Tables"), tt);
  const pt = el("table", { id: "sw-ports" });
  pt.innerHTML = "<thead><tr><th>port</th><th>peer</th><th>rx pkts</th><th>rx bytes</th><th>tx pkts</th><th>tx bytes</th><th>queue</th></tr></thead>";
  const pb = el("tbody");
  v.ports.forEach((p) => {
    const tr = el("tr");
    [p.port, p.peer, p.rx_packets, p.rx_bytes, p.tx_packets, p.tx_bytes, p.queue_depth]
      .forEach((x) => tr.append(el("td", {}, String(x))));
    pb.append(tr);
  });
  pt.append(pb);
  body.append(el("h2", {}, "Ports"), pt);
  const ct = el("div", { class: "kv", id: "sw-counters" });
  for (const [group, vals] of Object.entries(v.counters)) {
    const entries = Object.entries(vals);
    ct.append(el("span", { class: "note" }, group),
              el("span", { class: "mono" }, entries.length ? entries.map(([k, n]) => `${k}=${n}`).join("  ") : "none"));
  }
  body.append(el("h2", {}, "Counters"), ct);
}

// ------------------------------------------------------------------------------ registry
async function refreshRegistry() {
  let rows;
  try { rows = await api("GET", "/aisid"); } catch (e) { return; }
  const tb = $("#registry tbody");
  tb.textContent = "";
  for (const r of rows) {
    const tr = el("tr", { "data-service": r.name, "data-state": r.state });
    const nodes = r.nodes.length ? r.nodes.join(" ") : "all";
    [r.name, r.aisid, r.service_id, r.site + (r.previous_site ? ` (from ${r.previous_site})` : ""), nodes,
     r.state, r.traffic_class, `${(r.deadline_us / 1000).toFixed(1)} ms`].forEach((x, i) =>
      tr.append(el("td", { class: i === 1 ? "mono" : "" }, String(x))));
    const act = el("td");
    if (r.state !== "decommissioned") {
      const mig = el("button", { type: "button", class: "mig" }, "migrate");
      const dec = el("button", { type: "button", class: "dec" }, "decommission");
      mig.onclick = () => migrateForm(act, r);
      dec.onclick = () => confirmInline(act, `decommission ${r.name}?`, async () => {
        await api("POST", "/aisid/decommission", { service: r.name });
      });
      act.append(mig, document.createTextNode(" "), dec);
    }
    tr.append(act);
    tb.append(tr);
  }
}

function confirmInline(cell, question, action) {
  cell.textContent = "";
  const yes = el("button", { type: "button", class: "danger" }, "Confirm");
  const no = el("button", { type: "button" }, "Cancel");
  const msg = el("span", { class: "note" });
  cell.append(el("span", {}, question + " "), yes, document.createTextNode(" "), no, msg);
  no.onclick = () => refreshRegistry();
  yes.onclick = async () => {
    yes.disabled = true;
    try { await action(); await refreshRegistry(); } catch (e) { msg.className = "err"; msg.textContent = " " + e.message; yes.disabled = false; }
  };
}

function migrateForm(cell, r) {
  const site = el("select");
  Object.values(S.sites).forEach((n) => site.append(el("option", { value: n }, n)));
  site.value = r.site;
  const nodes = el("input", { placeholder: "nodes", size: 6 });
  confirmInline(cell, `migrate ${r.name} to`, async () => {
    await api("POST", "/aisid/migrate", { service: r.name, site: site.value, nodes: parseNodes(nodes.value) });
  });
  cell.insertBefore(nodes, cell.children[1]);
  cell.insertBefore(site, nodes);
}

function parseNodes(s) {
  return s.split(/[\s,]+/).filter((x) => x).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new Error(`node ids are integers, got ${JSON.stringify(x)}`);
    return n;
  });
}

async function onRegister(ev) {
  ev.preventDefault();
  const out = $("#reg-result");
  out.className = "note"; out.textContent = "registering…";
  try {
    const cls = $("#reg-class").value, dl = $("#reg-deadline").value.trim();
    const body = { name: $("#reg-name").value.trim(), aisid: $("#reg-aisid").value.trim(),
                   site: $("#reg-site").value, nodes: parseNodes($("#reg-nodes").value),
                   traffic_class: cls === "" ? null : Number(cls), deadline_us: dl === "" ? null : Number(dl) };
    const r = await api("POST", "/aisid/register", body);
    out.className = "okc";
    out.textContent = `registered ${r.name} (${r.aisid}) as service ${r.service_id}, ${r.entries_written} entries written`;
    await refreshRegistry();
  } catch (e) { out.className = "err"; out.textContent = e.message; }
}

// ------------------------------------------------------------------------------ swaps, events
async function refreshSwaps() {
  let rows;
  try { rows = await api("GET", "/swaps"); } catch (e) { return; }
  const tb = $("#swaps tbody");
  tb.textContent = "";
  rows.slice().reverse().forEach((s) => {
    const took = s.finished ? `${(s.finished - s.started).toFixed(3)} s` : "–";
    const tr = el("tr", { "data-swap": s.id });
    [s.id, `${s.old_version} → ${s.new_version}`, `${s.old_policy} → ${s.new_policy}`, s.stage,
     new Date(s.started * 1000).toLocaleTimeString(), took, s.detail].forEach((x) => tr.append(el("td", {}, String(x))));
    tb.append(tr);
  });
}

async function refreshEvents() {
  let evs;
  try { evs = await api("GET", "/events"); } catch (e) { return; }
  const ol = $("#events");
  ol.textContent = "";
  evs.slice(-20).reverse().forEach((e) => ol.append(el("li", {}, `${fmt(e.time, 2)} s  ${e.event}`)));
}

async function loadPolicies() {
  const p = await api("GET", "/web/policies");
  const sel = $("#swap-policy");
  sel.textContent = "";
  p.policies.forEach((n) => sel.append(el("option", { value: n }, n)));
  const other = p.policies.find((n) => n.startsWith("base") && n !== p.active) ||
                p.policies.find((n) => n !== p.active);
  if (other) sel.value = other;
}

function swapControl() {
  const form = $("#swap-form"), conf = $("#swap-confirm"), btn = $("#swap-btn");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = S.frame;
    $("#swap-question").textContent = `swap ${f ? f.policy + " v" + f.version : ""} → ${$("#swap-policy").value}?`;
    conf.hidden = false; btn.disabled = true;
  });
  $("#swap-no").onclick = () => { conf.hidden = true; btn.disabled = false; };
  $("#swap-yes").onclick = async () => {
    const policy = $("#swap-policy").value, res = $("#swap-result");
    conf.hidden = true;
    res.textContent = `swapping to ${policy}…`;
    S.swapBase = S.frame ? Number($("#losses").textContent) || 0 : 0;
    try {
      const r = await api("POST", "/swap", { policy });
      res.innerHTML = "";
      res.append(document.createTextNode(
        `version ${r.old_version} → ${r.new_version}: ${r.entries_written} entries in ${r.seconds.toFixed(3)} s; lost since: `),
        el("b", { id: "swap-lost" }, "0"));
      $("#version").textContent = String(r.version);
    } catch (e) {
      res.innerHTML = ""; res.append(el("span", { class: "err" }, e.message));
      S.swapBase = null;
    }
    btn.disabled = false;
  };
}

// ------------------------------------------------------------------------------ charts
function lineChart(host, series, opts = {}) {
  host.textContent = "";
  const W = 600, Hh = 170, L = 46, R = 8, T = 8, B = 20;
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${Hh}`, preserveAspectRatio: "none" });
  const pts = series.flatMap((s) => s.pts.filter((p) => p[1] !== null && p[1] !== undefined));
  if (!pts.length) {
    svg.append(el("svg:text", { x: W / 2, y: Hh / 2, "text-anchor": "middle", fill: "#94a3b8" }, opts.empty || "no data yet"));
    host.append(svg);
    return;
  }
  const tx = pts.map((p) => p[0]);
  let x0 = Math.min(...tx), x1 = Math.max(...tx);
  if (x1 - x0 < 1e-9) { x0 -= 0.5; x1 += 0.5; }
  let y1 = opts.ymax !== undefined ? opts.ymax : Math.max(...pts.map((p) => p[1])) * 1.1;
  if (!(y1 > 0)) y1 = 1;
  const X = (t) => L + ((t - x0) / (x1 - x0)) * (W - L - R);
  const Y = (v) => T + (1 - v / y1) * (Hh - T - B);
  for (let i = 0; i <= 3; i++) {
    const v = (y1 * i) / 3, y = Y(v);
    svg.append(el("svg:line", { x1: L, x2: W - R, y1: y, y2: y, stroke: "#eef2f6" }));
    svg.append(el("svg:text", { x: L - 4, y: y + 4, "text-anchor": "end", "font-size": 10, fill: "#6b7785" },
      v >= 100 ? v.toFixed(0) : v.toPrecision(2)));
  }
  svg.append(el("svg:text", { x: L, y: Hh - 4, "font-size": 10, fill: "#6b7785" }, `${x0.toFixed(1)} s`));
  svg.append(el("svg:text", { x: W - R, y: Hh - 4, "font-size": 10, fill: "#6b7785", "text-anchor": "end" }, `${x1.toFixed(1)} s`));
  const lg = el("div", { class: "lg" });
  series.forEach((s) => {
    let d = "", pen = false;
    s.pts.forEach(([t, v]) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? "L" : "M"}${X(t).toFixed(1)},${Y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) svg.append(el("svg:path", { d, fill: "none", stroke: s.color, "stroke-width": 1.8,
      "stroke-dasharray": s.dash || null, "vector-effect": "non-scaling-stroke", "data-series": s.name }));
    if (s.legend !== false) {
      const it = el("span");
      it.append(el("i", { style: `background:${s.color}` }), document.createTextNode(s.name));
      lg.append(it);
    }
  });
  host.append(svg, lg);
}

function nodeLabel(key) {
  const e = S.nodeEls[key];
  return e ? `${e.node.name}@${S.sites[e.node.site_id] || e.node.site_id}` : key;
}
function pathLabel(key) {
  const [gw, site, pid] = key.split(">");
  return `${gw}→${S.sites[site] || site} p${pid}`;
}

function drawCharts() {
  const H = S.hist;
  const mk = (part, label, scale = 1) => Object.keys(H[part]).sort().map((k, i) => ({
    name: label(k), color: PALETTE[i % PALETTE.length],
    pts: H.t.map((t, j) => [t, H[part][k][j] === null ? null : H[part][k][j] * scale]),
  }));
  lineChart($("#ch-nodes"), mk("node_util", nodeLabel, 100), { ymax: 100, empty: "no node load yet" });
  lineChart($("#ch-drops"), mk("drops", (k) => k), { empty: "no drops" });
  lineChart($("#ch-paths"), mk("path_delay_us", pathLabel, 1e-3), { empty: "no path probes yet" });
}

async function refreshRequests() {
  let m;
  try { m = await api("GET", "/metrics/requests"); } catch (e) { return; }
  const lat = [], dl = [];
  Object.keys(m.services).sort().forEach((svc, i) => {
    const b = m.services[svc], c = PALETTE[i % PALETTE.length];
    lat.push({ name: `${svc} p50`, color: c, pts: b.map((x) => [x.t, x.p50_ms]) });
    lat.push({ name: `${svc} p95`, color: c, dash: "4 3", pts: b.map((x) => [x.t, x.p95_ms]), legend: false });
    dl.push({ name: svc, color: c, pts: b.map((x) => {
      const n = x.deadline_hits + x.deadline_misses;
      return [x.t, n ? (100 * x.deadline_hits) / n : null];
    }) });
  });
  lineChart($("#ch-latency"), lat, { empty: "no request records (dashed: p95)" });
  lineChart($("#ch-deadline"), dl, { ymax: 100, empty: "no requests with a deadline" });
}

// ------------------------------------------------------------------------------ start
async function main() {
  swapControl();
  $("#reg-form").addEventListener("submit", onRegister);
  S.topo = await api("GET", "/web/topology");
  drawTopology();
  const site = $("#reg-site");
  Object.values(S.sites).forEach((n) => site.append(el("option", { value: n }, n)));
  await loadPolicies();
  const h = await api("GET", "/web/history?last=" + KEEP);
  S.hist = { t: h.t, node_util: h.node_util, drops: h.drops, path_delay_us: h.path_delay_us };
  S.lastTelT = h.t.length ? h.t[h.t.length - 1] : null;
  drawCharts();
  refreshRequests();
  connect();
  document.body.dataset.ready = "1";
}

main().catch((e) => {
  document.body.dataset.error = String(e);
  $("#conn").textContent = "error: " + e.message;
});
