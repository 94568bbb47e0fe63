// rootpath's web UI: pages rendered from the JSON API (or, in the HTML
// report, from the answers embedded in the page), with no other requests.
"use strict";

const REPORT = window.ROOTPATH_REPORT || null;
// The report embeds exactly these pages of the dominator tree.
const PAGE = 50, SUB_PAGE = 20, SUB_NODES = 8;
const SVG_NS = "http://www.w3.org/2000/svg";
const main = document.getElementById("main");

async function api(target) {
  if (REPORT) {
    if (Object.prototype.hasOwnProperty.call(REPORT, target)) return REPORT[target];
    throw new Error("This report holds the listings and the dominator tree's top levels; " +
      "run `rootpath DUMP serve` to explore further (" + target + ")");
  }
  const response = await fetch(target.slice(1));
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// el("td", {class: "num"}, "text", child…)
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function bytes(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n), u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return (u === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)) + " " + units[u];
}
const count = (n) => (n === undefined || n === null ? "" : Number(n).toLocaleString("en-US"));
const pct = (x) => (100 * x).toFixed(1) + "%";

function bytesCell(n, id) {
  return el("td", { class: "num", id, "data-bytes": n, title: count(n) + " bytes" }, bytes(n));
}

// Every address is a link to its object.
function addrLink(address) {
  if (!address) return "";
  return el("a", { class: "addr", href: "#/object/" + address }, address);
}

function nodeLink(node, text) {
  return el("a", { href: "#/tree/" + node, "data-node": node }, text);
}

function rootName(root) {
  if (!root) return "";
  let name = root.name || root.kind;
  if (root.kind === "stack" && root.variable) name = `goroutine ${root.goroutine} ${root.function} ${root.variable}`;
  return name;
}

