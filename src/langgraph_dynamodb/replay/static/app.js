// The replay UI's page: hash routes (#/threads, #/thread/ID, #/memories, #/cache), each
// view built from the JSON API (/api/...). No framework, no build step; text is always
// set as text (never parsed as HTML).
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || sessionStorage.getItem("token") || "";
if (TOKEN) sessionStorage.setItem("token", TOKEN);
let INFO = { writes: false };

// --- small helpers --------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
    el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(path, params, body) {
  const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null));
  const init = { headers: { Authorization: "Bearer " + TOKEN } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(`/api/${path}?${query}`, init);
  const data = await resp.json();
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}

function showError(err) {
  const box = document.getElementById("error");
  box.textContent = err ? String(err.message || err) : "";
  box.hidden = !err;
}

function when(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z") : ""; }
function size(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : n >= 1024 ? (n / 1024).toFixed(1) + " KB" : n + " B"; }
function badge(text, kind) { return h("span", { class: `badge ${kind || text}` }, text); }

// --- a JSON value, collapsible; {"__truncated__": true, "length": n} marks a cut ------------
function isCut(v) { return v && typeof v === "object" && v.__truncated__ === true; }
function hasCut(v) { return isCut(v) || (v && typeof v === "object" && Object.values(v).some(hasCut)); }

function jsonView(value, depth = 0) {
  if (isCut(value)) {  // a cut string keeps its head as "text"; a cut list ends with the marker
    const more = h("span", { class: "cut" }, `… (${value.length} in all)`);
    return "text" in value ? h("span", {}, h("span", { class: "str" }, JSON.stringify(value.text).slice(0, -1)), more) : more;
  }
  if (value === null || typeof value !== "object") {
    const kind = typeof value === "string" ? "str" : typeof value === "number" ? "num" : "lit";
    return h("span", { class: kind }, JSON.stringify(value));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (!entries.length) return h("span", { class: "lit" }, Array.isArray(value) ? "[]" : "{}");
  const label = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return h("details", { open: depth < 2 },
    h("summary", {}, label),
    entries.map(([k, v]) => h("div", {}, h("span", { class: "key" }, `${k}: `), jsonView(v, depth + 1))));
}

// --- threads ----------------------------------------------------------------------------
async function threadsView(view, params) {
  const q = params.get("q") || "";
  const search = h("input", { id: "thread-search", type: "search", placeholder: "thread id or metadata value", value: q, size: 40 });
  const form = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); location.hash = "#/threads?q=" + encodeURIComponent(search.value); } },
    search, h("button", { type: "submit" }, "Search"));
  const body = h("tbody");
  const more = h("button", { id: "threads-more", hidden: true }, "More");
  const total = h("span", { id: "threads-total", class: "muted" });
  const refresh = h("button", { type: "button", id: "threads-refresh", title: "list the table's threads anew" }, "Refresh");
  form.append(total, refresh);
  const notice = h("p", { id: "threads-notice", class: "notice", hidden: true });
  view.replaceChildren(form, notice, h("table", { id: "threads" },
    h("thead", {}, h("tr", {}, ["Thread", "Status", "Steps", "Checkpoints", "Last activity", "Size"].map((t) => h("th", {}, t)))), body), more);
  let cursor = null;
  async function page(fresh) {
    const data = await api("threads", { q: q || null, cursor, refresh: fresh ? 1 : null });
    for (const t of data.threads) {
      body.append(h("tr", { class: "row", "data-thread": t.thread_id, onclick: () => { location.hash = "#/thread/" + encodeURIComponent(t.thread_id); } },
        h("td", {}, h("a", { href: "#/thread/" + encodeURIComponent(t.thread_id) }, t.thread_id)),
        h("td", {}, badge(t.status)), h("td", { class: "num" }, t.steps), h("td", { class: "num" }, t.checkpoints),
        h("td", {}, when(t.last_activity)), h("td", { class: "num" }, size(t.bytes))));
    }
    if (!data.threads.length && !cursor) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No threads.")));
    cursor = data.cursor;
    more.hidden = !cursor;
    total.textContent = data.total === null
      ? `newest first, from the thread directory, read ${when(data.listed_at)}`
      : `${data.total.toLocaleString("en")} threads in the table, listed ${when(data.listed_at)}`;
    notice.textContent = data.notice || "";
    notice.hidden = !data.notice;
  }
  more.onclick = () => page().catch(showError);
  refresh.onclick = () => { body.replaceChildren(); cursor = null; page(true).catch(showError); };
  await page();
}

