/* The analyst's page: launch a simulation from a config (the shipped example, editable),
 * follow its progress, open its report, compare runs' KPIs side by side.
 *
 * Everything comes from /simulations (aggregates only: KPIs per policy and seed, the report).
 * Progress: the runs list is re-read every second while a run is queued or running.
 * Comparison: the mean over a run's seeds of each KPI, per run and policy, as the API gives
 * the per-seed figures; nothing else is computed here.
 */
(function () {
  "use strict";
  var s = sharefab, el = s.el;
  var KPIS = [
    ["on_time_rate", "pct"], ["fill_rate", "pct"], ["mean_lead_time_h", "hours"],
    ["p90_lead_time_h", "hours"], ["mean_tardiness_h", "hours"], ["cost_per_order", "money"],
    ["factories_per_order", "number"], ["utilization", "pct"], ["idle_capacity_used", "pct"],
    ["orders", "int"], ["completed", "int"], ["replans", "int"], ["outages", "int"]];
  var page = {runs: [], example: null, compare: {}, timer: null, report: null};

  function fmt(kind, v) {
    if (kind === "pct") { return s.fmt.pct(v); }
    if (kind === "hours") { return s.fmt.hours(v); }
    if (kind === "money") { return s.fmt.money(v); }
    if (kind === "int") { return s.fmt.number(v, 0); }
    return s.fmt.number(v, 2);
  }
  function fail(err) { s.notice(s.t("common.error", {detail: err.detail || err.message}), "error"); }

  /* Mean of each KPI over a run's seeds, per policy: [{policy, seeds, kpis: {name: mean}}]. */
  function columnsOf(run) {
    var by = {};
    run.kpis.forEach(function (k) {
      (by[k.policy] = by[k.policy] || []).push(k);
    });
    return run.policies.filter(function (p) { return by[p]; }).map(function (p) {
      var rows = by[p], means = {};
      KPIS.forEach(function (pair) {
        var sum = 0;
        rows.forEach(function (r) { sum += r[pair[0]]; });
        means[pair[0]] = sum / rows.length;
      });
      return {run: run, policy: p, seeds: rows.length, kpis: means};
    });
  }

  /* ------------------------------------------------------------ launch */
  function showConfig(config) {
    document.getElementById("config").value = JSON.stringify(config, null, 2);
    document.getElementById("days").value = String(config.days);
    document.getElementById("seeds").value = String(config.seed);
  }
  function launch(ev) {
    ev.preventDefault();
    s.notice("");
    var config;
    try { config = JSON.parse(document.getElementById("config").value); }
    catch (e) { s.notice(s.t("analyst.launch.bad_json", {detail: e.message}), "error"); return; }
    var seeds = document.getElementById("seeds").value.split(/[\s,，]+/)
      .filter(function (x) { return x !== ""; }).map(Number);
    if (!seeds.length || seeds.some(function (x) { return !Number.isInteger(x) || x < 0; })) {
      s.notice(s.t("analyst.launch.bad_seeds"), "error"); return;
    }
    var policies = Array.prototype.map.call(
      document.querySelectorAll("input[name=policy]:checked"), function (c) { return c.value; });
    var body = {title: document.getElementById("run-title").value, config: config,
                policies: policies, seeds: seeds,
                days: Number(document.getElementById("days").value)};
    document.getElementById("launch").disabled = true;
    s.api("/simulations", {method: "POST", body: body}).then(function (run) {
      s.notice(s.t("analyst.launch.queued", {id: run.id}), "info");
      return refresh();
    }).catch(fail).then(function () { document.getElementById("launch").disabled = false; });
  }

  /* ------------------------------------------------------------ runs and progress */
  function renderRuns() {
    var tbody = document.querySelector("#runs-table tbody");
    tbody.innerHTML = "";
    if (!page.runs.length) {
      tbody.appendChild(el("tr", {}, el("td", {colspan: 6, class: "empty"}, s.t("analyst.runs.none"))));
    }
    page.runs.forEach(function (run) {
      var box = el("input", {type: "checkbox", class: "compare", "data-run": run.id,
                             disabled: run.status !== "done" ? "disabled" : null});
      box.checked = !!page.compare[run.id];
      box.addEventListener("change", function () {
        page.compare[run.id] = box.checked; renderCompare();
      });
      var pct = Math.round(run.progress * 100);
      var status = el("span", {class: "badge " + (run.status === "done" ? "running" :
        run.status === "failed" ? "down" : "idle")}, s.t("analyst.status." + run.status));
      var report = run.has_report ? el("button", {type: "button", class: "secondary open-report",
        "data-run": run.id, onclick: function () { openReport(run.id); }},
        s.t("analyst.runs.open_report")) : null;
      tbody.appendChild(el("tr", {"data-run": run.id, "data-status": run.status}, [
        el("td", {}, box),
        el("td", {}, [el("div", {}, run.title || run.id), el("div", {class: "hint"},
          run.id + " · " + s.fmt.datetime(run.created_at))]),
        el("td", {class: "hint"}, s.t("analyst.runs.setup", {
          policies: run.policies.map(function (p) { return s.t("analyst.policy." + p); }).join(", "),
          seeds: run.seeds.join(", "), days: s.fmt.number(run.days, 2), factories: run.factories})),
        el("td", {}, [status, run.error ? el("div", {class: "hint"}, run.error) : null]),
        el("td", {}, [el("div", {class: "progress", title: pct + " %"},
          el("div", {class: "bar", style: "width:" + pct + "%", "data-value": String(run.progress)})),
          el("div", {class: "hint"}, run.status === "running" ? run.note : "")]),
        el("td", {}, report)]));
    });
  }

  function refresh() {
    return s.api("/simulations").then(function (runs) {
      page.runs = runs;
      var first = Object.keys(page.compare).length === 0;
      if (first) {  // compare the two newest finished runs to start with
        runs.filter(function (r) { return r.status === "done"; }).slice(0, 2)
          .forEach(function (r) { page.compare[r.id] = true; });
      }
      renderRuns();
      renderCompare();
      var busy = runs.some(function (r) { return r.status === "queued" || r.status === "running"; });
      window.clearTimeout(page.timer);
      if (busy) { page.timer = window.setTimeout(refresh, 1000); }
      document.body.setAttribute("data-busy", busy ? "yes" : "no");
    });
  }

  /* ------------------------------------------------------------ compare */
  function renderCompare() {
    var cols = [];
    page.runs.filter(function (r) { return page.compare[r.id] && r.status === "done"; })
      .forEach(function (r) { cols = cols.concat(columnsOf(r)); });
    var head = document.getElementById("compare-head");
    head.innerHTML = "";
    head.appendChild(el("th", {}, s.t("analyst.compare.kpi")));
    cols.forEach(function (c) {
      head.appendChild(el("th", {class: "num"}, [el("div", {}, c.run.title || c.run.id),
        el("div", {class: "hint"}, s.t("analyst.policy." + c.policy) + " · " +
          s.t("analyst.compare.seeds", {n: c.seeds}))]));
    });
    var tbody = document.querySelector("#compare-table tbody");
    tbody.innerHTML = "";
    if (!cols.length) {
      tbody.appendChild(el("tr", {}, el("td", {class: "empty"}, s.t("analyst.compare.none"))));
    } else {
      KPIS.forEach(function (pair) {
        tbody.appendChild(el("tr", {"data-kpi": pair[0]}, [el("td", {}, s.t("analyst.kpi." + pair[0]))]
          .concat(cols.map(function (c) {
            return el("td", {class: "num", "data-run": c.run.id, "data-policy": c.policy,
                             "data-value": String(c.kpis[pair[0]])}, fmt(pair[1], c.kpis[pair[0]]));
          }))));
      });
    }
    var node = document.getElementById("chart-compare");
    node.hidden = !cols.length;
    if (!cols.length) { return; }
    var c = echarts.getInstanceByDom(node) || echarts.init(node);
    c.resize();
    c.setOption({
      animation: false,  // screenshots and tests see the final chart
      tooltip: {trigger: "axis"},
      legend: {top: 0},
      grid: {left: 50, right: 60, top: 35, bottom: 30},
      xAxis: {type: "category", data: cols.map(function (x) {
        return (x.run.title || x.run.id) + " · " + s.t("analyst.policy." + x.policy); })},
      yAxis: [{type: "value", min: 0, max: 100, axisLabel: {formatter: "{value} %"}},
              {type: "value", axisLabel: {formatter: "¥{value}"}}],
      series: [
        {type: "bar", name: s.t("analyst.kpi.on_time_rate"), data: cols.map(function (x) {
          return Math.round(x.kpis.on_time_rate * 1000) / 10; })},
        {type: "bar", name: s.t("analyst.kpi.utilization"), data: cols.map(function (x) {
          return Math.round(x.kpis.utilization * 1000) / 10; })},
        {type: "line", name: s.t("analyst.kpi.cost_per_order"), yAxisIndex: 1,
         data: cols.map(function (x) { return Math.round(x.kpis.cost_per_order); })}]
    }, true);
  }

  /* ------------------------------------------------------------ report */
  function openReport(runId) {
    s.api("/simulations/" + encodeURIComponent(runId) + "/report").then(function (html) {
      var card = document.getElementById("report-card");
      card.hidden = false;
      document.getElementById("report-run").textContent = runId;
      document.getElementById("report-frame").srcdoc = html;
      document.body.setAttribute("data-report", runId);
      card.scrollIntoView();
    }).catch(fail);
  }

  s.ready(["common", "analyst"]).then(function (me) {
    if (me.org_kind !== "analyst" && me.org_kind !== "platform") { s.deny(); return; }
    document.getElementById("launch-form").addEventListener("submit", launch);
    document.getElementById("reset-config").addEventListener("click", function () {
      if (page.example) { showConfig(page.example); }
    });
    s.onLang(function () { renderRuns(); renderCompare(); });
    return Promise.all([s.api("/simulations/example"), refresh()]).then(function (answers) {
      page.example = answers[0];
      showConfig(page.example);
      document.body.setAttribute("data-loaded", "yes");
    });
  }).catch(function (err) { if (err && err.status !== 401) { fail(err); } });
})();