function table(headers, rows) {
  const head = el("tr", {}, headers.map((h) =>
    el("th", { class: h.startsWith("#") ? "num" : "" }, h.replace(/^#/, ""))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, rows));
}

function pathList(steps, root, rootNode) {
  const items = [];
  if (root) {
    const label = `${root.kind} ${rootName(root)}` + (root.type ? ` (${root.type})` : "");
    items.push(el("li", { class: "path-root", "data-name": root.name },
      rootNode !== undefined ? nodeLink(rootNode, label) : label));
  }
  for (const s of steps || []) {
    items.push(el("li", { class: "step", "data-edge": s.edge, "data-address": s.address },
      el("span", { class: "edge" }, s.edge || "·"), addrLink(s.address),
      el("span", { class: "muted" }, ` ${s.type || "?"}, ${bytes(s.size)}`)));
  }
  return el("ul", { class: "path" }, items);
}

// ---- pages ----------------------------------------------------------------

async function overviewPage() {
  const d = await api("/api/overview");
  const ov = d.overview || {};
  const heap = ov.heap || {};
  const fig = (label, id, value, raw) =>
    el("div", {}, el("dt", {}, label), el("dd", { id, "data-value": raw ?? value }, value));
  const figures = el("dl", { class: "figures" },
    fig("Go version", "go-version", (ov.go && ov.go.version) || "unknown"),
    fig("Process", "pid", ov.process ? ov.process.pid : "—"),
    fig("Threads", "threads", (ov.threads || []).length),
    fig("Live heap", "live-bytes", bytes(d.live_bytes), d.live_bytes),
    fig("Live objects", "live-objects", count(d.live_objects), d.live_objects),
    fig("All objects", "objects", count(heap.objects), heap.objects),
    fig("Garbage since last GC", "garbage-bytes", bytes(heap.garbage_bytes), heap.garbage_bytes),
    fig("Goroutines", "goroutines", count(heap.goroutines), heap.goroutines),
    fig("Names from", "names-from", (heap.names_from && heap.names_from.kind) || ""));
  const file = ov.file || {};
  const exe = ov.executable;
  const out = [el("h1", {}, "Overview"),
    el("p", { class: "muted" }, `${file.kind || ""} ${file.path || ""}` +
      (exe ? ` · executable ${exe.path}` : "") + (ov.process ? ` · ${ov.process.command}` : "")),
    figures];
  for (const w of d.warnings || []) out.push(el("div", { class: "warning" }, w));

  out.push(el("h2", {}, "Leak suspects"));
  const suspects = d.leak_suspects || [];
  if (!suspects.length) out.push(el("p", { class: "muted" }, "Nothing retains more than 10% of the live heap alone."));
  else out.push(table(["Holder", "#Retains", "#Share", "Accumulates in", "Largest types"],
    suspects.map((s) => el("tr", { class: "suspect" },
      el("td", {}, holderName(s.holder)),
      bytesCell(s.retained_bytes),
      el("td", { class: "num" }, pct(s.share)),
      el("td", {}, s.accumulation ? [addrLink(s.accumulation.object.address), " ",
        el("span", { class: "muted" }, `${s.accumulation.object.type || "?"}, ${bytes(s.accumulation.retained_bytes)}`)] : ""),
      el("td", {}, (s.top_types || []).slice(0, 3).map((t) => `${t.type} ${bytes(t.bytes)}`).join(", "))))));

  out.push(el("h2", {}, "Top holders"), el("p", { class: "muted" },
    "Every live byte lies below exactly one holder; their retained sizes add up to the live heap."));
  const holders = (d.holders && d.holders.holders) || [];
  out.push(table(["Holder", "#Retains alone", "#Reachable in all", "Shortest path / accumulation"],
    holders.map((h) => el("tr", { class: "holder" },
      el("td", {}, h.object ? [addrLink(h.object.address), ` ${h.object.type || "?"}`] : rootName(h.root),
        el("div", { class: "muted" }, h.kind)),
      bytesCell(h.retained_bytes), bytesCell(h.reachable_bytes),
      el("td", {}, h.path && h.path.length ? pathList(h.path) :
        h.accumulation ? [addrLink(h.accumulation.object.address), ` ${h.accumulation.object.type || "?"}`] : "")))));
  const rest = d.holders && d.holders.rest;
  if (rest) out.push(el("p", { class: "muted" },
    `… and ${count(rest.holders)} more holders retaining ${bytes(rest.retained_bytes)}.`));
  return out;
}

function holderName(h) {
  if (!h) return "";
  if (h.kind === "object" && h.object) return [addrLink(h.object.address), ` ${h.object.type || "?"}`];
  if (h.kind === "goroutines" && h.group) return h.group.name;
  return rootName(h.root);
}

async function treePage(node, offset) {
  const [d, kids] = await Promise.all([
    api(`/api/tree/node?node=${node}`),
    api(`/api/tree/children?node=${node}&offset=${offset}&limit=${PAGE}`)]);
  const n = d.node;
  const grand = {};
  await Promise.all(kids.children.filter((c) => c.children > 0).slice(0, SUB_NODES).map(async (c) => {
    try { grand[c.node] = await api(`/api/tree/children?node=${c.node}&offset=0&limit=${SUB_PAGE}`); }
    catch (e) { /* the report holds only the largest; the cell shows as a leaf */ }
  }));
  const crumbs = el("div", { class: "crumbs", id: "owners" }, "Owners: ",
    d.owners.length ? d.owners.map((o, i) => [i ? " › " : "", nodeLink(o.node, o.name)]) : "none (the top)");
  const head = el("dl", { class: "figures" },
    el("div", {}, el("dt", {}, "Retained"), el("dd", { id: "node-retained", "data-bytes": n.retained_bytes }, bytes(n.retained_bytes))),
    el("div", {}, el("dt", {}, "Shallow"), el("dd", { id: "node-shallow", "data-bytes": n.shallow_bytes }, bytes(n.shallow_bytes))),
    el("div", {}, el("dt", {}, "Retained objects"), el("dd", { id: "node-objects", "data-value": n.retained_objects }, count(n.retained_objects))),
    el("div", {}, el("dt", {}, "Share of live heap"), el("dd", {}, pct(d.share))),
    el("div", {}, el("dt", {}, "Type"), el("dd", { class: "mono" }, n.type || n.kind)));
  const title = el("h1", { id: "node-name", "data-node": n.node }, n.name);
  const out = [title, crumbs, head];
  if (n.address) out.push(el("p", {}, "Object: ", addrLink(n.address)));
  out.push(el("h2", {}, "Dominator tree"),
    el("p", { class: "muted" }, "Width is retained bytes. Click a cell to descend; the grey cell is the node's own bytes and smaller children."),
    icicle(n, kids, grand));
  out.push(el("h2", {}, `Children (${count(kids.total)})`), pager(node, offset, kids.total),
    table(["Holds", "Type", "Address", "#Retained", "#Shallow", "#Objects"],
      kids.children.map((c) => el("tr", { class: "child", "data-node": c.node },
        el("td", {}, nodeLink(c.node, c.kind === "object" ? (c.type || "object") : c.name)),
        el("td", { class: "mono" }, c.type || ""), el("td", {}, addrLink(c.address)),
        bytesCell(c.retained_bytes), bytesCell(c.shallow_bytes),
        el("td", { class: "num" }, count(c.retained_objects))))));
  return out;
}

function pager(node, offset, total) {
  const links = [];
  if (offset > 0) links.push(el("a", { href: `#/tree/${node}?offset=${Math.max(0, offset - PAGE)}` }, "‹ previous"));
  if (offset + PAGE < total) links.push(el("a", { href: `#/tree/${node}?offset=${offset + PAGE}` }, "next ›"));
  return el("div", { class: "pager" }, links,
    total ? el("span", { class: "muted" }, `${offset + 1}–${Math.min(total, offset + PAGE)} of ${count(total)}`) : "");
}

// An icicle: the node on top, its children below, theirs below them; widths
// are retained bytes, so each row adds up to its parent.
function icicle(n, kids, grand) {
  const W = 1200, H = 30, svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${3 * H}`);
  svg.setAttribute("class", "icicle");
  svg.setAttribute("id", "icicle");
  const total = Math.max(1, n.retained_bytes);
  const cell = (x, y, w, doc, depth) => {
    const g = document.createElementNS(SVG_NS, "g");
    const rest = !doc.node && doc.node !== 0;
    g.setAttribute("class", rest ? "cell rest" : "cell");
    g.setAttribute("data-depth", depth);
    if (!rest) {
      g.setAttribute("data-node", doc.node);
      g.setAttribute("data-name", doc.name);
      g.setAttribute("data-retained", doc.retained_bytes);
      g.addEventListener("click", () => { location.hash = "#/tree/" + doc.node; });
    }
    const r = document.createElementNS(SVG_NS, "rect");
    r.setAttribute("x", x); r.setAttribute("y", y);
    r.setAttribute("width", Math.max(w, 0.5)); r.setAttribute("height", H - 1);
    if (!rest) r.setAttribute("fill", color(doc, depth));
    const t = document.createElementNS(SVG_NS, "title");
    t.textContent = `${doc.name}\nretained ${bytes(doc.retained_bytes)}, shallow ${bytes(doc.shallow_bytes || 0)}`;
    g.append(r, t);
    if (w > 40) {
      const text = document.createElementNS(SVG_NS, "text");
      text.setAttribute("x", x + 4); text.setAttribute("y", y + H / 2 + 4);
      const label = `${doc.name} ${bytes(doc.retained_bytes)}`;
      text.textContent = label.length * 6.2 > w - 8 ? label.slice(0, Math.max(0, Math.floor((w - 8) / 6.2) - 1)) + "…" : label;
      g.append(text);
    }
    svg.append(g);
  };
  const row = (children, x0, width, parentBytes, y, depth) => {
    let x = x0;
    for (const c of children) {
      const w = (width * c.retained_bytes) / Math.max(1, parentBytes);
      cell(x, y, w, c, depth);
      if (grand && grand[c.node] && depth === 1) row(grand[c.node].children, x, w, c.retained_bytes, y + H, 2);
      x += w;
    }
    if (x0 + width - x > 0.5) cell(x, y, x0 + width - x, { name: "own bytes and smaller", retained_bytes: parentBytes * (x0 + width - x) / width }, depth);
  };
  cell(0, 0, W, n, 0);
  row(kids.offset === 0 ? kids.children : [], 0, W, total, H, 1);
  return svg;
}

function color(doc, depth) {
  const palette = { root: [214, 55], goroutines: [150, 45], all: [220, 20], object: [28, 60] };
  const [hue, sat] = palette[doc.kind] || [0, 0];
  let h = 0;
  for (const ch of doc.type || doc.name || "") h = (h * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${(hue + (h % 40) - 20 + 360) % 360}, ${sat}%, ${40 + depth * 6}%)`;
}

async function objectPage(address, exclude) {
  const q = [`addr=${encodeURIComponent(address)}`].concat(exclude.map((e) => `exclude=${encodeURIComponent(e)}`));
  const d = await api(`/api/object?${q.join("&")}`);
  const o = d.object, n = d.node;
  const out = [el("h1", { id: "object-name" }, `${o.type || "untyped object"} `, el("span", { class: "mono" }, o.address)),
    el("div", { class: "crumbs" }, "Owners: ", d.owners.map((w, i) => [i ? " › " : "", nodeLink(w.node, w.name)])),
    el("dl", { class: "figures" },
      el("div", {}, el("dt", {}, "Size"), el("dd", { id: "object-size", "data-bytes": o.size }, bytes(o.size))),
      el("div", {}, el("dt", {}, "Retained"), el("dd", { id: "object-retained", "data-bytes": n.retained_bytes }, bytes(n.retained_bytes))),
      el("div", {}, el("dt", {}, "Live"), el("dd", { id: "object-live" }, o.live ? "yes" : "no (garbage)")),
      el("div", {}, el("dt", {}, "Dominator tree"), el("dd", {}, nodeLink(n.node, "show")))),
  ];
  out.push(el("h2", {}, "Paths from GC roots"));
  const toggles = excludeToggles(address, exclude, d.why.paths);
  out.push(toggles);
  if (!d.why.reachable) out.push(el("p", { class: "warning", id: "unreachable" },
    exclude.length ? "Not reachable without the excluded references: it would be collected." : "Unreachable: garbage."));
  if (d.why.caveat) out.push(el("p", { class: "muted" }, d.why.caveat));
  d.why.paths.forEach((p, i) => out.push(el("div", { class: "why-path", "data-index": i },
    el("div", { class: "muted" }, `Path ${i + 1}`), pathList(p.steps, p.root, d.root_nodes[i]))));
  out.push(el("h2", {}, `Points to (${count(d.fields.length + d.more_fields)})`),
    table(["Field", "Object", "Type", "#Size"], d.fields.map((f) => el("tr", {},
      el("td", { class: "mono" }, f.edge), el("td", {}, addrLink(f.target.address)),
      el("td", { class: "mono" }, f.target.type || ""), bytesCell(f.target.size)))));
  if (d.more_fields) out.push(el("p", { class: "muted" }, `… and ${count(d.more_fields)} more.`));
  out.push(el("h2", {}, `Pointed to by (${count(d.referrers.length + d.more_referrers)})`),
    table(["From", "Field", "Type"], d.referrers.map((r) => r.kind === "root"
      ? el("tr", {}, el("td", {}, nodeLink(r.node, `${r.root.kind} ${rootName(r.root)}`)), el("td", {}, ""), el("td", { class: "mono" }, r.root.type || ""))
      : el("tr", {}, el("td", {}, addrLink(r.object.address)), el("td", { class: "mono" }, r.edge), el("td", { class: "mono" }, r.object.type || "")))));
  if (d.more_referrers) out.push(el("p", { class: "muted" }, `… and ${count(d.more_referrers)} more.`));
  return out;
}

// `why --exclude` as toggles: each type along the paths can be ignored as a
// holder ("would it still be alive without it?"), or TYPE.FIELD typed in.
function excludeToggles(address, exclude, paths) {
  const types = new Set(exclude);
  for (const p of paths) for (const s of p.steps.slice(0, -1)) if (s.type) types.add(s.type);
  const go = (list) => { location.hash = "#/object/" + address + (list.length ? "?" + list.map((e) => "exclude=" + encodeURIComponent(e)).join("&") : ""); };
  const boxes = [...types].map((t) => {
    const box = el("input", { type: "checkbox", "data-exclude": t });
    box.checked = exclude.includes(t);
    box.addEventListener("change", () => go(box.checked ? exclude.concat([t]) : exclude.filter((e) => e !== t)));
    return el("label", {}, box, " without ", el("span", { class: "mono" }, t));
  });
  const input = el("input", { placeholder: "TYPE or TYPE.FIELD", class: "mono" });
  const form = el("form", {}, input, el("button", { type: "submit" }, "exclude"));
  form.addEventListener("submit", (e) => { e.preventDefault(); if (input.value.trim()) go(exclude.concat([input.value.trim()])); });
  return el("div", { class: "toggles" }, boxes, form);
}

async function typesPage() {
  const d = await api("/api/types");
  const cols = [["type", "Type"], ["objects", "#Objects"], ["bytes", "#Bytes"], ["live_objects", "#Live objects"],
    ["live_bytes", "#Live bytes"], ["retained_bytes", "#Retained"]];
  const rows = d.types.slice();
  const body = el("tbody", {});
  let key = "retained_bytes", desc = true;
  const render = () => {
    rows.sort((a, b) => {
      const x = a[key], y = b[key];
      const c = typeof x === "string" ? x.localeCompare(y) : x - y;
      return desc ? -c : c;
    });
    body.replaceChildren(...rows.map((r) => el("tr", { class: "type-row" },
      el("td", { class: "mono" }, r.type),
      el("td", { class: "num" }, count(r.objects)), bytesCell(r.bytes),
      el("td", { class: "num" }, count(r.live_objects)), bytesCell(r.live_bytes), bytesCell(r.retained_bytes))));
  };
  const head = el("tr", {}, cols.map(([k, label]) => {
    const th = el("th", { class: "sortable" + (label.startsWith("#") ? " num" : ""), "data-key": k }, label.replace(/^#/, ""));
    th.addEventListener("click", () => { desc = key === k ? !desc : k !== "type"; key = k; render(); });
    return th;
  }));
  render();
  return [el("h1", {}, "Types"), el("p", { class: "muted" },
    "Retained: what the objects of a type keep alive that nothing else holds. Click a column to sort."),
    el("table", { id: "types" }, el("thead", {}, head), body)];
}

async function goroutinesPage() {
  const d = await api("/api/goroutines");
  const out = [el("h1", {}, "Goroutines"), el("h2", {}, "Groups (alike goroutines retain together)"),
    table(["#Count", "State", "Blocked in", "Created by", "#Retained", "Goroutines"],
      d.groups.map((g) => el("tr", { class: "group" },
        el("td", { class: "num" }, g.count), el("td", {}, g.state + (g.wait_reason ? ` (${g.wait_reason})` : "")),
        el("td", { class: "mono" }, g.blocked_in || ""), el("td", { class: "mono" }, g.created_by || ""),
        bytesCell(g.retained_bytes),
        el("td", { class: "mono" }, g.goroutines.slice(0, 12).join(" ") + (g.goroutines.length > 12 ? " …" : "")))))];
  out.push(el("h2", {}, "Every goroutine"));
  for (const g of d.goroutines) out.push(el("details", {},
    el("summary", {}, `goroutine ${g.id} [${g.state}${g.wait_reason ? ", " + g.wait_reason : ""}]`),
    el("pre", { class: "mono" }, (g.frames || []).map((f) => `${f.function}\n    ${f.file || "?"}:${f.line || ""}`).join("\n"))));
  return out;
}

async function sitesPage() {
  const d = await api("/api/sites");
  const out = [el("h1", {}, "Allocation sites")];
  if (d.sampling && d.sampling.note) out.push(el("p", { class: "muted" }, d.sampling.note));
  for (const note of d.notes || []) out.push(el("div", { class: "warning" }, note));
  out.push(table(["Site", "#In use (profile)", "#Live", "#Retained", "Holders"],
    (d.sites || []).map((s) => el("tr", { class: "site" },
      el("td", {}, el("div", { class: "mono" }, s.site), el("div", { class: "muted" }, `${s.file || ""}:${s.line || ""}`)),
      bytesCell((s.profile || s.recorded || {}).inuse_bytes),
      el("td", { class: "num" }, bytes(s.live_bytes), el("div", { class: "muted" }, count(s.live_objects) + " objects")),
      bytesCell(s.retained_bytes),
      el("td", {}, (s.retainers || []).map((r) => el("details", {},
        el("summary", {}, `${rootName(r.root)}: ${count(r.objects)} objects, ${bytes(r.bytes)}`),
        pathList(r.example))))))));
  return out;
}

// ---- routing ----------------------------------------------------------------

function route() {
  const hash = location.hash.replace(/^#/, "") || "/overview";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  switch (parts[0]) {
    case "tree": return ["tree", () => treePage(Number(parts[1] || 0), Number(params.get("offset") || 0))];
    case "object": return ["object", () => objectPage(decodeURIComponent(parts[1] || ""), params.getAll("exclude"))];
    case "types": return ["types", typesPage];
    case "goroutines": return ["goroutines", goroutinesPage];
    case "sites": return ["sites", sitesPage];
    default: return ["overview", overviewPage];
  }
}

let generation = 0;
let shown = null;
async function render() {
  shown = location.hash;
  const [page, build] = route();
  const mine = ++generation;
  main.dataset.state = "loading";
  main.dataset.page = page;
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.page === page);
  try {
    const content = await build();
    if (mine !== generation) return;
    main.replaceChildren(...content.flat());
    main.dataset.state = "ready";
  } catch (e) {
    if (mine !== generation) return;
    main.replaceChildren(el("h1", {}, "Cannot show this"), el("p", { class: "error", id: "error" }, e.message));
    main.dataset.state = "error";
  }
  window.scrollTo(0, 0);
}

document.getElementById("goto").addEventListener("submit", (e) => {
  e.preventDefault();
  const v = document.getElementById("goto-addr").value.trim();
  if (v) location.hash = "#/object/" + v;
});
// Either event may come first (or alone) for a fragment navigation.
const navigated = () => { if (location.hash !== shown) render(); };
window.addEventListener("hashchange", navigated);
window.addEventListener("popstate", navigated);
render();