// --- a thread: the tree of checkpoints, one checkpoint's details --------------------------
async function threadView(view, threadId, params) {
  const state = { checkpoints: [], cursor: null, selected: params.get("id"), selectedNs: params.get("ns") || "" };
  const tree = h("div", { id: "tree", class: "panel" });
  const detail = h("div", { id: "detail", class: "panel" }, h("p", { class: "muted" }, "Click a checkpoint."));
  const older = h("button", { id: "load-older", hidden: true }, "Load older checkpoints");
  view.replaceChildren(h("h2", {}, "Thread ", h("code", {}, threadId)), findForm(threadId, select),
    h("div", { class: "split" }, h("div", {}, older, tree), detail));

  async function load() {
    const data = await api("thread", { thread: threadId, cursor: state.cursor });
    state.checkpoints.push(...data.checkpoints);
    state.cursor = data.cursor;
    older.hidden = !state.cursor;
    drawTree(tree, state, select);
  }
  function select(ns, id) {
    state.selected = id; state.selectedNs = ns;
    for (const b of tree.querySelectorAll(".cp")) b.classList.toggle("selected", b.dataset.id === id && b.dataset.ns === ns);
    showCheckpoint(detail, threadId, ns, id, reload).catch(showError);
  }
  async function reload(ns, id) {
    state.checkpoints = []; state.cursor = null; delete detail.dataset.shown;
    await load();
    select(ns, id);
  }
  older.onclick = () => load().catch(showError);
  await load();
  if (!state.selected && state.checkpoints.length) state.selected = state.checkpoints[0].checkpoint_id;
  if (state.selected) select(state.selectedNs, state.selected);
  tree.scrollTop = tree.scrollHeight;
}

function cpButton(cp, select) {
  return h("button", { class: "cp", "data-id": cp.checkpoint_id, "data-ns": cp.checkpoint_ns, "data-step": cp.step, onclick: () => select(cp.checkpoint_ns, cp.checkpoint_id) },
    h("span", { class: "step" }, `#${cp.step}`),
    h("span", { class: "nodes" }, cp.nodes.length ? cp.nodes.join(", ") : cp.source),
    cp.next.length ? h("span", { class: "muted" }, ` → ${cp.next.join(", ")}`) : null, " ",
    cp.interrupts.length ? badge(`interrupt ×${cp.interrupts.length}`, "interrupt") : null,
    cp.errors.length ? badge("error", "error") : null,
    cp.pending_writes ? badge(`${cp.pending_writes} write${cp.pending_writes === 1 ? "" : "s"}`, "writes") : null);
}

// Checkpoints oldest first; a fork's other children hang under it as branches; a subgraph's
// namespace nests under the checkpoint it ran from (its metadata's "parents"; else the
// last one before it, ids being time-ordered).
function drawTree(tree, state, select) {
  const byNs = new Map();
  for (const cp of state.checkpoints) {
    if (!byNs.has(cp.checkpoint_ns)) byNs.set(cp.checkpoint_ns, []);
    byNs.get(cp.checkpoint_ns).push(cp);
  }
  const anchored = new Map();  // "ns|id" of a checkpoint -> child namespaces
  for (const [ns, cps] of byNs) {
    if (!ns) continue;
    const parentNs = ns.includes("|") ? ns.slice(0, ns.lastIndexOf("|")) : "";
    const first = cps.reduce((a, b) => (a.checkpoint_id < b.checkpoint_id ? a : b));
    const anchors = (byNs.get(parentNs) || []).filter((c) => c.checkpoint_id < first.checkpoint_id);
    const named = (first.parents || {})[parentNs];
    const anchor = anchors.some((c) => c.checkpoint_id === named) ? named
      : anchors.length ? anchors.reduce((a, b) => (a.checkpoint_id > b.checkpoint_id ? a : b)).checkpoint_id : "";
    const key = parentNs + "|" + anchor;
    if (!anchored.has(key)) anchored.set(key, []);
    anchored.get(key).push(ns);
  }
  function chain(ns) {
    const cps = [...(byNs.get(ns) || [])].sort((a, b) => (a.checkpoint_id < b.checkpoint_id ? -1 : 1));
    const ids = new Set(cps.map((c) => c.checkpoint_id));
    const kids = new Map();
    for (const c of cps) {
      const p = ids.has(c.parent_id) ? c.parent_id : "";
      if (!kids.has(p)) kids.set(p, []);
      kids.get(p).push(c);
    }
    function line(start) {  // one line of descent: the newest child goes on, the others branch
      const ul = h("ul", {});
      let cur = start;
      while (cur) {
        const children = kids.get(cur.checkpoint_id) || [];
        const li = h("li", {}, cpButton(cur, select));
        for (const sub of anchored.get(ns + "|" + cur.checkpoint_id) || []) li.append(nsBlock(sub));
        for (const fork of children.slice(0, -1)) { const b = line(fork); b.classList.add("branch"); li.append(b); }
        ul.append(li);
        cur = children[children.length - 1];
      }
      return ul;
    }
    const roots = kids.get("") || [];
    const out = h("div", {}, roots.map(line));
    for (const sub of anchored.get(ns + "|") || []) out.prepend(nsBlock(sub));
    return out;
  }
  function nsBlock(ns) {
    return h("details", { class: "ns", open: true, "data-ns": ns }, h("summary", {}, `subgraph ${ns}`), chain(ns));
  }
  tree.replaceChildren(chain(""));
  for (const b of tree.querySelectorAll(".cp")) b.classList.toggle("selected", b.dataset.id === state.selected && b.dataset.ns === state.selectedNs);
}

