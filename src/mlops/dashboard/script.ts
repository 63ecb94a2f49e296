/**
 * The dashboard's browser script (plain ES2020, no build step, no libraries).
 * It renders everything with DOM APIs and textContent — never innerHTML — so
 * data from the API cannot inject markup. Kept free of backticks and template
 * placeholders because it lives in a template literal.
 */
export const DASHBOARD_SCRIPT = String.raw`
"use strict";
(function () {
  var KEY = "edgewise.admin.key", TOKEN = "edgewise.admin.token";
  var SVGNS = "http://www.w3.org/2000/svg";
  var COLORS = { fine: "#1a7f37", watch: "#9a6700", act: "#cf222e", no_data: "#6e7781" };
  var WORDS = { fine: "Fine", watch: "Watch", act: "Act now", no_data: "Not enough data" };
  var LABELS = {
    "item_idx.known_items": "Products the model recognises in a shopper's recent views",
    "item_w.latest_weight": "Weight of the latest viewed product",
    "prediction.top_score": "How sure the model is (score of its first pick)"
  };
  var ADVICE = {
    fine: "Looks like the training data.",
    watch: "Starting to differ from the training data. Keep an eye on it.",
    act: "Very different from the training data: retrain the model, or check that the shop's tracking still works.",
    no_data: "Not enough traffic in this window to judge."
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function svg(tag, attrs, children) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs || {}) { if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, String(attrs[k])); }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function pill(status, testid) {
    var p = el("span", { class: "pill " + status, text: WORDS[status] || status });
    if (testid) p.setAttribute("data-testid", testid);
    return p;
  }
  function pct(x, digits) { return x === null || x === undefined || !isFinite(x) ? "–" : (x * 100).toFixed(digits === undefined ? 1 : digits) + "%"; }
  function num(x) { return x === null || x === undefined ? "–" : Number(x).toLocaleString("en-US"); }
  function fixed(x, d) { return x === null || x === undefined || !isFinite(x) ? "–" : Number(x).toFixed(d); }
  function hourLabel(ms) { var d = new Date(ms); return String(d.getUTCHours()).padStart(2, "0") + ":00"; }
  function dayLabel(ms) { return new Date(ms).toISOString().slice(5, 10); }
  function when(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC"; }
  function tid(s) { return String(s).replace(/[^A-Za-z0-9_-]+/g, "_"); }

  // ── charts ────────────────────────────────────────────────────────────────
  /** A line chart over hours; bands colour the fine / watch / act zones. */
  function lineChart(opts) {
    var W = 560, H = 160, L = 44, R = 10, T = 10, B = 24;
    var xs = opts.hours, n = xs.length;
    var vals = [];
    opts.series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null && isFinite(v)) vals.push(v); }); });
    var max = Math.max.apply(null, vals.concat([opts.minMax || 0]));
    if (opts.bands) max = Math.max(max, opts.bands.act * 1.4);
    if (!(max > 0)) max = 1;
    function X(i) { return L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1)); }
    function Y(v) { return T + (H - T - B) * (1 - v / max); }
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": opts.title });
    if (opts.bands) {
      g.appendChild(svg("rect", { x: L, y: Y(opts.bands.watch), width: W - L - R, height: Y(0) - Y(opts.bands.watch), fill: "#dafbe1" }));
      g.appendChild(svg("rect", { x: L, y: Y(opts.bands.act), width: W - L - R, height: Y(opts.bands.watch) - Y(opts.bands.act), fill: "#fff8c5" }));
      g.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: Math.max(0, Y(opts.bands.act) - T), fill: "#ffebe9" }));
    }
    [0, max / 2, max].forEach(function (v) {
      g.appendChild(svg("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: "#d0d7de", "stroke-width": 0.5 }));
      g.appendChild(svg("text", { x: L - 4, y: Y(v) + 3, "text-anchor": "end", class: "tick", text: opts.format ? opts.format(v) : fixed(v, 2) }));
    });
    var step = Math.max(1, Math.ceil(n / 8));
    for (var i = 0; i < n; i += step) g.appendChild(svg("text", { x: X(i), y: H - 6, "text-anchor": "middle", class: "tick", text: n > 48 ? dayLabel(xs[i]) : hourLabel(xs[i]) }));
    opts.series.forEach(function (s) {
      var d = "", pen = false;
      s.values.forEach(function (v, i) {
        if (v === null || !isFinite(v)) { pen = false; return; }
        d += (pen ? " L" : " M") + X(i).toFixed(1) + " " + Y(v).toFixed(1);
        pen = true;
      });
      if (d) g.appendChild(svg("path", { d: d, fill: "none", stroke: s.color, "stroke-width": 2 }));
      s.values.forEach(function (v, i) {
        if (v === null || !isFinite(v)) return;
        var dot = svg("circle", { cx: X(i), cy: Y(v), r: 2.5, fill: s.color });
        dot.appendChild(svg("title", { text: hourLabel(xs[i]) + " " + s.name + ": " + (opts.format ? opts.format(v) : fixed(v, 3)) }));
        g.appendChild(dot);
      });
    });
    return figure(g, opts.title, opts.series.map(function (s) { return [s.color, s.name]; }));
  }

  /** Bars, optionally with interval whiskers (low/high). */
  function barChart(opts) {
    var W = 560, rowH = 30, L = 150, R = 70, T = 6;
    var H = T + opts.rows.length * rowH + 18;
    var max = opts.max || Math.max.apply(null, opts.rows.map(function (r) { return Math.max(r.value || 0, r.high || 0); }).concat([1e-9]));
    function X(v) { return L + ((W - L - R) * v) / max; }
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": opts.title });
    opts.rows.forEach(function (r, i) {
      var y = T + i * rowH;
      g.appendChild(svg("text", { x: L - 6, y: y + 17, "text-anchor": "end", class: "label", text: r.label }));
      var bar = svg("rect", { x: L, y: y + 5, width: Math.max(0, X(r.value || 0) - L), height: 16, fill: r.color || "#0969da", rx: 2 });
      bar.appendChild(svg("title", { text: r.label + ": " + opts.format(r.value) + (r.low !== undefined ? " (" + opts.format(r.low) + " – " + opts.format(r.high) + ")" : "") }));
      g.appendChild(bar);
      if (r.low !== undefined && r.high !== undefined && r.low !== null && r.high !== null) {
        g.appendChild(svg("line", { x1: X(r.low), x2: X(r.high), y1: y + 13, y2: y + 13, stroke: "#24292f", "stroke-width": 1.5 }));
        g.appendChild(svg("line", { x1: X(r.low), x2: X(r.low), y1: y + 7, y2: y + 19, stroke: "#24292f", "stroke-width": 1.5 }));
        g.appendChild(svg("line", { x1: X(r.high), x2: X(r.high), y1: y + 7, y2: y + 19, stroke: "#24292f", "stroke-width": 1.5 }));
      }
      g.appendChild(svg("text", { x: W - R + 6, y: y + 17, class: "value", text: opts.format(r.value) }));
    });
    g.appendChild(svg("line", { x1: L, x2: L, y1: T, y2: H - 18, stroke: "#8c959f" }));
    return figure(g, opts.title, null);
  }

  /** Training vs served shares per bin, side by side. */
  function histogramChart(bins, title) {
    var W = 560, H = 130, L = 30, R = 6, T = 8, B = 22;
    var n = bins.training.length;
    var max = Math.max.apply(null, bins.training.concat(bins.served).concat([1e-9]));
    var bw = (W - L - R) / n;
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": title });
    function Y(v) { return T + (H - T - B) * (1 - v / max); }
    for (var i = 0; i < n; i++) {
      var x = L + i * bw;
      g.appendChild(svg("rect", { x: x + 1, y: Y(bins.training[i]), width: bw / 2 - 1, height: Y(0) - Y(bins.training[i]), fill: "#8c959f" }));
      g.appendChild(svg("rect", { x: x + bw / 2, y: Y(bins.served[i]), width: bw / 2 - 1, height: Y(0) - Y(bins.served[i]), fill: "#0969da" }));
      if (n <= 12 || i % Math.ceil(n / 12) === 0) g.appendChild(svg("text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle", class: "tick", text: fixed(bins.edges[i], bins.edges[i] % 1 === 0 ? 0 : 1) }));
    }
    return figure(g, title, [["#8c959f", "training"], ["#0969da", "served in this window"]]);
  }

  function figure(chart, title, legend) {
    var f = el("figure", {}, [chart]);
    var cap = el("figcaption", { text: title });
    if (legend) legend.forEach(function (l) {
      var swatch = el("i");
      swatch.style.background = l[0]; // CSSOM, not a style attribute: allowed by the page's CSP
      cap.appendChild(el("span", { class: "key" }, [swatch, l[1]]));
    });
    f.appendChild(cap);
    return f;
  }

  // ── sections ──────────────────────────────────────────────────────────────
  function renderSummary(d) {
    var box = $("summary");
    box.replaceChildren();
    var driftStatus = worst(d.drift.map(function (m) { return m.status; }));
    var srm = d.experiments.some(function (e) { return e.srm && e.srm.mismatch; });
    var running = d.rollouts.filter(function (r) { return r.status === "running"; })[0];
    var errRate = d.ingestion.totals.impressions ? d.ingestion.totals.errors / d.ingestion.totals.impressions : null;
    var cards = [
      ["Models vs training data", driftStatus, d.drift.length ? d.drift.length + " model(s) served" : "No model served in this window", "summary-drift"],
      ["Experiments", srm ? "act" : d.experiments.length ? "fine" : "no_data", srm ? "A traffic split looks broken" : d.experiments.length + " experiment(s)", "summary-experiments"],
      ["Rollout", running ? "watch" : "fine", running ? running.model + " on " + running.steps[running.step] + "% of traffic" : "No rollout in progress", "summary-rollout"],
      ["Serving", errRate === null ? "no_data" : errRate > 0.05 ? "act" : errRate > 0.01 ? "watch" : "fine", num(d.ingestion.totals.events) + " events, " + num(d.ingestion.totals.impressions) + " lists shown", "summary-serving"]
    ];
    cards.forEach(function (c) {
      box.appendChild(el("div", { class: "card " + c[1], "data-testid": c[3] }, [el("h3", { text: c[0] }), pill(c[1]), el("p", { text: c[2] })]));
    });
  }

  function worst(list) {
    if (list.indexOf("act") >= 0) return "act";
    if (list.indexOf("watch") >= 0) return "watch";
    if (list.indexOf("fine") >= 0) return "fine";
    return "no_data";
  }

  function renderDrift(d) {
    var box = $("drift-body");
    box.replaceChildren();
    if (!d.drift.length) { box.appendChild(el("p", { class: "muted", text: "No model has served recommendations in this window." })); return; }
    var hours = d.drift[0].prediction.series.map(function (s) { return s.hour; });
    d.drift.forEach(function (m) {
      var info = d.models.filter(function (x) { return x.model === m.model; })[0];
      var card = el("article", { class: "model", "data-testid": "drift-" + tid(m.model) });
      card.appendChild(el("h3", {}, [el("span", { text: "Model " + m.model + " " }), pill(m.status, "drift-" + tid(m.model) + "-status")]));
      card.appendChild(el("p", { class: "muted", text: (info && info.age_days !== null ? "Trained " + info.age_days + " day(s) ago. " : "") + num(m.impressions) + " lists served in this window." }));
      if (m.note) card.appendChild(el("p", { class: "note", text: m.note }));
      var rows = m.inputs.concat([m.prediction]);
      rows.forEach(function (f) {
        var id = "drift-" + tid(m.model) + "-" + tid(f.feature);
        var sec = el("div", { class: "feature", "data-testid": id });
        sec.appendChild(el("h4", {}, [el("span", { text: (f.label || LABELS[f.feature] || f.feature) + " " }), pill(f.status, id + "-status")]));
        sec.appendChild(el("p", { text: ADVICE[f.status] }));
        sec.appendChild(el("p", { class: "figures" }, [
          "Difference from ", f.feature === "prediction.top_score" ? "the model's first day" : "training", " (PSI): ",
          el("b", { "data-testid": id + "-psi", text: fixed(f.psi, 3) }),
          " · missing: ", el("b", { "data-testid": id + "-missing", text: pct(f.missing_share) }),
          " · out of range: ", el("b", { text: pct(f.out_of_range_share) }),
          " · observations: ", el("b", { text: num(f.observations) })
        ]));
        var grid = el("div", { class: "pair" });
        grid.appendChild(lineChart({
          title: "Difference from " + (f.feature === "prediction.top_score" ? "the first day" : "training") + " per hour (PSI; green fine, yellow watch, red act)",
          hours: hours,
          bands: d.settings.psi,
          series: [{ name: "PSI", color: "#24292f", values: f.series.map(function (s) { return s.psi; }) }]
        }));
        grid.appendChild(histogramChart(f.bins, "Share of values per range"));
        sec.appendChild(grid);
        card.appendChild(sec);
      });
      var c = m.catalogue;
      var cid = "drift-" + tid(m.model) + "-catalogue";
      var cat = el("div", { class: "feature", "data-testid": cid });
      cat.appendChild(el("h4", {}, [el("span", { text: "Recommended products the model has never seen " }), pill(c.status, cid + "-status")]));
      cat.appendChild(el("p", {}, [el("b", { "data-testid": cid + "-share", text: pct(c.unknown_share) }), " of " + num(c.shown) + " recommended products are unknown to the model (new in the catalogue since training)."]));
      cat.appendChild(lineChart({ title: "Share of unknown products per hour", hours: hours, format: function (v) { return pct(v, 0); }, bands: d.settings.unknown_items,
        series: [{ name: "unknown", color: "#8250df", values: c.series.map(function (s) { return s.unknown_share; }) }] }));
      card.appendChild(cat);
      box.appendChild(card);
    });
  }

  function verdict(cmp) {
    if (!cmp || !cmp.lift) return ["no_data", "Not enough data yet"];
    if (!cmp.significant) return ["watch", "No clear difference yet"];
    return cmp.lift.value > 0 ? ["fine", "Better than control"] : ["act", "Worse than control"];
  }

  function renderExperiments(d) {
    var box = $("experiments-body");
    box.replaceChildren();
    if (!d.experiments.length) { box.appendChild(el("p", { class: "muted", text: "No experiment has served traffic yet." })); return; }
    d.experiments.forEach(function (e) {
      var eid = "exp-" + tid(e.experiment);
      var art = el("article", { class: "experiment", "data-testid": eid });
      var current = d.config && d.config.experiment && d.config.experiment.name === e.experiment;
      art.appendChild(el("h3", { text: "Experiment " + e.experiment + (current ? " (running)" : "") }));
      art.appendChild(el("p", { class: "muted", text: "From " + when(e.first_at) + " to " + when(e.last_at) + ". Control: " + (e.control || "–") + "." }));
      if (e.srm && e.srm.mismatch) {
        var exp = Object.keys(e.srm.expected).map(function (k) { return k + " " + Math.round(e.srm.expected[k]); }).join(", ");
        var got = e.variants.map(function (v) { return v.variant + " " + v.visitors; }).join(", ");
        art.appendChild(el("div", { class: "banner act", "data-testid": eid + "-srm", text: "Warning: the traffic split looks broken. Expected visitors " + exp + "; got " + got + " (chance p = " + e.srm.p_value.toExponential(1) + "). Do not trust these results until assignment is fixed." }));
      } else if (e.srm) {
        art.appendChild(el("p", { class: "ok", "data-testid": eid + "-srm-ok", text: "Traffic split matches the configured weights (p = " + fixed(e.srm.p_value, 3) + ")." }));
      }
      var table = el("table", {});
      table.appendChild(el("thead", {}, [el("tr", {}, ["Variant", "Weight", "Visitors", "Lists shown", "Clicks", "Add-to-carts", "Purchases", "Click rate (95% range)", "Conversion (95% range)", "Click rate vs control"].map(function (h) { return el("th", { text: h }); }))]));
      var body = el("tbody");
      e.variants.forEach(function (v) {
        var vid = eid + "-" + tid(v.variant);
        var cmp = v.vs_control ? v.vs_control.ctr : null;
        var vd = v.vs_control ? verdict(cmp) : null;
        body.appendChild(el("tr", { "data-testid": vid }, [
          el("td", { text: v.variant }),
          el("td", { text: v.weight === null ? "–" : String(v.weight) }),
          el("td", { "data-testid": vid + "-visitors", text: num(v.visitors) }),
          el("td", { "data-testid": vid + "-impressions", text: num(v.impressions) }),
          el("td", { "data-testid": vid + "-clicks", text: num(v.clicks) }),
          el("td", { "data-testid": vid + "-carts", text: num(v.add_to_carts) }),
          el("td", { "data-testid": vid + "-purchases", text: num(v.purchases) }),
          el("td", { "data-testid": vid + "-ctr", text: v.ctr ? pct(v.ctr.value) + " (" + pct(v.ctr.low) + " – " + pct(v.ctr.high) + ")" : "–" }),
          el("td", { text: v.conversion ? pct(v.conversion.value) + " (" + pct(v.conversion.low) + " – " + pct(v.conversion.high) + ")" : "–" }),
          el("td", {}, vd ? [pill(vd[0], vid + "-verdict"), el("span", { text: " " + vd[1] + (cmp && cmp.lift ? " (" + (cmp.lift.value >= 0 ? "+" : "") + pct(cmp.lift.value) + ", p = " + fixed(cmp.p_value, 3) + ")" : "") })] : [el("span", { class: "muted", text: "control" })])
        ]));
      });
      table.appendChild(body);
      art.appendChild(el("div", { class: "scroll" }, [table]));
      var max = Math.max.apply(null, e.variants.map(function (v) { return v.ctr ? v.ctr.high : 0; }).concat([0.01]));
      art.appendChild(barChart({ title: "Click rate per variant with its 95% range (whiskers)", max: max, format: function (x) { return pct(x); },
        rows: e.variants.map(function (v) { return { label: v.variant, value: v.ctr ? v.ctr.value : 0, low: v.ctr ? v.ctr.low : null, high: v.ctr ? v.ctr.high : null, color: v.variant === e.control ? "#8c959f" : "#0969da" }; }) }));
      box.appendChild(art);
    });
  }

  function renderRollouts(d) {
    var box = $("rollouts-body");
    box.replaceChildren();
    var running = d.rollouts.filter(function (r) { return r.status === "running"; })[0];
    if (running) {
      var p = running.steps[running.step];
      var card = el("article", { class: "rollout", "data-testid": "rollout-current" });
      card.appendChild(el("h3", {}, [el("span", { text: "Rolling out " + running.model + " " }), pill("watch", "rollout-status")]));
      card.appendChild(el("p", {}, ["The new model serves ", el("b", { "data-testid": "rollout-percent", text: p + "%" }), " of traffic (step " + (running.step + 1) + " of " + running.steps.length + "); the rest stays on " + (running.baseline || "the fallback lists") + ". It is rolled back automatically if more than " + pct(running.guard_rails.max_error_rate) + " of its lists fail, its 95th-percentile latency passes " + running.guard_rails.max_p95_latency_ms + " ms, or its click rate falls more than " + pct(running.guard_rails.max_ctr_drop, 0) + " below the current model's."]));
      var steps = el("div", { class: "steps" });
      running.steps.forEach(function (s, i) { steps.appendChild(el("span", { class: i < running.step ? "done" : i === running.step ? "now" : "", text: s + "%" })); });
      card.appendChild(steps);
      var promote = el("button", { type: "button", "data-testid": "rollout-promote", text: running.step + 1 < running.steps.length ? "Promote to " + running.steps[running.step + 1] + "%" : "Promote" });
      var back = el("button", { type: "button", class: "danger", "data-testid": "rollout-rollback", text: "Roll back" });
      promote.addEventListener("click", function () { if (confirm("Send more traffic to " + running.model + "?")) act("/admin/api/rollouts/" + running.id + "/promote", {}); });
      back.addEventListener("click", function () { var r = prompt("Why roll back? (kept in the history)", "rolled back from the dashboard"); if (r !== null) act("/admin/api/rollouts/" + running.id + "/rollback", { reason: r || "rolled back from the dashboard" }); });
      card.appendChild(el("p", {}, [promote, " ", back]));
      box.appendChild(card);
    } else {
      box.appendChild(el("p", { "data-testid": "rollout-none", text: "No rollout in progress. " + (d.config && d.config.default_model ? "All traffic is served by " + d.config.default_model + "." : "") }));
    }
    var past = d.rollouts.filter(function (r) { return r.status !== "running"; });
    if (past.length) {
      var t = el("table", { "data-testid": "rollout-list" });
      t.appendChild(el("thead", {}, [el("tr", {}, ["Rollout", "Model", "Outcome", "Why", "When"].map(function (h) { return el("th", { text: h }); }))]));
      var tb = el("tbody");
      past.forEach(function (r) {
        tb.appendChild(el("tr", { "data-testid": "rollout-" + r.id }, [el("td", { text: r.id }), el("td", { text: r.model }),
          el("td", {}, [pill(r.status === "promoted" ? "fine" : "act"), el("span", { text: " " + (r.status === "promoted" ? "now serves everyone" : "rolled back at " + r.steps[r.step] + "%") })]),
          el("td", { "data-testid": "rollout-" + r.id + "-reason", text: r.reason || "–" }), el("td", { text: when(r.updated_at) })]));
      });
      t.appendChild(tb);
      box.appendChild(el("div", { class: "scroll" }, [t]));
    }
    var hist = el("ol", { class: "history", "data-testid": "history" });
    d.history.slice(0, 30).forEach(function (h) {
      var det = h.detail || {};
      var text = when(h.at) + " — " + h.kind.replace(/_/g, " ") + (h.rollout ? " " + h.rollout : "") + (det.percent !== undefined ? " at " + det.percent + "%" : "") + (det.reason ? ": " + det.reason : "") + (det.by ? " (by " + det.by + ")" : "");
      hist.appendChild(el("li", { text: text }));
    });
    box.appendChild(el("h3", { text: "History" }));
    box.appendChild(d.history.length ? hist : el("p", { class: "muted", text: "Nothing yet." }));
  }

  function renderTraffic(d) {
    var box = $("traffic-body");
    box.replaceChildren();
    var t = d.ingestion.totals;
    box.appendChild(el("p", {}, [el("b", { "data-testid": "traffic-events", text: num(t.events) }), " events received, ",
      el("b", { "data-testid": "traffic-impressions", text: num(t.impressions) }), " recommendation lists shown, ",
      el("b", { "data-testid": "traffic-errors", text: num(t.errors) }), " failed to use their model. Typical time to answer: ",
      el("b", { "data-testid": "traffic-p50", text: t.p50_latency_ms === null ? "–" : Math.round(t.p50_latency_ms) + " ms" }), " (95% within ",
      el("b", { text: t.p95_latency_ms === null ? "–" : Math.round(t.p95_latency_ms) + " ms" }), ")."]));
    var s = d.ingestion.series;
    var hours = s.map(function (x) { return x.hour; });
    var grid = el("div", { class: "pair" });
    grid.appendChild(lineChart({ title: "Events and lists shown per hour", hours: hours, format: function (v) { return Math.round(v).toString(); },
      series: [{ name: "events", color: "#0969da", values: s.map(function (x) { return x.events; }) }, { name: "lists shown", color: "#1a7f37", values: s.map(function (x) { return x.impressions; }) }] }));
    grid.appendChild(lineChart({ title: "Time to answer per hour (ms)", hours: hours, format: function (v) { return Math.round(v).toString(); },
      series: [{ name: "median", color: "#0969da", values: s.map(function (x) { return x.p50_latency_ms; }) }, { name: "95th percentile", color: "#9a6700", values: s.map(function (x) { return x.p95_latency_ms; }) }] }));
    box.appendChild(grid);
    var types = Object.keys(d.ingestion.by_type).sort();
    if (types.length) box.appendChild(barChart({ title: "Events by type in this window", format: function (x) { return num(x); },
      rows: types.map(function (k) { return { label: k.replace(/_/g, " "), value: d.ingestion.by_type[k] }; }) }));
  }

  // ── data ──────────────────────────────────────────────────────────────────
  function headers(json) {
    var h = { "x-edgewise-key": sessionStorage.getItem(KEY) || "", authorization: "Bearer " + (sessionStorage.getItem(TOKEN) || "") };
    if (json) h["content-type"] = "application/json";
    return h;
  }

  function showError(message) {
    var b = $("error");
    b.textContent = message;
    b.hidden = !message;
  }

  function failure(res, body) {
    var code = body && body.error ? body.error.code : "http_" + res.status;
    var msg = body && body.error ? body.error.message : res.statusText;
    if (res.status === 401 || res.status === 403) { logout(); return "Sign-in refused (" + code + "): " + msg; }
    return "Request failed (" + code + "): " + msg;
  }

  function load() {
    showError("");
    $("status").textContent = "Loading…";
    fetch("/admin/api/dashboard?hours=" + encodeURIComponent($("hours").value), { headers: headers(false) })
      .then(function (res) { return res.json().catch(function () { return null; }).then(function (body) { return { res: res, body: body }; }); })
      .then(function (r) {
        if (!r.res.ok) { showError(failure(r.res, r.body)); $("status").textContent = ""; return; }
        var d = r.body;
        $("tenant").textContent = "Shop: " + d.tenant;
        renderSummary(d); renderDrift(d); renderExperiments(d); renderRollouts(d); renderTraffic(d);
        if (d.config_problem) showError("The shop's experiment configuration is invalid: " + d.config_problem);
        $("status").textContent = "Updated " + when(d.generated_at);
        $("app").setAttribute("data-loaded", "true");
      })
      .catch(function (err) { showError("Could not reach the service: " + err); $("status").textContent = ""; });
  }

  function act(path, body) {
    fetch(path, { method: "POST", headers: headers(true), body: JSON.stringify(body) })
      .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { return { res: res, body: b }; }); })
      .then(function (r) { if (!r.res.ok) showError(failure(r.res, r.body)); else load(); })
      .catch(function (err) { showError("Could not reach the service: " + err); });
  }

  function logout() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(TOKEN);
    $("app").hidden = true;
    $("app").removeAttribute("data-loaded");
    $("login").hidden = false;
    $("logout").hidden = true;
  }

  function start() {
    if (sessionStorage.getItem(KEY) && sessionStorage.getItem(TOKEN)) {
      $("login").hidden = true;
      $("app").hidden = false;
      $("logout").hidden = false;
      load();
    } else logout();
  }

  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    sessionStorage.setItem(TOKEN, $("token").value.trim());
    $("token").value = "";
    start();
  });
  $("logout").addEventListener("click", function () { logout(); showError(""); });
  $("refresh").addEventListener("click", load);
  $("hours").addEventListener("change", load);
  start();
})();
`;
