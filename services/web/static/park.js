/* The park operator's page: one park at a time (a picker when the operator runs several).
 *
 * Every figure comes from /parks/{id}/... (utilization, heatmap, idle, down, orders, trends);
 * machine states stay current over /parks/{id}/live (server-sent events: a snapshot, then one
 * event per status change), not by polling everything. Utilization is the API's figure as it
 * is (services/parks/utilization.py defines it); the page formats, never recomputes, it.
 */
(function () {
  "use strict";
  var s = sharefab, el = s.el;
  var DOWN = ["down", "offline"];
  var WINDOW_DAYS = 3, HEAT_HOURS = 24, IDLE_DAYS = 3, TREND_WEEKS = 8;
  var page = {parks: [], parkId: null, util: null, heat: null, idle: null, orders: null,
              trends: null, machines: {}, stream: null};

  function localMidnight() {
    var d = new Date();
    d.setHours(0, 0, 0, 0);
    return d;
  }
  function thisHour() {
    var d = new Date();
    d.setMinutes(0, 0, 0);
    return d;
  }
  function hhmm(iso) {
    return new Intl.DateTimeFormat(s.lang, {hour: "2-digit", minute: "2-digit", hour12: false})
      .format(new Date(iso));
  }
  function dayHour(iso) {
    return s.fmt.date(iso) + " " + hhmm(iso);
  }
  function setKpi(id, value, text) {
    var node = document.getElementById(id);
    node.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
    node.textContent = text;
  }
  function chart(id) {
    var node = document.getElementById(id);
    return echarts.getInstanceByDom(node) || echarts.init(node);
  }
  function fill(tbody, rows, emptyText, cols) {
    tbody.innerHTML = "";
    if (!rows.length) {
      tbody.appendChild(el("tr", {}, el("td", {colspan: cols, class: "empty"}, emptyText)));
      return;
    }
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  /* ------------------------------------------------------------ utilization */
  function renderUtilization() {
    var u = page.util;
    if (!u) { return; }
    var today = u.by_day[0];
    setKpi("kpi-util-today", today.utilization, s.fmt.pct(today.utilization));
    setKpi("kpi-util", u.utilization, s.fmt.pct(u.utilization));
    document.getElementById("kpi-util-window").textContent =
      s.t("park.kpi.today_hours", {used: s.fmt.number(today.used_h, 1),
                                   available: s.fmt.number(today.available_h, 1)});
    document.getElementById("kpi-util-hours").textContent =
      s.t("park.kpi.window_hours", {used: s.fmt.number(u.used_h, 1),
                                    available: s.fmt.number(u.available_h, 1),
                                    days: WINDOW_DAYS});
    document.getElementById("util-window").textContent = s.t("park.utilization.window", {
      start: s.fmt.datetime(u.start), end: s.fmt.datetime(u.end), days: WINDOW_DAYS});
    function pct(v) { return v === null ? "-" : Math.round(v * 1000) / 10; }
    chart("chart-util-hour").setOption({
      animation: false,  // screenshots and tests see the final chart
      title: {text: s.t("park.utilization.by_hour"), textStyle: {fontSize: 13}},
      tooltip: {trigger: "axis", valueFormatter: function (v) { return v === "-" ? "–" : v + " %"; }},
      grid: {left: 45, right: 15, top: 35, bottom: 40},
      xAxis: {type: "category", data: u.by_hour.map(function (h) { return dayHour(h.start); }),
              axisLabel: {interval: 11}},
      yAxis: {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value} %"}},
      series: [{type: "bar", name: s.t("park.kpi.utilization_window"),
                data: u.by_hour.map(function (h) { return pct(h.utilization); }),
                itemStyle: {color: "#0b5cad"}}]
    }, true);
    chart("chart-util-day").setOption({
      animation: false,  // screenshots and tests see the final chart
      title: {text: s.t("park.utilization.by_day"), textStyle: {fontSize: 13}},
      tooltip: {trigger: "axis", valueFormatter: function (v) { return v === "-" ? "–" : v + " %"; }},
      grid: {left: 45, right: 15, top: 35, bottom: 40},
      xAxis: {type: "category", data: u.by_day.map(function (d) { return s.fmt.date(d.start); })},
      yAxis: {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value} %"}},
      series: [{type: "bar", data: u.by_day.map(function (d) { return pct(d.utilization); }),
                itemStyle: {color: "#2f9e44"}, label: {show: true, position: "top",
                formatter: function (p) { return p.value === "-" ? "" : p.value + " %"; }}}]
    }, true);
  }

  /* ------------------------------------------------------------ heatmap */
  function renderHeatmap() {
    var h = page.heat;
    if (!h) { return; }
    document.getElementById("heatmap-hint").textContent = s.t("park.heatmap.hint", {
      start: s.fmt.datetime(h.start), end: s.fmt.datetime(h.end)});
    var node = document.getElementById("chart-heatmap");
    node.style.height = Math.max(300, h.machines.length * 16 + 115) + "px";
    var data = [];
    h.cells.forEach(function (row, i) {
      row.forEach(function (v, j) {
        data.push([j, i, v === null ? "-" : Math.round(v * 1000) / 10]);
      });
    });
    var c = chart("chart-heatmap");
    c.resize();
    c.setOption({
      animation: false,  // screenshots and tests see the final chart
      tooltip: {position: "top", formatter: function (p) {
        var m = h.machines[p.value[1]];
        return m.id + " · " + s.processName(m.process) + "<br>" + dayHour(h.hours[p.value[0]]) +
          ": " + (p.value[2] === "-" ? s.t("park.heatmap.unpublished") : p.value[2] + " %");
      }},
      grid: {left: 230, right: 20, top: 10, bottom: 95},
      xAxis: {type: "category", data: h.hours.map(hhmm), splitArea: {show: true}},
      yAxis: {type: "category", inverse: true, splitArea: {show: true},
              data: h.machines.map(function (m) { return m.id + " " + s.processName(m.process); }),
              axisLabel: {fontSize: 11, width: 215, overflow: "truncate"}},
      visualMap: {min: 0, max: 100, calculable: true, orient: "horizontal", left: "center",
                  bottom: 0, itemHeight: 200, text: ["100 %", "0 %"],
                  inRange: {color: ["#e7f5ff", "#74c0fc", "#1c7ed6", "#0b3d91"]}},
      series: [{type: "heatmap", data: data, emphasis: {itemStyle: {borderColor: "#333",
                borderWidth: 1}}}]
    }, true);
  }

  /* ------------------------------------------------------------ idle capacity */
  function renderIdle() {
    var d = page.idle;
    if (!d) { return; }
    document.getElementById("idle-hint").textContent = s.t("park.idle.hint", {days: IDLE_DAYS});
    var head = document.getElementById("idle-head");
    head.innerHTML = "";
    head.appendChild(el("th", {}, s.t("park.col.process")));
    head.appendChild(el("th", {class: "num"}, s.t("park.col.machines")));
    d.days.forEach(function (day) { head.appendChild(el("th", {class: "num"}, s.fmt.date(day))); });
    head.appendChild(el("th", {class: "num"}, s.t("park.col.total")));
    fill(document.querySelector("#idle-table tbody"), d.processes.map(function (p) {
      return el("tr", {"data-process": p.process}, [el("td", {}, s.processName(p.process)),
        el("td", {class: "num"}, String(p.machines))].concat(
        p.idle_h.map(function (x) { return el("td", {class: "num"}, s.fmt.number(x, 1)); }),
        [el("td", {class: "num idle-total", "data-value": String(p.idle_h_total)},
            s.fmt.hours(p.idle_h_total))]));
    }), s.t("common.no_data"), 3 + d.days.length);
  }

  /* ------------------------------------------------------------ machines down */
  function downList() {
    return Object.keys(page.machines).map(function (k) { return page.machines[k]; })
      .filter(function (m) { return DOWN.indexOf(m.status) >= 0; })
      .sort(function (a, b) { return (a.since || "") < (b.since || "") ? -1 :
        (a.since || "") > (b.since || "") ? 1 : (a.resource < b.resource ? -1 : 1); });
  }
  function renderDown() {
    var rows = downList();
    var all = Object.keys(page.machines).length;
    setKpi("kpi-down", rows.length, String(rows.length));
    document.getElementById("kpi-machines").textContent = s.t("park.kpi.of_machines", {n: all});
    fill(document.querySelector("#down-table tbody"), rows.map(function (m) {
      return el("tr", {"data-resource": m.resource, "data-status": m.status}, [
        el("td", {}, m.resource), el("td", {}, m.factory_name || m.factory),
        el("td", {}, s.processName(m.process)),
        el("td", {}, el("span", {class: "badge " + m.status}, s.t("common.status." + m.status))),
        el("td", {}, s.fmt.datetime(m.since))]);
    }), s.t("park.down.none"), 5);
  }

  /* ------------------------------------------------------------ orders */
  function renderOrders() {
    var o = page.orders;
    if (!o) { return; }
    setKpi("kpi-in-flight", o.in_flight, String(o.in_flight));
    setKpi("kpi-late", o.late, String(o.late));
    fill(document.querySelector("#orders-table tbody"), o.orders.map(function (r) {
      return el("tr", {"data-order": r.order}, [
        el("td", {}, r.order), el("td", {}, s.t("park.order_status." + r.status)),
        el("td", {}, s.fmt.datetime(r.due)), el("td", {}, s.fmt.datetime(r.planned_finish)),
        el("td", {class: "num"}, r.done + " / " + r.quantity),
        el("td", {}, r.late ? el("span", {class: "badge late"}, s.t("park.orders.late")) : "")]);
    }), s.t("park.orders.none"), 6);
  }

  /* ------------------------------------------------------------ trends */
  function renderTrends() {
    var t = page.trends;
    if (!t) { return; }
    chart("chart-trends").setOption({
      animation: false,  // screenshots and tests see the final chart
      tooltip: {trigger: "axis"},
      legend: {data: [s.t("park.trends.utilization"), s.t("park.trends.lots_done")], top: 0},
      grid: {left: 45, right: 45, top: 35, bottom: 30},
      xAxis: {type: "category", data: t.weeks.map(function (w) {
        return s.t("park.trends.week_of", {date: s.fmt.date(w.start)}); })},
      yAxis: [{type: "value", min: 0, max: 100, axisLabel: {formatter: "{value} %"}},
              {type: "value", minInterval: 1}],
      series: [
        {type: "line", name: s.t("park.trends.utilization"), connectNulls: false,
         data: t.weeks.map(function (w) {
           return w.utilization === null ? "-" : Math.round(w.utilization * 1000) / 10; })},
        {type: "bar", name: s.t("park.trends.lots_done"), yAxisIndex: 1,
         data: t.weeks.map(function (w) { return w.lots_done; }), itemStyle: {color: "#adb5bd"}}]
    }, true);
  }

  function renderAll() {
    renderUtilization(); renderHeatmap(); renderIdle(); renderDown(); renderOrders();
    renderTrends();
  }

  /* ------------------------------------------------------------ loading and live */
  function fail(err) { s.notice(s.t("common.error", {detail: err.detail || err.message}), "error"); }

  function loadPark(parkId) {
    page.parkId = parkId;
    if (page.stream) { page.stream.close(); }
    var base = "/parks/" + encodeURIComponent(parkId);
    return Promise.all([
      s.api(base + "/utilization", {query: {start: localMidnight().toISOString(), days: WINDOW_DAYS}}),
      s.api(base + "/heatmap", {query: {start: thisHour().toISOString(), hours: HEAT_HOURS}}),
      s.api(base + "/idle", {query: {days: IDLE_DAYS}}),
      s.api(base + "/down"),
      s.api(base + "/orders"),
      s.api(base + "/trends", {query: {weeks: TREND_WEEKS}})
    ]).then(function (answers) {
      page.util = answers[0]; page.heat = answers[1]; page.idle = answers[2];
      page.orders = answers[4]; page.trends = answers[5];
      page.machines = {};
      answers[1].machines.forEach(function (m) {
        page.machines[m.id] = {resource: m.id, factory: m.factory, factory_name: m.factory_name,
                               process: m.process, status: "unknown", since: null};
      });
      answers[3].machines.forEach(function (m) { page.machines[m.resource] = m; });
      renderAll();
      document.body.setAttribute("data-loaded", parkId);
      page.stream = s.stream(base + "/live", {onEvent: onLive, onState: function (on) {
        document.getElementById("live-dot").className = "live-dot" + (on ? " on" : "");
        document.body.setAttribute("data-live", on ? "on" : "off");
      }});
    }).catch(fail);
  }

  function onLive(kind, data) {
    if (kind === "snapshot") {
      page.machines = {};
      data.forEach(function (m) { page.machines[m.resource] = m; });
    } else if (kind === "state") {
      page.machines[data.resource] = data;
    }
    renderDown();
  }

  s.ready(["common", "park"]).then(function (me) {
    if (me.org_kind !== "park" && me.org_kind !== "platform") { s.deny(); return; }
    return s.api("/parks").then(function (parks) {
      page.parks = parks;
      var picker = document.getElementById("park-picker");
      parks.forEach(function (p) {
        picker.appendChild(el("option", {value: p.id}, p.name ? p.id + " · " + p.name : p.id));
      });
      picker.addEventListener("change", function () { loadPark(picker.value); });
      if (!parks.length) { s.notice(s.t("park.no_parks"), "info"); return; }
      s.onLang(renderAll);
      return loadPark(parks[0].id);
    });
  }).catch(function (err) { if (err && err.status !== 401) { fail(err); } });
})();