async function showCheckpoint(detail, threadId, ns, id, reload) {
  const where = { thread: threadId, ns, id };
  if (detail.dataset.shown === `${ns}|${id}`) return;  // already shown
  const ticket = detail.dataset.ticket = String(Number(detail.dataset.ticket || 0) + 1);
  detail.setAttribute("aria-busy", "true");
  const cp = await api("checkpoint", where).finally(() => {
    if (detail.dataset.ticket === ticket) detail.removeAttribute("aria-busy");
  });
  if (detail.dataset.ticket !== ticket) return;  // another checkpoint was clicked meanwhile
  detail.dataset.shown = `${ns}|${id}`;
  const pane = h("div", { id: "tab-pane" });
  const tabs = { State: () => stateTab(cp, where), Diff: () => diffTab(where), Metadata: () => jsonBlock(cp.metadata),
    Writes: () => writesTab(cp) };
  const bar = h("div", { class: "tabs" }, Object.keys(tabs).map((name) => h("button", { "data-tab": name, onclick: (e) => open(name, e.target) }, name)));
  async function open(name, button) {
    for (const b of bar.children) b.classList.toggle("active", b === button);
    pane.replaceChildren(await tabs[name]());
  }
  detail.replaceChildren(...[
    h("h3", {}, `Checkpoint ${id}`), ns ? h("p", {}, "namespace ", h("code", {}, ns)) : null,
    h("p", { class: "muted" }, cp.next.length ? `next: ${cp.next.join(", ")}` : "next: nothing (the run ended here)"),
    cp.interrupts.map((i) => h("div", { class: "interrupt" }, badge("interrupt", "interrupt"), " ", jsonView(i.value))),
    cp.errors.map((e) => h("div", { class: "error-write" }, badge("error", "error"), ` ${e.node}: ${e.error}`)),
    bar, pane, INFO.writes ? actions(cp, where, reload) : null].flat().filter(Boolean));
  await open("State", bar.children[0]);
}

function jsonBlock(value) { return h("div", { class: "json" }, jsonView(value)); }

function stateTab(cp, where) {
  const channels = Object.entries(cp.state);
  if (!channels.length) return h("p", { class: "muted" }, "No channel has a value.");
  return h("div", { id: "state" }, channels.map(([channel, value]) => {
    const box = h("div", { class: "json" }, jsonView(value));
    const all = hasCut(value) ? h("button", { class: "link show-all", onclick: async () => {
      const full = await api("value", { ...where, channel });
      box.replaceChildren(jsonView(full.value)); all.remove();
    } }, "show all") : null;
    return h("div", { class: "channel", "data-channel": channel }, h("h4", {}, channel, " ", all), box);
  }));
}

