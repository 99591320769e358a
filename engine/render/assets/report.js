/* mi-run report: the DAG's instance cells, the timeline and the details panel, drawn from
   the JSON in #mi-data (engine/render/reportdata.py: page_data). No network, no framework;
   pan and zoom by the vendored svg-pan-zoom. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("mi-data").textContent);
  var F = {};
  D.fields.forEach(function (name, i) { F[name] = i; });
  var inst = D.instances;
  var SVGNS = "http://www.w3.org/2000/svg";
  var COLORS = {"failed": "#d62728", "interrupted": "#ff7f0e", "not started": "#bbbbbb",
    "running": "#e7ba52", "completed": "#2ca02c", "skipped": "#ffffff",
    "up to date": "#6baed6", "not selected": "#e0e0e0"};
  var PALETTE = ["#4e79a7", "#f28e2b", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#86bcb6", "#8cd17d", "#b6992d", "#499894", "#d37295", "#a0cbe8"];
  var byStep = {};
  var critical = {};
  D.critical.forEach(function (i) { critical[i] = true; });
  inst.forEach(function (row, i) {
    var step = D.steps[row[F.step]];
    (byStep[step] = byStep[step] || []).push(i);
  });

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }
  function el(tag, attrs, parent) {
    var node = document.createElementNS(SVGNS, tag);
    for (var key in attrs) { node.setAttribute(key, attrs[key]); }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function secs(v) {
    if (v === null || v === undefined) { return "–"; }
    if (v < 60) { return (v < 10 ? v.toFixed(2) : v.toFixed(1)) + " s"; }
    if (v < 3600) { return Math.floor(v / 60) + " min " + Math.round(v % 60) + " s"; }
    return Math.floor(v / 3600) + " h " + Math.round((v % 3600) / 60) + " min";
  }
  function mb(v) { return v === null || v === undefined ? "–" : v.toFixed(1) + " MB"; }
  function bytes(v) {
    if (v === null || v === undefined) { return ""; }
    var units = ["B", "KB", "MB", "GB", "TB"], k = 0;
    while (v >= 1024 && k < units.length - 1) { v /= 1024; k += 1; }
    return (k ? v.toFixed(1) : v) + " " + units[k];
  }
  function text(k, i) {
    /* an entry of the string table, with the instance's label put back */
    var found = D.strings[k], id = inst[i][F.id], step = stepOf(i);
    if (found.indexOf(D.mark) < 0 || id.indexOf(step + "[") !== 0) { return found; }
    return found.split(D.mark).join(id.slice(step.length + 1, -1));
  }
  function status(i) { return D.statuses[inst[i][F.status]]; }
  function stepOf(i) { return D.steps[inst[i][F.step]]; }

  /* -- the details panel ------------------------------------------------------------ */
  var aside = document.getElementById("details");
  var body = document.getElementById("details-body");
  function open(html) {
    body.innerHTML = html;
    aside.hidden = false;
    aside.scrollTop = 0;
    wire(body);
  }
  document.getElementById("close").addEventListener("click", function () {
    aside.hidden = true;
    select(null);
  });
  function wire(root) {
    root.querySelectorAll("[data-i]").forEach(function (node) {
      node.addEventListener("click", function (event) {
        event.preventDefault();
        showInstance(Number(node.getAttribute("data-i")));
      });
    });
    root.querySelectorAll("[data-show-step]").forEach(function (node) {
      node.addEventListener("click", function (event) {
        event.preventDefault();
        showStep(node.getAttribute("data-show-step"));
      });
    });
  }
  function files(title, list, i) {
    if (!list || !list.length) { return ""; }
    return "<h4>" + title + "</h4><table>" + list.map(function (f) {
      return "<tr><td>" + esc(text(f[0], i)) + "</td><td><code>" + esc(text(f[1], i)) +
        "</code></td><td>" + esc(bytes(f[2])) + "</td></tr>";
    }).join("") + "</table>";
  }
  function instanceHtml(i) {
    var row = inst[i], d = row[F.detail] || {}, html = [];
    html.push("<h3 class=\"instance-id\">" + esc(row[F.id]) + "</h3>");
    html.push("<p>step <a href=\"#\" data-show-step=\"" + esc(stepOf(i)) + "\">" +
      esc(stepOf(i)) + "</a> · <b>" + esc(status(i)) + "</b>" +
      (critical[i] ? " · on the critical path" : "") + "</p>");
    if (d.s !== undefined) { html.push("<p class=\"skip\">skipped by the step: " + esc(text(d.s, i)) + "</p>"); }
    if (d.r) {
      html.push("<p>why: " + esc(d.r.map(function (k) { return text(k, i); }).join("; ")) + "</p>");
    }
    html.push("<table><tr><th>attempts</th><td>" + esc(row[F.attempts]) +
      "</td><th>exit</th><td>" + esc(row[F.exit] === null ? "–" : row[F.exit]) + "</td></tr>" +
      "<tr><th>duration</th><td>" + secs(row[F.duration]) + "</td><th>CPU time</th><td>" +
      secs(row[F.cpu]) + "</td></tr><tr><th>started</th><td>+" + secs(row[F.start]) +
      "</td><th>peak memory</th><td>" + mb(row[F.mem]) + "</td></tr></table>");
    if (d.c !== undefined) {
      html.push("<h4>command</h4><pre class=\"command\">" + esc(text(d.c, i)) + "</pre>");
    }
    if (d.u !== undefined) {
      html.push("<h4>function</h4><p><code class=\"command\">" + esc(text(d.u, i)) + "</code></p>");
    }
    if (d.p !== undefined) { html.push("<h4>params</h4><pre>" + esc(text(d.p, i)) + "</pre>"); }
    if (d.e !== undefined) { html.push("<h4>error</h4><pre class=\"error\">" + esc(text(d.e, i)) + "</pre>"); }
    if (d.h !== undefined) { html.push("<p class=\"hint\">hint: " + esc(text(d.h, i)) + "</p>"); }
    html.push(files("inputs", d["in"], i), files("outputs", d.out, i));
    if (d.o) { html.push("<h4>returned</h4><pre>" + esc(JSON.stringify(d.o, null, 1)) + "</pre>"); }
    if (d.w) { html.push("<h4>warnings</h4><pre>" + esc(d.w.join("\n")) + "</pre>"); }
    if (d.l !== undefined) { html.push("<h4>log</h4><p><code>" + esc(text(d.l, i)) + "</code></p>"); }
    if (d.t) { html.push("<h4>end of the log</h4><pre class=\"log-tail\">" + esc(d.t) + "</pre>"); }
    return html.join("");
  }
  function showInstance(i) {
    select(stepOf(i));
    open(instanceHtml(i));
  }
  var SHOWN_ROWS = 500;
  function stepRows(ids, filter) {
    var shown = ids.filter(function (i) {
      return !filter || inst[i][F.id].indexOf(filter) >= 0 || status(i).indexOf(filter) >= 0;
    });
    var rows = shown.slice(0, SHOWN_ROWS).map(function (i) {
      var row = inst[i];
      return "<tr class=\"row\" data-i=\"" + i + "\"><td><code>" + esc(row[F.id]) + "</code></td><td>" +
        esc(status(i)) + "</td><td>" + esc(row[F.attempts]) + "</td><td>" + secs(row[F.duration]) +
        "</td><td>" + secs(row[F.cpu]) + "</td><td>" + mb(row[F.mem]) + "</td><td>" +
        esc(row[F.exit] === null ? "" : row[F.exit]) + "</td></tr>";
    });
    var more = shown.length > SHOWN_ROWS ? "<p class=\"muted\">" + (shown.length - SHOWN_ROWS) +
      " more; type in the filter box</p>" : "";
    return "<table class=\"instances\"><tr><th>instance</th><th>status</th><th>attempts</th>" +
      "<th>duration</th><th>CPU</th><th>memory</th><th>exit</th></tr>" + rows.join("") +
      "</table>" + more;
  }
  function showStep(step) {
    var ids = byStep[step] || [];
    select(step);
    var counts = {};
    ids.forEach(function (i) { counts[status(i)] = (counts[status(i)] || 0) + 1; });
    var html = ["<h3>step " + esc(step) + " <small>" + ids.length + " instance" +
      (ids.length === 1 ? "" : "s") + "</small></h3><p>" + Object.keys(counts).map(function (s) {
        return counts[s] + " " + esc(s);
      }).join(", ") + "</p>"];
    if (ids.length === 1) {
      html.push(instanceHtml(ids[0]));
      open(html.join(""));
      return;
    }
    html.push("<input id=\"filter\" placeholder=\"filter instances\" size=\"30\">");
    html.push("<div id=\"step-rows\">" + stepRows(ids, "") + "</div>");
    var failed = ids.filter(function (i) { return status(i) === "failed"; });
    var example = failed.length ? failed[0] : ids[0];
    html.push("<hr><p class=\"muted\">" + (failed.length ? "first failed instance" :
      "first instance") + "; click a row for another</p>" + instanceHtml(example));
    open(html.join(""));
    var box = document.getElementById("filter");
    box.addEventListener("input", function () {
      var target = document.getElementById("step-rows");
      target.innerHTML = stepRows(ids, box.value);
      wire(target);
    });
  }
  function select(step) {
    document.querySelectorAll("#dag-svg .node.selected").forEach(function (node) {
      node.classList.remove("selected");
    });
    if (step === null) { return; }
    document.querySelectorAll("#dag-svg .node").forEach(function (node) {
      if (node.getAttribute("data-step") === step) { node.classList.add("selected"); }
    });
  }

  /* -- the DAG ----------------------------------------------------------------------- */
  var dag = document.getElementById("dag-svg");
  var cells = document.getElementById("dag-cells");
  var dagZoom = null;
  function nodeOf(step) {
    var found = null;
    dag.querySelectorAll(".node").forEach(function (node) {
      if (node.getAttribute("data-step") === step) { found = node; }
    });
    return found;
  }
  function expand(step) {
    var node = nodeOf(step), ids = byStep[step] || [];
    if (!node || ids.length < 2 || cells.querySelector("[data-cells=\"" + CSS.escape(step) + "\"]")) {
      return;
    }
    var box = node.querySelector(".box");
    var move = /translate\(([-\d.]+),([-\d.]+)\)/.exec(node.getAttribute("transform"));
    var x = Number(move[1]), y = Number(move[2]);
    var w = Number(box.getAttribute("width")), h = Number(box.getAttribute("height"));
    var cols = Math.min(ids.length, Math.max(10, Math.min(120, Math.ceil(Math.sqrt(ids.length * 4)))));
    var rows = Math.ceil(ids.length / cols), size = 12;
    var width = cols * size + 10, height = rows * size + 24;
    var group = el("g", {"class": "cells", "data-cells": step,
      transform: "translate(" + (x + w / 2 - width / 2) + "," + (y + h + 4) + ")"}, cells);
    el("rect", {"class": "bg", width: width, height: height, rx: 4}, group);
    el("text", {x: 5, y: 13}, group).textContent = step + ": " + ids.length + " instances";
    var fragment = document.createDocumentFragment();
    ids.forEach(function (i, k) {
      var cell = el("rect", {"class": "inst", x: 5 + (k % cols) * size, y: 19 + Math.floor(k / cols) * size,
        width: size - 2, height: size - 2, fill: COLORS[status(i)] || "#bbb",
        "data-instance": inst[i][F.id], "data-status": status(i), "data-i": i});
      if (critical[i]) { cell.setAttribute("stroke", "#000"); cell.setAttribute("stroke-width", "1.5"); }
      fragment.appendChild(cell);
    });
    group.appendChild(fragment);
    var toggle = node.querySelector(".toggle text");
    if (toggle) { toggle.textContent = "−"; }
    refit();
  }
  function refit() {
    /* the drawing grew or shrank: show all of it */
    if (dagZoom) { dagZoom.updateBBox(); dagZoom.resize(); dagZoom.fit(); dagZoom.center(); }
  }
  function collapse(step) {
    var found = cells.querySelector("[data-cells=\"" + CSS.escape(step) + "\"]");
    if (found) { found.remove(); }
    var node = nodeOf(step), toggle = node && node.querySelector(".toggle text");
    if (toggle) { toggle.textContent = "+"; }
    if (found) { refit(); }
  }
  dag.addEventListener("click", function (event) {
    var cell = event.target.closest("rect.inst");
    if (cell) { showInstance(Number(cell.getAttribute("data-i"))); return; }
    var toggle = event.target.closest(".toggle");
    if (toggle) {
      var step = toggle.getAttribute("data-step");
      if (cells.querySelector("[data-cells=\"" + CSS.escape(step) + "\"]")) { collapse(step); }
      else { expand(step); }
      return;
    }
    var node = event.target.closest(".node");
    if (node) { showStep(node.getAttribute("data-step")); }
  });
  document.getElementById("expand-all").addEventListener("click", function () {
    Object.keys(byStep).forEach(expand);
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    Object.keys(byStep).forEach(collapse);
  });

  /* -- the timeline ------------------------------------------------------------------ */
  var timeline = document.getElementById("timeline-svg");
  var timelineZoom = null;
  function niceStep(span) {
    var raw = span / 8, power = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    var found = [1, 2, 5, 10].map(function (m) { return m * power; })
      .filter(function (v) { return v >= raw; });
    return found.length ? found[0] : 10 * power;
  }
  function tickText(t, tick) {
    if (tick < 1) {
      var digits = Math.max(0, Math.ceil(-Math.log10(tick * 1000) + 1e-9));
      return (t * 1000).toFixed(digits) + " ms";
    }
    return secs(t);
  }
  function drawTimeline() {
    var bars = D.timeline, slots = 0, end = D.elapsed || 0;
    bars.forEach(function (b) {
      slots = Math.max(slots, b[5] + 1);
      end = Math.max(end, b[3] === null ? b[2] : b[3]);
    });
    var left = 58, top = 22, rowH = 14, width = Math.max(900, timeline.parentNode.clientWidth || 900);
    var height = top + Math.max(1, slots) * rowH + 8;
    var scale = (width - left - 12) / (end || 1);
    timeline.setAttribute("viewBox", "0 0 " + width + " " + height);
    timeline.setAttribute("height", Math.min(Math.max(height, 120), 640));
    var root = el("g", {}, timeline), axis = el("g", {"class": "axis"}, root);
    var tick = niceStep(end || 1);
    for (var t = 0; t <= end + 1e-9; t += tick) {
      var tx = left + t * scale;
      el("line", {x1: tx, x2: tx, y1: top - 4, y2: height}, axis);
      el("text", {x: tx + 2, y: 12}, axis).textContent = tickText(t, tick);
    }
    for (var s = 0; s < slots; s += 1) {
      el("text", {"class": "slot", x: 4, y: top + s * rowH + 10}, root).textContent = "slot " + (s + 1);
    }
    var fragment = document.createDocumentFragment();
    bars.forEach(function (b) {
      var i = b[0], stop = b[3] === null ? b[2] : b[3], state = D.statuses[b[4]];
      var cls = "att " + state.replace(/ /g, "-") + (b[1] > 1 ? " retried" : "") +
        (critical[i] ? " critical" : "");
      fragment.appendChild(el("rect", {"class": cls, x: left + b[2] * scale, y: top + b[5] * rowH,
        width: Math.max(1, (stop - b[2]) * scale), height: rowH - 3,
        fill: PALETTE[inst[i][F.step] % PALETTE.length], "data-instance": inst[i][F.id],
        "data-attempt": b[1], "data-i": i, "data-status": state}));
    });
    root.appendChild(fragment);
    var legend = document.getElementById("timeline-legend");
    legend.innerHTML = D.steps.map(function (step, k) {
      return "<span class=\"key\" style=\"background:" + PALETTE[k % PALETTE.length] + "\">" +
        esc(step) + "</span>";
    }).join("");
  }
  var tip = document.getElementById("tip");
  timeline.addEventListener("mousemove", function (event) {
    var bar = event.target.closest("rect.att");
    if (!bar) { tip.hidden = true; return; }
    var i = Number(bar.getAttribute("data-i")), row = inst[i];
    tip.textContent = row[F.id] + " (attempt " + bar.getAttribute("data-attempt") + ")\n" +
      bar.getAttribute("data-status") + " · " + secs(row[F.duration]);
    tip.style.left = (event.clientX + 12) + "px";
    tip.style.top = (event.clientY + 12) + "px";
    tip.hidden = false;
  });
  timeline.addEventListener("mouseleave", function () { tip.hidden = true; });
  timeline.addEventListener("click", function (event) {
    var bar = event.target.closest("rect.att");
    if (bar) { showInstance(Number(bar.getAttribute("data-i"))); }
  });

  /* -- start ------------------------------------------------------------------------- */
  document.querySelectorAll("#failures [data-i], #notes [data-i]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      showInstance(Number(link.getAttribute("data-i")));
    });
  });
  drawTimeline();
  function zoomable(svg) {
    if (typeof window.svgPanZoom !== "function") { return null; }
    return window.svgPanZoom(svg, {zoomEnabled: true, controlIconsEnabled: true, fit: true,
      center: true, minZoom: 0.05, maxZoom: 200, zoomScaleSensitivity: 0.3,
      dblClickZoomEnabled: false});
  }
  dagZoom = zoomable(dag);
  timelineZoom = zoomable(timeline);
  document.getElementById("dag-fit").addEventListener("click", refit);
  document.getElementById("timeline-fit").addEventListener("click", function () {
    if (timelineZoom) { timelineZoom.resize(); timelineZoom.fit(); timelineZoom.center(); }
  });
  document.body.setAttribute("data-ready", "1");
})();
