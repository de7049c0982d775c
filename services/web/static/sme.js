// The SME page: post an order with its routing, compare the quotes (Gantt + cost breakdown),
// accept one, follow the order's lots and events live, rate the factories once it is done.
// Everything shown comes from the API answers of the signed-in organisation: nothing else.
"use strict";

(function () {
  const sf = window.sharefab;
  const $ = (sel) => document.querySelector(sel);
  const ORDER_STATES = ["new", "quoted", "accepted", "in_production", "done", "cancelled",
                        "expired", "failed"];
  const STEP_COLORS = ["#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#14b8a6",
                       "#ec4899", "#84cc16"];

  const state = {
    processes: [], materials: [], orders: [], selected: null, quotes: [], bookings: [],
    events: [], ratings: [], charts: [], stream: null,
    canWrite: false,  // a viewer only reads: no form, no accept, no rating
  };

  // ---- small helpers (the page's own; prefixed so they never clash with the shell's) -----

  const smeEl = sharefab.el;  // the shell's DOM helper

  function smeShowError(target, err) {
    const box = $(target);
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    const status = err.status ? `${err.status}: ` : "";
    box.textContent = `${status}${err.detail || err.message || err}`;
    box.hidden = false;
  }

  // A key whose translation is missing shows as itself; then fall back to the raw value.
  function smeLabel(key, raw) {
    const text = sf.t(key);
    return text === key ? raw : text;
  }

  function smeStatus(status) {
    return smeLabel(`sme.status.${status}`, status);
  }

  function smeIso(local) {
    // <input type=datetime-local> gives local wall time; the API wants UTC.
    return new Date(local).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  function smeLocalInput(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
           `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
  }

  function smeMaterialName(code) {
    const m = state.materials.find((x) => x.code === code);
    if (!m) return code;
    return sf.lang === "en" ? m.name.en : m.name.zh;
  }

  // ---- the orders list ---------------------------------------------------------------------

  async function loadOrders() {
    state.orders = await sf.api("/orders", { query: { limit: 200 } });
    renderOrders();
  }

  function renderOrders() {
    const body = $("#sme-orders-table tbody");
    body.replaceChildren();
    const rows = [...state.orders].sort((a, b) => b.created_at.localeCompare(a.created_at));
    for (const o of rows) {
      const open = smeEl("button", { type: "button", class: "link", text: sf.t("sme.orders.open"),
                                     onclick: () => selectOrder(o.id) });
      body.append(smeEl("tr", { "data-order": o.id, class: o.id === state.selected ? "selected" : null },
        smeEl("td", { text: o.id }), smeEl("td", { text: smeMaterialName(o.material) }),
        smeEl("td", { class: "num", text: String(o.quantity) }),
        smeEl("td", { text: sf.fmt.datetime(o.due) }),
        smeEl("td", {}, smeEl("span", { class: `badge ${o.status}`, "data-status": o.status,
                                        text: smeStatus(o.status) })),
        smeEl("td", {}, open)));
    }
    $("#sme-orders-empty").hidden = rows.length > 0;
  }

  // ---- the routing builder -----------------------------------------------------------------

  function processOptions(selected) {
    const select = smeEl("select", { class: "step-process", required: true });
    const families = new Map();
    for (const p of state.processes) {
      if (!families.has(p.family.code)) families.set(p.family.code, { family: p.family, items: [] });
      families.get(p.family.code).items.push(p);
    }
    for (const { family, items } of families.values()) {
      const group = smeEl("optgroup", { label: sf.lang === "en" ? family.name.en : family.name.zh });
      for (const p of items) {
        group.append(smeEl("option", { value: p.code, selected: p.code === selected,
                                       text: `${sf.processName(p.code)} (${p.code})` }));
      }
      select.append(group);
    }
    return select;
  }

  function stepRows() {
    return [...document.querySelectorAll("#sme-steps tbody tr")];
  }

  function readSteps() {
    return stepRows().map((row) => ({
      id: row.querySelector(".step-id").value.trim(),
      process: row.querySelector(".step-process").value,
      minutes_per_piece: Number(row.querySelector(".step-mpp").value),
      setup_min: Number(row.querySelector(".step-setup").value || 0),
      after: [...row.querySelectorAll(".step-after input:checked")].map((c) => c.value),
    }));
  }

  function renderSteps(steps) {
    const body = $("#sme-steps tbody");
    body.replaceChildren();
    steps.forEach((s, i) => {
      const after = smeEl("div", { class: "step-after" });
      // Precedence only on earlier steps: the routing cannot get a cycle from this builder.
      for (const prev of steps.slice(0, i)) {
        after.append(smeEl("label", { class: "check" },
          smeEl("input", { type: "checkbox", value: prev.id, checked: s.after.includes(prev.id),
                           onchange: () => renderSteps(readSteps()) }), prev.id));
      }
      const remove = smeEl("button", { type: "button", class: "link step-remove",
                                       text: sf.t("sme.routing.remove"),
                                       onclick: () => {
                                         const rest = readSteps().filter((_, j) => j !== i);
                                         for (const r of rest) r.after = r.after.filter((a) => a !== s.id);
                                         renderSteps(rest);
                                       } });
      body.append(smeEl("tr", { "data-step": s.id },
        smeEl("td", {}, smeEl("input", { class: "step-id", value: s.id, maxlength: "64", size: "6",
                                         onchange: () => renderSteps(readSteps()) })),
        smeEl("td", {}, processOptions(s.process)),
        smeEl("td", {}, smeEl("input", { class: "step-mpp", type: "number", min: "0.01",
                                         step: "0.01", value: String(s.minutes_per_piece) })),
        smeEl("td", {}, smeEl("input", { class: "step-setup", type: "number", min: "0",
                                         value: String(s.setup_min) })),
        smeEl("td", {}, after.childElementCount ? after : smeEl("span", { class: "hint", text: "–" })),
        smeEl("td", {}, steps.length > 1 ? remove : "")));
    });
  }

  function addStep() {
    const steps = readSteps();
    let n = steps.length + 1;
    while (steps.some((s) => s.id === `s${n}`)) n += 1;
    const last = steps[steps.length - 1];
    steps.push({ id: `s${n}`, process: "machining.cnc_milling", minutes_per_piece: 1,
                 setup_min: 0, after: last ? [last.id] : [] });
    renderSteps(steps);
  }

  function freshOrderId() {
    const stamp = new Date().toISOString().replace(/[-:TZ.]/g, "").slice(2, 14);
    return `${sf.me.org}-${stamp}`.slice(0, 64);
  }

  function resetForm() {
    const due = new Date(Date.now() + 5 * 24 * 3600 * 1000);
    due.setMinutes(0, 0, 0);
    $("#sme-order-id").value = freshOrderId();
    $("#sme-due").value = smeLocalInput(due);
    renderSteps([
      { id: "cut", process: "cutting.saw", minutes_per_piece: 0.5, setup_min: 20, after: [] },
      { id: "mill", process: "machining.cnc_milling", minutes_per_piece: 4, setup_min: 30,
        after: ["cut"] },
    ]);
  }

  function readOrder() {
    const form = $("#sme-order-form");
    const value = (name) => form.elements[name].value;
    return {
      id: value("id").trim(), customer: sf.me.org, material: value("material"),
      quantity: Number(value("quantity")), due: value("due") ? smeIso(value("due")) : "",
      value: Number(value("value") || 0), pricing: value("pricing"),
      max_factories: Number(value("max_factories")), min_lot: Number(value("min_lot")),
      steps: readSteps(),
    };
  }

  async function submitOrder(event) {
    event.preventDefault();
    smeShowError("#sme-form-error", null);
    const button = $("#sme-submit");
    button.disabled = true;
    try {
      const order = await sf.api("/orders", { method: "POST", body: readOrder() });
      state.orders.push(order);
      renderOrders();
      resetForm();
      await selectOrder(order.id);
      await requestQuotes();
    } catch (err) {
      smeShowError("#sme-form-error", err);
    } finally {
      button.disabled = false;
    }
  }

  // ---- one order: quotes, lots, timeline, ratings ----------------------------------------

  function currentOrder() {
    return state.orders.find((o) => o.id === state.selected) || null;
  }

  async function selectOrder(orderId) {
    state.selected = orderId;
    state.quotes = [];
    state.bookings = [];
    state.events = [];
    smeShowError("#sme-detail-error", null);
    $("#sme-detail").hidden = false;
    renderOrders();
    await refreshOrder();
    $("#sme-detail").scrollIntoView({ block: "start" });
  }

  async function refreshOrder() {
    const id = state.selected;
    if (!id) return;
    const path = `/orders/${encodeURIComponent(id)}`;
    const [order, quotes, bookings, events] = await Promise.all([
      sf.api(path), sf.api(`${path}/quotes`), sf.api("/bookings", { query: { order: id } }),
      sf.api(`${path}/events`)]);
    if (state.selected !== id) return;
    const i = state.orders.findIndex((o) => o.id === id);
    if (i >= 0) state.orders[i] = order; else state.orders.push(order);
    state.quotes = quotes;
    state.bookings = bookings;
    state.events = events;
    state.ratings = order.status === "done" ? await sf.api(`${path}/ratings`) : [];
    renderOrders();
    renderDetail();
  }

  function renderDetail() {
    const order = currentOrder();
    if (!order) return;
    $("#sme-detail-id").textContent = order.id;
    const badge = $("#sme-detail-status");
    badge.textContent = smeStatus(order.status);
    badge.dataset.status = order.status;
    badge.className = `badge ${order.status}`;
    $("#sme-get-quotes").hidden = !state.canWrite || !["new", "quoted", "expired"].includes(order.status);
    renderQuotes(order);
    renderLots();
    renderTimeline();
    renderRating(order);
  }

  async function requestQuotes() {
    const id = state.selected;
    smeShowError("#sme-detail-error", null);
    $("#sme-quotes-busy").hidden = false;
    $("#sme-get-quotes").disabled = true;
    try {
      await sf.api(`/orders/${encodeURIComponent(id)}/quotes`, { method: "POST" });
      await refreshOrder();
    } catch (err) {
      smeShowError("#sme-detail-error", err);
    } finally {
      $("#sme-quotes-busy").hidden = true;
      $("#sme-get-quotes").disabled = false;
    }
  }

  async function acceptQuote(quoteId) {
    smeShowError("#sme-detail-error", null);
    try {
      await sf.api(`/quotes/${encodeURIComponent(quoteId)}/accept`, { method: "POST" });
    } catch (err) {
      smeShowError("#sme-detail-error", err);
    }
    await refreshOrder();
  }

  function disposeCharts() {
    for (const c of state.charts) c.dispose();
    state.charts = [];
  }

  function breakdownTable(quote) {
    const table = smeEl("table", { class: "table breakdown" });
    const order = ["processing", "transport", "total", "tardiness_penalty", "score"];
    const keys = [...order.filter((k) => k in quote.cost_breakdown),
                  ...Object.keys(quote.cost_breakdown).filter((k) => !order.includes(k))];
    for (const k of keys) {
      table.append(smeEl("tr", { "data-cost": k },
        smeEl("th", { text: smeLabel(`sme.cost.${k}`, k) }),
        smeEl("td", { class: "num", text: sf.fmt.money(quote.cost_breakdown[k]) })));
    }
    return table;
  }

  function renderQuotes(order) {
    disposeCharts();
    const grid = $("#sme-quotes");
    grid.replaceChildren();
    // The offered ones while choosing; after an accept, the accepted one (what was bought).
    const accepted = state.quotes.filter((q) => q.status === "accepted");
    const shown = accepted.length ? accepted : state.quotes.filter((q) => q.status === "offered");
    const canAccept = state.canWrite && !accepted.length && ["quoted", "new"].includes(order.status);
    for (const q of shown) {
      const planned = q.plan.status === "planned";
      const gantt = smeEl("div", { class: "gantt", "data-quote": q.id });
      const card = smeEl("article", { class: `quote card kind-${q.status}`, "data-quote": q.id,
                                      "data-kind": q.kind },
        smeEl("h3", {}, smeLabel(`sme.kind.${q.kind}`, q.kind), " ",
              smeEl("span", { class: `badge ${q.status}`,
                              text: smeLabel(`sme.quote_status.${q.status}`, q.status) })),
        smeEl("dl", { class: "facts" },
          smeEl("dt", { text: sf.t("sme.quotes.total") }),
          smeEl("dd", { class: "total num", text: sf.fmt.money(q.total_cost) }),
          smeEl("dt", { text: sf.t("sme.quotes.completion") }),
          smeEl("dd", { class: "completion", text: q.completion ? sf.fmt.datetime(q.completion) : "-" }),
          smeEl("dt", { text: sf.t("sme.quotes.lateness") }),
          smeEl("dd", { class: "lateness num", text: sf.fmt.hours(q.lateness_min / 60) }),
          smeEl("dt", { text: sf.t("sme.quotes.factories") }),
          smeEl("dd", { class: "factories num",
                        text: String(new Set(q.plan.allocations.map((a) => a.factory)).size) })),
        planned ? gantt : smeEl("p", { class: "empty", text: q.plan.reason || sf.t("sme.quotes.unmatched") }),
        breakdownTable(q));
      if (canAccept && planned && q.status === "offered") {
        card.append(smeEl("button", { type: "button", class: "accept",
                                      text: sf.t("sme.quotes.accept"),
                                      onclick: () => acceptQuote(q.id) }));
      }
      grid.append(card);
      if (planned) drawGantt(gantt, q);
    }
    if (!shown.length) {
      grid.append(smeEl("p", { class: "empty", text: sf.t("sme.quotes.none") }));
    }
  }

  // A Gantt as an ECharts custom series: one row per factory/resource, one bar per lot (the
  // colour is the step), thin grey bars for the trips between factories.
  function drawGantt(node, quote) {
    const allocations = quote.plan.allocations;
    const order = currentOrder();
    const due = order ? Date.parse(order.due) : null;
    const rows = [...new Set(allocations.map((a) => `${a.factory} / ${a.resource}`))];
    const steps = [...new Set(allocations.map((a) => a.step))];
    const lots = allocations.map((a) => ({
      value: [rows.indexOf(`${a.factory} / ${a.resource}`), Date.parse(a.start), Date.parse(a.end),
              steps.indexOf(a.step)],
      name: a.step, lot: a,
      itemStyle: { color: STEP_COLORS[steps.indexOf(a.step) % STEP_COLORS.length] },
    }));
    const trips = (quote.plan.transports || []).map((t) => ({
      value: [Math.max(0, rows.findIndex((r) => r.startsWith(`${t.to} /`))), Date.parse(t.depart),
              Date.parse(t.arrive), -1],
      name: `${t.from} → ${t.to}`, trip: t, itemStyle: { color: "#9ca3af" },
    }));
    node.style.height = `${Math.max(140, 46 * rows.length + 70)}px`;
    const chart = echarts.init(node);
    state.charts.push(chart);
    const renderItem = (params, api) => {
      const row = api.value(0);
      const start = api.coord([api.value(1), row]);
      const end = api.coord([api.value(2), row]);
      const band = api.size([0, 1])[1];
      const isTrip = api.value(3) < 0;
      const height = band * (isTrip ? 0.15 : 0.6);
      const y = start[1] - (isTrip ? band * 0.42 : height / 2);
      const shape = echarts.graphic.clipRectByRect(
        { x: start[0], y, width: Math.max(end[0] - start[0], 2), height },
        { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width,
          height: params.coordSys.height });
      return shape && { type: "rect", transition: ["shape"], shape, style: api.style() };
    };
    chart.setOption({
      animation: false,
      grid: { left: 150, right: 40, top: 28, bottom: 36 },
      legend: { top: 0, data: steps },
      tooltip: {
        formatter: (p) => {
          if (p.data.trip) {
            const t = p.data.trip;
            return `${sf.t("sme.gantt.trip")} ${t.from} → ${t.to}<br>${sf.fmt.datetime(t.depart)} – ` +
                   `${sf.fmt.datetime(t.arrive)}<br>${t.km} km · ${sf.fmt.money(t.cost)}`;
          }
          const a = p.data.lot;
          return `${sf.t("sme.gantt.step")} ${a.step} · ${a.quantity} ${sf.t("sme.gantt.pieces")}<br>` +
                 `${a.factory} / ${a.resource}<br>${sf.fmt.datetime(a.start)} – ` +
                 `${sf.fmt.datetime(a.end)}<br>${sf.fmt.money(a.cost)}`;
        },
      },
      xAxis: { type: "time", axisLabel: { hideOverlap: true, formatter: "{MM}-{dd} {HH}:{mm}" } },
      yAxis: { type: "category", data: rows, inverse: true },
      series: [
        ...steps.map((s) => ({
          type: "custom", name: s, renderItem, encode: { x: [1, 2], y: 0 },
          itemStyle: { color: STEP_COLORS[steps.indexOf(s) % STEP_COLORS.length] },
          data: lots.filter((l) => l.name === s),
        })),
        { type: "custom", name: sf.t("sme.gantt.trip"), renderItem, encode: { x: [1, 2], y: 0 },
          data: trips,
          // The order's due date, so a late alternative shows where it overruns.
          markLine: due ? { symbol: "none", silent: true, lineStyle: { color: "#c92a2a" },
                            label: { formatter: sf.t("sme.gantt.due"), position: "insideEndTop" },
                            data: [{ xAxis: due }] } : undefined },
      ],
    });
  }

  function renderLots() {
    const body = $("#sme-lots tbody");
    body.replaceChildren();
    for (const b of state.bookings) {
      body.append(smeEl("tr", { "data-booking": b.id },
        smeEl("td", { text: b.step || "-" }), smeEl("td", { text: b.factory }),
        smeEl("td", { text: b.resource }), smeEl("td", { class: "num", text: String(b.quantity) }),
        smeEl("td", { text: sf.fmt.datetime(b.start) }), smeEl("td", { text: sf.fmt.datetime(b.end) }),
        smeEl("td", { class: "work-order", "data-status": b.work_order_status,
                      text: smeLabel(`sme.work_order.${b.work_order_status}`, b.work_order_status) }),
        smeEl("td", { class: "lot-done num", text: `${b.done} / ${b.quantity}` +
                      (b.scrap ? ` (${sf.t("sme.lots.scrap")} ${b.scrap})` : "") }),
        smeEl("td", { class: "status", "data-status": b.status,
                      text: smeLabel(`sme.booking.${b.status}`, b.status) })));
    }
    $("#sme-lots-empty").hidden = state.bookings.length > 0;
  }

  function eventSummary(e) {
    const d = e.details || {};
    const parts = [];
    if (d.booking) parts.push(d.booking);
    if (d.resource) parts.push(d.resource);
    if (d.done !== undefined) parts.push(`${sf.t("sme.lots.done")} ${d.done}`);
    if (d.scrap) parts.push(`${sf.t("sme.lots.scrap")} ${d.scrap}`);
    if (d.total_cost !== undefined) parts.push(sf.fmt.money(d.total_cost));
    if (d.reason) parts.push(d.reason);
    return parts.join(" · ");
  }

  function renderTimeline() {
    const list = $("#sme-timeline");
    list.replaceChildren();
    for (const e of state.events) {
      list.append(smeEl("li", { "data-event": e.id, "data-type": e.type },
        smeEl("time", { datetime: e.time, text: sf.fmt.datetime(e.time) }), " ",
        smeEl("strong", { class: "event-type", text: smeLabel(`sme.event.${e.type}`, e.type) }), " ",
        smeEl("span", { class: "hint", text: e.actor }), " ",
        smeEl("span", { class: "event-details", text: eventSummary(e) })));
    }
    list.scrollTop = list.scrollHeight;  // the newest event in view
  }

  function renderRating(order) {
    const box = $("#sme-rating");
    box.hidden = order.status !== "done";
    if (box.hidden) return;
    const forms = $("#sme-rating-forms");
    forms.replaceChildren();
    const rated = new Set(state.ratings.filter((r) => r.side === "customer").map((r) => r.factory));
    const factories = [...new Set(state.bookings.filter((b) => b.status === "done")
                                                .map((b) => b.factory))];
    for (const f of factories.filter((x) => state.canWrite && !rated.has(x))) {
      const score = (name) => smeEl("label", {}, smeEl("span", { text: sf.t(`sme.rating.${name}`) }),
        smeEl("select", { name },
          ...[5, 4, 3, 2, 1].map((n) => smeEl("option", { value: String(n), text: "★".repeat(n) }))));
      const form = smeEl("form", { class: "rating-form", "data-factory": f },
        smeEl("strong", { text: f }), score("quality"), score("on_time"), score("communication"),
        smeEl("input", { name: "comment", maxlength: "2000",
                         placeholder: sf.t("sme.rating.comment") }),
        smeEl("button", { type: "submit", text: sf.t("sme.rating.submit") }));
      form.addEventListener("submit", (ev) => rate(ev, f));
      forms.append(form);
    }
    const given = $("#sme-ratings-given");
    given.replaceChildren();
    for (const r of state.ratings.filter((x) => x.side === "customer")) {
      given.append(smeEl("li", { "data-factory": r.factory },
        `${r.factory}: ${sf.t("sme.rating.quality")} ${r.scores.quality}, ` +
        `${sf.t("sme.rating.on_time")} ${r.scores.on_time}, ` +
        `${sf.t("sme.rating.communication")} ${r.scores.communication}` +
        (r.comment ? ` – ${r.comment}` : "")));
    }
  }

  async function rate(event, factory) {
    event.preventDefault();
    const form = event.target;
    smeShowError("#sme-detail-error", null);
    try {
      await sf.api(`/orders/${encodeURIComponent(state.selected)}/ratings`, {
        method: "POST",
        body: { side: "customer", factory, quality: Number(form.elements.quality.value),
                on_time: Number(form.elements.on_time.value),
                communication: Number(form.elements.communication.value),
                comment: form.elements.comment.value },
      });
    } catch (err) {
      smeShowError("#sme-detail-error", err);
    }
    await refreshOrder();
  }

  // ---- live: the tenant's /events/stream (sharefab.stream: fetch-based SSE with the token) --

  function setLive(on) {
    const label = $("#sme-live");
    label.textContent = on ? sf.t("common.live") : sf.t("common.live_off");
    label.dataset.live = on ? "1" : "0";
    $("#sme-live-dot").className = on ? "live-dot on" : "live-dot";
  }

  let refreshTimer = null;
  function onStreamEvent(kind, event) {
    // Any event may change a row of the list; the open order's details are read again in one
    // go (a burst of events, e.g. the replay after a reconnect, is one reload).
    const orderId = event && typeof event === "object" ? event.order : null;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      await loadOrders().catch(() => {});
      if (!orderId || orderId === state.selected) await refreshOrder().catch(() => {});
    }, 150);
  }

  // ---- start -------------------------------------------------------------------------------

  function renderMaterials() {
    const select = $("#sme-material");
    if (!select) return;
    const current = select.value || "al6061";
    select.replaceChildren(...state.materials.map((m) => smeEl("option", {
      value: m.code, selected: m.code === current,
      text: `${sf.lang === "en" ? m.name.en : m.name.zh} (${m.code})` })));
  }

  function rerender() {
    renderMaterials();
    if (state.canWrite) renderSteps(readSteps());
    renderOrders();
    if (state.selected) renderDetail();
    setLive($("#sme-live").dataset.live === "1");  // its words are in the new language too
  }

  async function start() {
    await sf.ready(["common", "sme"]);
    const kind = sf.me.org_kind;
    if (kind !== "sme" && kind !== "platform") {
      sf.deny();  // nothing of this page is fetched for another role
      return;
    }
    state.canWrite = sf.me.role !== "viewer";
    if (!state.canWrite) $("#sme-new").remove();
    const [processes, materials] = await Promise.all([sf.api("/processes"), sf.api("/materials")]);
    state.processes = processes;
    state.materials = materials;
    renderMaterials();
    if (state.canWrite) {
      resetForm();
      $("#sme-add-step").addEventListener("click", addStep);
      $("#sme-order-form").addEventListener("submit", submitOrder);
    }
    $("#sme-get-quotes").addEventListener("click", requestQuotes);
    await loadOrders();
    sf.onLang(rerender);
    window.addEventListener("resize", () => state.charts.forEach((c) => c.resize()));
    document.body.dataset.ready = "1";
    setLive(false);
    state.stream = sf.stream("/events/stream", { onEvent: onStreamEvent, onState: setLive });
  }

  start().catch((err) => {
    if (err.status === 401) return;  // ready() has sent the browser to the login page
    sf.notice(sf.t("common.error", { detail: err.detail || err.message }), "error");
  });
})();