async function diffTab(where) {
  const d = await api("diff", where);
  const changed = d.channels.filter((c) => c.change !== "same");
  if (!d.a) return h("p", { class: "muted" }, "The first checkpoint: no parent to compare with.");
  if (!changed.length) return h("p", { class: "muted" }, "No channel changed.");
  return h("div", { class: "diff", id: "diff" }, h("p", { class: "muted" }, `from ${d.a}`),
    changed.map((c) => h("div", { class: "channel", "data-channel": c.channel },
      h("h4", {}, c.channel, " ", h("span", { class: c.change }, c.change)),
      h("table", {}, h("tbody", {}, c.diff.map((x) => h("tr", {}, h("td", {}, x.path || "(whole)"), h("td", { class: x.kind }, x.kind),
        h("td", {}, short(x.old)), h("td", {}, short(x.new)))))))));
}

function short(value) {  // a diff's side, in one table cell
  const text = value === undefined ? "" : JSON.stringify(value);
  return text.length > 300 ? text.slice(0, 300) + ` … (${text.length} chars)` : text;
}

function writesTab(cp) {
  if (!cp.pending_writes.length) return h("p", { class: "muted" }, "No pending writes.");
  return h("table", { id: "writes" }, h("tbody", {}, cp.pending_writes.map((w) => h("tr", {},
    h("td", {}, w.task), h("td", {}, w.channel), h("td", { class: "json" }, jsonView(w.value))))));
}

function findForm(threadId, select) {
  const path = h("input", { id: "find-path", placeholder: "channel path, e.g. messages[-1].content", size: 32 });
  const mode = h("select", { id: "find-mode" }, h("option", { value: "equals" }, "equals (JSON)"), h("option", { value: "regex" }, "matches regex"));
  const value = h("input", { id: "find-value", placeholder: "value", size: 24 });
  const result = h("span", { id: "find-result", class: "found" });
  return h("form", { class: "toolbar", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const params = { thread: threadId, path: path.value, [mode.value]: value.value };
      const { found } = await api("find", params);
      result.replaceChildren(found ? h("span", {}, `first at step ${found.step}: `,
        h("button", { class: "link", onclick: (ev) => { ev.preventDefault(); select(found.checkpoint_ns, found.checkpoint_id); } }, found.checkpoint_id))
        : h("span", { class: "muted" }, "no checkpoint matches"));
    } catch (err) { showError(err); }
  } }, "Find the first checkpoint where", path, mode, value, h("button", { type: "submit" }, "Find"), result);
}

// --- time travel (only with --graph and --allow-writes) ----------------------------------------
function actions(cp, where, reload) {
  const channel = h("input", { id: "fork-channel", list: "fork-channels", placeholder: "channel", value: Object.keys(cp.state)[0] || "" });
  const channels = h("datalist", { id: "fork-channels" }, Object.keys(cp.state).map((c) => h("option", { value: c })));
  const value = h("textarea", { id: "fork-value", rows: 3, placeholder: "the new value, as JSON" });
  const asNode = h("input", { id: "fork-as-node", placeholder: "as node (optional)" });
  const answer = h("textarea", { id: "answer-value", rows: 2, placeholder: "the answer, as JSON" });
  async function run(action, body) {
    try {
      const out = await api(action, {}, { ...where, ...body });
      if (out.error) showError(`the run stopped: ${out.error}`); else showError(null);
      await reload(out.created.checkpoint_ns, out.created.checkpoint_id);
    } catch (err) { showError(err); }
  }
  const parse = (text) => JSON.parse(text);
  const root = where.ns ? (cp.parents || {})[""] : null;  // the root graph's checkpoint that ran this subgraph
  return h("div", { class: "actions", id: "actions" }, h("h4", {}, "Time travel"),
    h("fieldset", {}, h("legend", {}, "Edit a channel and fork"), channel, channels, asNode, value,
      h("button", { id: "fork", class: "primary", onclick: () => { let v; try { v = parse(value.value); } catch (e) { return showError("the value is not JSON: " + e.message); }
        run("fork", { values: { [channel.value]: v }, as_node: asNode.value || null }); } }, "Fork")),
    cp.next.length ? h("button", { id: "resume", onclick: () => run("resume", {}) }, "Resume / replay from here") : null,
    root ? h("p", { class: "muted", id: "subgraph-note" }, "A subgraph runs only inside the root graph: a resume goes on from this checkpoint only where the subgraph's run stopped; ",
      "from an earlier one LangGraph reruns the subgraph from its start, so replay the root graph from the step that ran it. ",
      h("button", { id: "replay-root", onclick: () => run("resume", { ns: "", id: root }) }, `Replay the root graph from ${root}`)) : null,
    cp.interrupts.length ? h("fieldset", {}, h("legend", {}, "Answer the interrupt"), answer,
      h("button", { id: "answer", class: "primary", onclick: () => { let v; try { v = parse(answer.value); } catch (e) { return showError("the answer is not JSON: " + e.message); }
        run("answer", { value: v, interrupt_id: cp.interrupts.length > 1 ? cp.interrupts[0].id : null }); } }, "Answer")) : null);
}

