// The factory operator page: incoming work orders to accept or decline, progress for machines
// without a gateway, the factory's own earnings and utilization, its resources' prices and
// windows (edited with PATCH; a refusal is shown as the API words it, e.g. the 409 naming the
// bookings a window change would strand). Only the signed-in organisation's factories.
"use strict";

(function () {
  const sf = window.sharefab;
  const $ = (sel) => document.querySelector(sel);
  const REFRESH_MS = 15000;  // work orders change when SMEs accept quotes: a slow look is enough
  const PRICE_MODES = ["time_share_per_hour", "per_piece", "by_value_pct"];

  const state = {
    factories: [], factory: null, resources: [], bookings: [], earnings: null,
    utilization: null, charts: {}, drafts: {},
    canWrite: false,  // a viewer only reads: no answers, no reports, no edits
  };

  const facEl = sharefab.el;  // the shell's DOM helper

  function facError(box, err) {
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = `${err.status ? `${err.status}: ` : ""}${err.detail || err.message || err}`;
    box.hidden = false;
  }

  function facLabel(key, raw) {
    const text = sf.t(key);
    return text === key ? raw : text;
  }

  function facLocalInput(iso) {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
           `T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function facIso(local) {
    return new Date(local).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  // "12/02 08:00 – 11:30" when a lot ends the day it starts, both dates otherwise.
  function facWhen(start, end) {
    const a = new Date(start);
    const b = new Date(end);
    if (a.toDateString() !== b.toDateString()) {
      return `${sf.fmt.datetime(start)} – ${sf.fmt.datetime(end)}`;
    }
    const time = new Intl.DateTimeFormat(sf.lang, { hour: "2-digit", minute: "2-digit",
                                                    hour12: false }).format(b);
    return `${sf.fmt.datetime(start)} – ${time}`;
  }

  function facChart(id) {
    if (!state.charts[id]) state.charts[id] = echarts.init(document.getElementById(id));
    return state.charts[id];
  }

  // ---- loading -----------------------------------------------------------------------------

  async function loadFactory() {
    const f = state.factory;
    if (!f) return;
    const path = `/factories/${encodeURIComponent(f.id)}`;
    const [resources, bookings, earnings, utilization] = await Promise.all([
      sf.api("/resources", { query: { factory: f.id } }),
      sf.api("/bookings", { query: { factory: f.id } }),
      sf.api(`${path}/earnings`), sf.api(`${path}/utilization`)]);
    state.resources = resources;
    state.bookings = bookings;
    state.earnings = earnings;
    state.utilization = utilization;
    render();
  }

  async function refreshWork() {
    if (!state.factory) return;
    const path = `/factories/${encodeURIComponent(state.factory.id)}`;
    const [bookings, earnings, utilization] = await Promise.all([
      sf.api("/bookings", { query: { factory: state.factory.id } }),
      sf.api(`${path}/earnings`), sf.api(`${path}/utilization`)]);
    state.bookings = bookings;
    state.earnings = earnings;
    state.utilization = utilization;
    renderWork();
    renderEarnings();
    renderUtilization();
  }

  // ---- work orders -------------------------------------------------------------------------

  async function act(path, body) {
    const box = $("#factory-work-error");
    facError(box, null);
    try {
      await sf.api(path, { method: "POST", body });
    } catch (err) {
      facError(box, err);
    }
    await refreshWork();
  }

  function workActions(b) {
    const cell = facEl("td", { class: "work-actions" });
    if (!state.canWrite) return cell;
    const open = b.status === "booked" || b.status === "running";
    const declined = b.work_order_status === "declined";
    const base = `/bookings/${encodeURIComponent(b.id)}`;
    if (open && b.work_order_status === "sent") {
      cell.append(facEl("button", { type: "button", class: "accept-work",
                                    text: sf.t("factory.work.accept"),
                                    onclick: () => act(`${base}/accept-work`) }));
    }
    if (b.status === "booked" && !b.done && !b.scrap && !declined) {
      const reason = facEl("input", { class: "decline-reason", maxlength: "500",
                                      placeholder: sf.t("factory.work.decline_reason") });
      cell.append(facEl("div", { class: "decline-form" }, reason, facEl("button", {
        type: "button", class: "secondary decline-work", text: sf.t("factory.work.decline"),
        onclick: () => {
          if (!reason.value.trim()) {
            facError($("#factory-work-error"), { message: sf.t("factory.work.reason_needed") });
            return;
          }
          act(`${base}/decline`, { reason: reason.value.trim() });
        } })));
    }
    if (open && !declined) {
      const done = facEl("input", { class: "progress-done", type: "number", min: "0",
                                    max: String(b.quantity), value: String(b.done),
                                    title: sf.t("factory.work.done") });
      const scrap = facEl("input", { class: "progress-scrap", type: "number", min: "0",
                                     value: String(b.scrap), title: sf.t("factory.work.scrap") });
      cell.append(facEl("div", { class: "progress-form" },
        facEl("label", {}, sf.t("factory.work.done"), done),
        facEl("label", {}, sf.t("factory.work.scrap"), scrap),
        facEl("button", { type: "button", class: "report-progress", text: sf.t("factory.work.report"),
                          onclick: () => act(`${base}/progress`, {
                            done: Number(done.value), scrap: Number(scrap.value) }) })));
    }
    return cell;
  }

  function renderWork() {
    const body = $("#factory-work-table tbody");
    body.replaceChildren();
    // Withdrawn lots are no longer the factory's work; open lots first, soonest first (the
    // API's order), then the finished ones.
    const lots = [...state.bookings.filter((b) => b.status === "booked" || b.status === "running"),
                  ...state.bookings.filter((b) => b.status === "done")];
    const earned = new Map((state.earnings ? state.earnings.lots : []).map((x) => [x.booking, x]));
    for (const b of lots) {
      body.append(facEl("tr", { "data-booking": b.id, "data-order": b.order || "" },
        facEl("td", { text: b.id }), facEl("td", { text: b.order || "-" }),
        facEl("td", { text: b.step || "-" }), facEl("td", { text: b.resource }),
        facEl("td", { class: "num", text: String(b.quantity) }),
        facEl("td", { class: "when", text: facWhen(b.start, b.end) }),
        facEl("td", { class: "num price", text: b.cost === null ? "–" : sf.fmt.money(b.cost) }),
        facEl("td", { class: "num earned",
                      text: earned.has(b.id) ? sf.fmt.money(earned.get(b.id).earned_cny) : "–" }),
        facEl("td", { class: "work-order", "data-status": b.work_order_status },
              facEl("span", { class: `badge ${b.work_order_status}`,
                              text: facLabel(`factory.work_order.${b.work_order_status}`, b.work_order_status) })),
        facEl("td", { class: "status", "data-status": b.status },
              facEl("span", { class: `badge ${b.status}`,
                              text: facLabel(`factory.booking.${b.status}`, b.status) })),
        facEl("td", { class: "num lot-done", text: `${b.done} / ${b.quantity}` +
                      (b.scrap ? ` (${sf.t("factory.work.scrap")} ${b.scrap})` : "") }),
        workActions(b)));
    }
    $("#factory-work-empty").hidden = lots.length > 0;
  }

  // ---- earnings and utilization ------------------------------------------------------------

  function period(doc) {
    return `${sf.fmt.datetime(doc.since)} – ${sf.fmt.datetime(doc.until)}`;
  }

  function renderEarnings() {
    const e = state.earnings;
    if (!e) return;
    $("#factory-booked").textContent = sf.fmt.money(e.booked_cny);
    $("#factory-earned").textContent = sf.fmt.money(e.earned_cny);
    $("#factory-earnings-period").textContent = period(e);
    facChart("factory-earnings-chart").setOption({
      animation: false,
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: (v) => sf.fmt.money(v) },
      grid: { left: 70, right: 16, top: 30, bottom: 30 },
      xAxis: { type: "category", data: e.days.map((d) => d.day) },
      yAxis: { type: "value" },
      series: [
        { type: "bar", name: sf.t("factory.earnings.booked"), data: e.days.map((d) => d.booked_cny) },
        { type: "bar", name: sf.t("factory.earnings.earned"), data: e.days.map((d) => d.earned_cny) },
      ],
    }, true);
  }

  function renderUtilization() {
    const u = state.utilization;
    if (!u) return;
    $("#factory-utilization").textContent = u.utilization === null ? "-" : sf.fmt.pct(u.utilization);
    $("#factory-booked-h").textContent = sf.fmt.hours(u.booked_h);
    $("#factory-available-h").textContent = sf.fmt.hours(u.available_h);
    $("#factory-utilization-period").textContent = period(u);
    facChart("factory-utilization-chart").setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "-" : `${v}%`) },
      grid: { left: 140, right: 24, top: 10, bottom: 30 },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", inverse: true, data: u.resources.map((r) => r.resource) },
      series: [{
        type: "bar", name: sf.t("factory.utilization.total"),
        data: u.resources.map((r) => (r.utilization === null ? null
                                      : Math.round(r.utilization * 1000) / 10)),
        label: { show: true, position: "right",
                 formatter: (p) => (p.value === null ? "–" : `${p.value.toFixed(1)}%`) },
      }],
    }, true);
    const chartNode = document.getElementById("factory-utilization-chart");
    chartNode.style.height = `${Math.max(120, 34 * u.resources.length + 50)}px`;
    state.charts["factory-utilization-chart"].resize();
  }

  // ---- resources: prices and windows -------------------------------------------------------

  function draftOf(r) {
    if (!state.drafts[r.id]) {
      state.drafts[r.id] = { windows: r.windows.map((w) => ({ ...w })) };
    }
    return state.drafts[r.id];
  }

  async function saveResource(r, card) {
    const box = card.querySelector(".resource-error");
    const ok = card.querySelector(".resource-saved");
    facError(box, null);
    ok.hidden = true;
    const pricing = {};
    for (const mode of PRICE_MODES) {
      const raw = card.querySelector(`input[name=${mode}]`).value.trim();
      pricing[mode] = raw === "" ? null : Number(raw);
    }
    const windows = [];
    for (const row of card.querySelectorAll(".window-row")) {
      const start = row.querySelector(".window-start").value;
      const end = row.querySelector(".window-end").value;
      if (start && end) windows.push({ start: facIso(start), end: facIso(end) });
    }
    const hidden = draftOf(r).windows.filter((w) => w.hidden);
    try {
      const saved = await sf.api(`/resources/${encodeURIComponent(r.id)}`, {
        method: "PATCH",
        body: { pricing, capacity: Number(card.querySelector("input[name=capacity]").value),
                windows: [...hidden.map((w) => ({ start: w.start, end: w.end })), ...windows] },
      });
      const i = state.resources.findIndex((x) => x.id === r.id);
      state.resources[i] = saved;
      delete state.drafts[r.id];
      renderResources();
      state.lastSaved = r.id;
      document.querySelector(`.resource[data-resource="${CSS.escape(r.id)}"] .resource-saved`).hidden = false;
      refreshWork().catch(() => {});
    } catch (err) {
      facError(box, err);
    }
  }

  function windowRow(w) {
    const row = facEl("div", { class: "window-row" },
      facEl("input", { class: "window-start", type: "datetime-local", value: facLocalInput(w.start) }),
      " – ",
      facEl("input", { class: "window-end", type: "datetime-local", value: facLocalInput(w.end) }));
    row.append(facEl("button", { type: "button", class: "link window-remove",
                                 text: sf.t("factory.resources.remove_window"),
                                 onclick: () => row.remove() }));
    return row;
  }

  function resourceCard(r) {
    const status = r.live ? r.live.status : "unknown";
    const live = facLabel(`common.status.${status}`, status);
    const now = Date.now();
    // Windows that ended before yesterday are kept as they are (sent back unchanged), not shown.
    const draft = draftOf(r);
    for (const w of draft.windows) w.hidden = Date.parse(w.end) < now - 24 * 3600 * 1000;
    const windows = facEl("div", { class: "windows" },
      ...draft.windows.filter((w) => !w.hidden).map(windowRow));
    const addWindow = facEl("button", { type: "button", class: "link window-add",
                                        text: sf.t("factory.resources.add_window"),
                                        onclick: () => {
                                          const start = new Date(Date.now() + 24 * 3600 * 1000);
                                          start.setHours(8, 0, 0, 0);
                                          const end = new Date(start);
                                          end.setHours(20);
                                          windows.append(windowRow({ start: start.toISOString(),
                                                                     end: end.toISOString() }));
                                        } });
    const price = (mode) => facEl("label", {},
      facEl("span", { text: sf.t(`factory.pricing.${mode}`) }),
      facEl("input", { name: mode, type: "number", min: "0", step: "0.01",
                       value: r.pricing[mode] === null || r.pricing[mode] === undefined ? "" : String(r.pricing[mode]) }));
    const card = facEl("article", { class: "resource card", "data-resource": r.id },
      facEl("h3", {}, `${r.id} · ${sf.processName(r.process)}`, " ",
            facEl("span", { class: `badge ${status}`, text: live })),
      facEl("p", { class: "hint", text: `${sf.t("factory.resources.materials")}: ${r.materials.join(", ") || "-"}` }),
      facEl("div", { class: "form-grid" },
        facEl("label", {}, facEl("span", { text: sf.t("factory.resources.capacity") }),
              facEl("input", { name: "capacity", type: "number", min: "1", value: String(r.capacity) })),
        ...PRICE_MODES.map(price)),
      facEl("h4", { text: sf.t("factory.resources.windows") }), windows, addWindow,
      facEl("div", { class: "actions" },
        facEl("button", { type: "button", class: "save-resource", text: sf.t("factory.resources.save"),
                          onclick: () => saveResource(r, card) }),
        facEl("span", { class: "resource-saved saved", text: sf.t("factory.resources.saved"), hidden: true })),
      facEl("p", { class: "resource-error notice notice-error", role: "alert", hidden: true }));
    if (!state.canWrite) {
      card.querySelectorAll("input").forEach((i) => { i.disabled = true; });
      card.querySelectorAll("button").forEach((x) => x.remove());
    }
    return card;
  }

  function renderResources() {
    $("#factory-resource-list").replaceChildren(...state.resources.map(resourceCard));
  }

  // ---- start -------------------------------------------------------------------------------

  function render() {
    const f = state.factory;
    $("#factory-park").textContent = f ? `${f.name} · ${sf.t("factory.park")} ${f.park}` : "";
    renderWork();
    renderEarnings();
    renderUtilization();
    renderResources();
  }

  function renderPicker() {
    const picker = $("#factory-picker");
    picker.replaceChildren(...state.factories.map((f) => facEl("option", {
      value: f.id, selected: state.factory && f.id === state.factory.id,
      text: `${f.id} – ${f.name}` })));
  }

  async function start() {
    await sf.ready(["common", "factory"]);
    const kind = sf.me.org_kind;
    if (kind !== "factory" && kind !== "platform") {
      sf.deny();  // nothing of this page is fetched for another role
      return;
    }
    state.canWrite = sf.me.role !== "viewer";
    state.factories = await sf.api("/factories");
    state.factory = state.factories[0] || null;
    renderPicker();
    $("#factory-picker").addEventListener("change", async (ev) => {
      state.factory = state.factories.find((f) => f.id === ev.target.value) || null;
      state.drafts = {};
      await loadFactory();
    });
    await loadFactory();
    sf.onLang(() => { renderPicker(); render(); });
    window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
    setInterval(() => {
      // Not while the operator is typing a count or a reason: the table would be redrawn.
      if (document.activeElement && document.activeElement.closest("#factory-work-table")) return;
      refreshWork().catch(() => {});
    }, REFRESH_MS);
    document.body.dataset.ready = "1";
  }

  start().catch((err) => {
    if (err.status === 401) return;  // ready() has sent the browser to the login page
    sf.notice(sf.t("common.error", { detail: err.detail || err.message }), "error");
  });
})();
