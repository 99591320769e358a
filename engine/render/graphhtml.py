"""``--graph plan.html``: one self-contained page (no CDN, no external file) with the graph.

The picture is graphviz's SVG; a small inline script makes it pannable (drag) and zoomable
(mouse wheel, the + / - / fit buttons, or the + - 0 keys), and shows a node's details in a
side panel when it is clicked: what will happen to its instances, why (the rerun reasons,
counted), what runs (the first command, or the step function), its input and output files
and its instances (the first few of each, with how many there are). ``plan.html#node=ID``
opens with node ID selected. Hovering a node shows its partial outcome as a tooltip.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.render.dryrun import decision_of

if TYPE_CHECKING:
    from engine.model import Action
    from engine.plan.plan import Plan
    from engine.render.graph import GraphModel, Node
    from engine.running.decide import Decision

LISTED = 12  # files, instances and reasons listed per node (the counts say how many in all)

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;display:flex;flex-direction:column;
height:100vh}header{padding:.6em 1em;border-bottom:1px solid #ccc}h1{font-size:1.3em;margin:0}
.note{color:#8a5a00;margin:.3em 0}.key{display:inline-block;padding:2px 8px;margin-right:6px;
border:1px solid #333}.tools button{min-width:2.2em;margin-right:4px}.hint{color:#666;
font-size:.9em}main{flex:1;display:flex;min-height:0}#graph{flex:1;overflow:hidden;
cursor:grab}#graph svg{width:100%;height:100%;user-select:none}#graph g.node{cursor:pointer}
#graph g.node.selected polygon,#graph g.node.selected path{stroke:#d00;stroke-width:3}
#details{width:28em;overflow:auto;border-left:1px solid #ccc;padding:.5em 1em;font-size:.9em}
#details h2{font-size:1.1em}#details h3{font-size:1em;margin:.8em 0 .2em}#details ul{margin:0;
padding-left:1.2em}#details pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;
padding:.4em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}
"""

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mi-nodes").textContent);
  var svg = document.querySelector("#graph svg"), panel = document.getElementById("details");
  if (!svg) { return; }
  svg.removeAttribute("width"); svg.removeAttribute("height");
  var box = svg.viewBox.baseVal, home = [box.x, box.y, box.width, box.height];
  function set(b) { box.x = b[0]; box.y = b[1]; box.width = b[2]; box.height = b[3]; }
  function at(x, y) {
    var p = svg.createSVGPoint(); p.x = x; p.y = y;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  function zoom(factor, x, y) {
    var p = at(x, y);
    set([p.x - (p.x - box.x) * factor, p.y - (p.y - box.y) * factor,
         box.width * factor, box.height * factor]);
  }
  function zoomCentre(factor) {
    var r = svg.getBoundingClientRect(); zoom(factor, r.left + r.width / 2, r.top + r.height / 2);
  }
  svg.addEventListener("wheel", function (e) {
    e.preventDefault(); zoom(e.deltaY < 0 ? 0.8 : 1.25, e.clientX, e.clientY);
  }, {passive: false});
  var drag = null;
  svg.addEventListener("pointerdown", function (e) {
    drag = {x0: e.clientX, y0: e.clientY, x: e.clientX, y: e.clientY, moved: false};
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    if (Math.abs(e.clientX - drag.x0) + Math.abs(e.clientY - drag.y0) > 3) { drag.moved = true; }
    if (!drag.moved) { return; }
    var scale = svg.getScreenCTM().a;
    box.x -= (e.clientX - drag.x) / scale; box.y -= (e.clientY - drag.y) / scale;
    drag.x = e.clientX; drag.y = e.clientY;
  });
  window.addEventListener("pointerup", function () { setTimeout(function () { drag = null; }, 0); });
  var actions = {"in": function () { zoomCentre(0.8); }, "out": function () { zoomCentre(1.25); },
                 "fit": function () { set(home); }};
  document.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", actions[b.getAttribute("data-zoom")]);
  });
  document.addEventListener("keydown", function (e) {
    var key = {"+": "in", "=": "in", "-": "out", "0": "fit"}[e.key];
    if (key) { actions[key](); }
  });
  function add(parent, tag, text) {
    var el = document.createElement(tag); if (text !== undefined) { el.textContent = text; }
    parent.appendChild(el); return el;
  }
  function list(title, items, total) {
    if (!total) { return; }
    add(panel, "h3", title + " (" + total + ")");
    var ul = add(panel, "ul");
    items.forEach(function (item) { add(ul, "li", item); });
    if (total > items.length) { add(ul, "li", "... and " + (total - items.length) + " more"); }
  }
  var groups = {};
  svg.querySelectorAll("g.node").forEach(function (g) {
    var id = g.querySelector("title").textContent; groups[id] = g;
    g.addEventListener("click", function () { if (!(drag && drag.moved)) { show(id); } });
  });
  function show(id) {
    var d = data[id]; if (!d) { return; }
    Object.keys(groups).forEach(function (k) { groups[k].classList.toggle("selected", k === id); });
    panel.textContent = "";
    add(panel, "h2", d.label); add(panel, "p", d.partial);
    list("why", d.reasons.map(function (r) { return r[1] > 1 ? r[0] + " (\u00d7" + r[1] + ")" : r[0]; }),
         d.reasons_total);
    if (d.run) { add(panel, "h3", "runs"); add(panel, "pre", d.run); }
    list("inputs", d.inputs, d.inputs_total); list("outputs", d.outputs, d.outputs_total);
    list("instances", d.instances, d.count);
    history.replaceState(null, "", "#node=" + encodeURIComponent(id));
  }
  var wanted = /^#node=(.*)$/.exec(location.hash);
  if (wanted) { show(decodeURIComponent(wanted[1])); }
})();
"""


def node_details(node: Node, plan: Plan, decisions: Mapping[str, Decision] | None
                 ) -> dict[str, Any]:
    """What the side panel shows for ``node`` (lists cut at :data:`LISTED` entries)."""
    reasons: Counter[str] = Counter()
    inputs: dict[str, None] = {}
    outputs: dict[str, None] = {}
    run = ""
    for member in node.members:
        reasons.update(decision_of(plan, member, decisions)[1])
        instance = plan.instances.get(member)
        if instance is None:
            continue
        inputs.update(dict.fromkeys(instance.input_paths()))
        outputs.update(dict.fromkeys(instance.output_paths()))
        if not run:
            run = f"$ {instance.command}" if instance.command is not None else f"uses {instance.uses}"
            if node.count > 1:
                run = f"{member}: {run}"
    return {"label": node.label, "partial": node.partial, "count": node.count,
            "reasons": [list(r) for r in reasons.most_common(LISTED)],
            "reasons_total": len(reasons), "run": run,
            "inputs": list(inputs)[:LISTED], "inputs_total": len(inputs),
            "outputs": list(outputs)[:LISTED], "outputs_total": len(outputs),
            "instances": list(node.members[:LISTED])}


def to_html(model: GraphModel, plan: Plan, decisions: Mapping[str, Decision] | None, svg: str,
            legend_styles: Mapping[Action, tuple[str, str, str]]) -> str:
    """The page around graphviz's ``svg`` of ``model``; ``legend_styles``: action -> (fill,
    border, text) of the actions to explain."""
    name = plan.workflow
    svg = svg[svg.find("<svg"):]
    details = {n.id: node_details(n, plan, decisions) for n in model.nodes}
    legend = "".join(
        f'<span class="key" style="background:{fill};border-style:{border}">'
        f"{html.escape(text)}</span>" for fill, border, text in legend_styles.values())
    note = f'<p class="note">{html.escape(model.note)}</p>' if model.note else ""
    rows = "".join(f"<tr><td>{html.escape(n.label)}</td><td>{html.escape(n.partial)}</td></tr>"
                   for n in model.nodes)
    data = json.dumps(details, separators=(",", ":")).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)} — mi-run plan</title>
<style>{_CSS}</style></head>
<body><header><h1>{html.escape(name)}</h1>{note}<p>{legend}</p>
<div class="tools"><button data-zoom="in" title="zoom in (+)">+</button><button data-zoom="out"
title="zoom out (-)">&minus;</button><button data-zoom="fit" title="fit (0)">fit</button>
<span class="hint">drag to pan, scroll to zoom, click a node for its details</span></div>
</header>
<main><div id="graph">{svg}</div><aside id="details"><p>Click a node to see why it runs, what
it runs, and its files.</p><details><summary>every node</summary><table><tr><th>node</th>
<th>instances</th></tr>{rows}</table></details></aside></main>
<script type="application/json" id="mi-nodes">{data}</script>
<script>{_JS}</script>
</body></html>
"""