// --- memories (the store) and the node cache ------------------------------------------------
async function memoriesView(view, params) {
  const ns = params.get("ns") || "";
  const list = h("ul", { id: "namespaces", class: "ns-list" });
  const items = h("div", { id: "items" });
  const query = h("input", { id: "memory-query", type: "search", placeholder: "search (semantic when indexed)", size: 30 });
  const filter = h("input", { id: "memory-filter", placeholder: 'filter, JSON: {"kind": "fact"}', size: 26 });
  const form = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); showItems().catch(showError); } },
    h("strong", { id: "memory-scope" }, ns ? `in ${ns}` : "in every namespace"), query, filter, h("button", { type: "submit" }, "Search"));
  view.replaceChildren(h("div", { class: "split" }, h("div", { class: "panel" }, h("h3", {}, "Namespaces"), list),
    h("div", { class: "panel" }, form, items)));
  const data = await api("namespaces", {});
  if (!data.namespaces.length) list.append(h("li", { class: "muted" }, "The store is empty."));
  for (const n of data.namespaces) list.append(h("li", { "data-ns": n.join("/"), onclick: () => { location.hash = "#/memories?ns=" + encodeURIComponent(n.join("/")); } }, n.join(" / ")));
  async function showItems() {
    const out = await api("items", { ns, q: query.value || null, filter: filter.value || null });
    items.replaceChildren(h("p", { class: "muted" }, out.semantic ? "ranked by semantic similarity" : `${out.items.length} item${out.items.length === 1 ? "" : "s"}`),
      h("table", { id: "memory-items" }, h("thead", {}, h("tr", {}, ["Namespace", "Key", "Value", "Updated", "Score"].map((t) => h("th", {}, t)))),
        h("tbody", {}, out.items.map((it) => h("tr", { "data-key": it.key }, h("td", {}, it.namespace.join(" / ")), h("td", {}, it.key),
          h("td", { class: "json" }, jsonView(it.value)), h("td", {}, when(it.updated_at)), h("td", { class: "num" }, it.score == null ? "" : it.score.toFixed(3)))))));
    if (!out.items.length) items.append(h("p", { class: "muted" }, "No items."));
  }
  await showItems();
}

async function cacheView(view) {
  const { entries } = await api("cache", {});
  const columns = entries.length ? Object.keys(entries[0]) : [];
  view.replaceChildren(h("h2", {}, "Node cache"), entries.length
    ? h("table", { id: "cache" }, h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c)))),
      h("tbody", {}, entries.map((e) => h("tr", {}, columns.map((c) => h("td", {}, typeof e[c] === "object" ? JSON.stringify(e[c]) : e[c]))))))
    : h("p", { class: "muted", id: "cache" }, "The node cache is empty."));
}

// --- routes -------------------------------------------------------------------------------
async function route() {
  const [path, query] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const view = document.getElementById("view");
  const parts = (path || "/threads").split("/").filter(Boolean);
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.id === "nav-" + (parts[0] === "thread" ? "threads" : parts[0]));
  showError(null);
  try {
    if (parts[0] === "thread" && parts[1]) await threadView(view, decodeURIComponent(parts[1]), params);
    else if (parts[0] === "memories") await memoriesView(view, params);
    else if (parts[0] === "cache") await cacheView(view);
    else await threadsView(view, params);
  } catch (err) { showError(err); }
}

async function start() {
  try {
    INFO = await api("info", {});
    document.getElementById("table").textContent = INFO.table ? `table ${INFO.table}` : "";
    const mode = document.getElementById("mode");
    mode.textContent = INFO.writes ? "writes allowed" : "read-only";
    mode.className = "badge " + (INFO.writes ? "interrupted" : "finished");
    if (INFO.read_only_reason) mode.title = INFO.read_only_reason;
  } catch (err) { showError(err); }
  window.addEventListener("hashchange", route);
  await route();
}
start();
