/* minigrad explorer: step through the forward pass and backward() of one recorded graph.
 *
 * Reads the trace (JSON in #minigrad-trace, written by minigrad/viz/explore.py) and the Graphviz
 * SVG inlined in #graph; plain JavaScript, no network. The page contract (trace fields,
 * window.minigradExplorer, the #mode/step hash) is documented with mg.viz.explore.
 */
(function () {
  "use strict";

  const trace = JSON.parse(document.getElementById("minigrad-trace").textContent);
  const nodes = new Map(trace.nodes.map((node) => [node.id, node]));
  const orders = { forward: trace.forward_order, backward: trace.backward_order };
  const parameters = trace.parameters || [];
  const states = trace.states || [];
  const state = { mode: "forward", k: 0, selected: null, hovered: null, timer: null, zoom: 1,
    shownBox: null, revealing: false };
  const $ = (id) => document.getElementById(id);

  // -- small helpers ----------------------------------------------------------------------

  /** An element: el("td", {class: "x"}, "text", child, ...). */
  function el(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) element.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) element.append(child);
    }
    return element;
  }

  /** JSON writes non-finite numbers as "NaN", "Infinity", "-Infinity". */
  const num = (v) => (typeof v === "string" ? Number(v) : v);

  /** Every number on the page: 4 significant digits. */
  function fmt(v) {
    v = num(v);
    if (!Number.isFinite(v)) return String(v);
    if (v === 0) return "0";
    const size = Math.abs(v);
    return size < 1e-3 || size >= 1e5 ? v.toExponential(3) : v.toPrecision(4);
  }

  const shapeText = (shape) => (shape.length ? shape.join("×") : "scalar");
  const nameOf = (node) => node.label || node.name || node.op || node.kind;
  const stepText = (step) => (step === null || step === undefined ? "no time step" : "t = " + step);

  /** A link that selects a node in the details panel. */
  function nodeLink(id) {
    const node = nodes.get(id);
    const link = el("a", { href: "#", class: "mg-node-link", "data-node": id }, node ? nameOf(node) : id);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      select(id);
    });
    return link;
  }

  // -- summaries: a heat map when the values are there, else a few numbers --------------------

  function heatColour(v, scale) {
    v = num(v);
    if (!Number.isFinite(v)) return "#999999";
    const t = scale > 0 ? Math.min(1, Math.abs(v) / scale) : 0;
    return v >= 0 ? `rgba(214, 39, 40, ${0.08 + 0.8 * t})` : `rgba(31, 119, 180, ${0.08 + 0.8 * t})`;
  }

  function summaryView(summary, extraClass) {
    const box = el("div", { class: "mg-summary " + (extraClass || "") });
    if (!summary) {
      box.append(el("span", { class: "mg-note" }, "none"));
      return box;
    }
    const values = summary.values;
    if (values !== null && values !== undefined && !Array.isArray(values)) {
      box.append(el("span", { class: "mg-scalar" }, fmt(values)));
    } else if (Array.isArray(values)) {
      const rows = summary.shape.length === 2 ? values : [values];
      const finite = rows.flat().map(num).filter(Number.isFinite);
      const scale = finite.length ? Math.max(...finite.map(Math.abs)) : 0;
      const table = el("table", { class: "mg-heat" });
      for (const row of rows) {
        const tr = el("tr");
        for (const v of row) {
          const dark = scale > 0 && Math.abs(num(v)) / scale > 0.6;
          tr.append(el("td", { style: `background:${heatColour(v, scale)}`, class: dark ? "mg-dark" : null }, fmt(v)));
        }
        table.append(tr);
      }
      box.append(table);
    } else {
      box.append(el("div", { class: "mg-head" }, "first values: " + summary.head.map(fmt).join(", ") + " …"));
      box.append(el("div", { class: "mg-head" }, `min ${fmt(summary.min)} · max ${fmt(summary.max)}`));
    }
    box.append(el("div", { class: "mg-meta" }, `${shapeText(summary.shape)} · norm ‖·‖ = ${fmt(summary.norm)}`));
    return box;
  }

  // -- the graph: boxes by DOT name, edges by their ends --------------------------------------

  const graph = $("graph");
  const svg = graph.querySelector("svg");
  const boxes = new Map(); // DOT name -> <g class="node">
  const members = new Map(); // DOT name -> trace node ids drawn as that box
  const edges = new Map(); // "tail->head" -> [<g class="edge">]
  graph.querySelectorAll("g.node").forEach((g) => boxes.set(g.id, g));
  for (const node of trace.nodes) {
    if (node.svg === null || node.svg === undefined) continue;
    if (!members.has(node.svg)) members.set(node.svg, []);
    members.get(node.svg).push(node.id);
  }
  for (const [name, g] of boxes) {
    const title = g.querySelector("title"); // the DOT name, as a tooltip: say what the box is instead
    const ids = members.get(name) || [];
    if (title) title.textContent = ids.length ? nameOf(nodes.get(ids[ids.length - 1])) : "";
  }
  graph.querySelectorAll("g.edge").forEach((g) => {
    const title = g.querySelector("title");
    if (!title) return;
    const key = title.textContent; // "tail->head"
    if (!edges.has(key)) edges.set(key, []);
    edges.get(key).push(g);
  });
  const stateIds = new Set(states.flatMap((s) => s.ids));
  let flowing = []; // the edges drawn as carrying the current step's values or gradients

  /** The trace node a box stands for: the current op if it is drawn there, a parameter rather
   * than its transpose, a step's state rather than its other ops, else the last made. */
  function nodeForBox(name) {
    const ids = members.get(name) || [];
    const current = currentId();
    if (ids.includes(current)) return current;
    return ids.find((id) => nodes.get(id).kind === "parameter") || ids.find((id) => stateIds.has(id)) ||
      ids[ids.length - 1] || null;
  }

  // -- stepping -----------------------------------------------------------------------------

  const total = () => orders[state.mode].length;
  const currentId = () => (state.k > 0 ? orders[state.mode][state.k - 1] : null);

  function go(k) {
    k = Math.max(0, Math.min(total(), Math.round(Number(k)) || 0));
    state.k = k;
    if (k >= total()) pause();
    render();
    return k;
  }

  function setMode(mode) {
    if (mode !== "forward" && mode !== "backward") {
      throw new Error(`setMode: mode must be "forward" or "backward", got ${JSON.stringify(mode)}`);
    }
    const changed = state.mode !== mode;
    state.mode = mode;
    pause();
    go(0);
    if (changed) fit(true); // the backward pass shows the bar chart below: the graph's area changed
  }

  function play() {
    if (state.k >= total()) go(0); // play from the start again
    const speed = Number($("mg-speed").value) || 3;
    state.timer = setInterval(() => (state.k >= total() ? pause() : go(state.k + 1)), 1000 / speed);
    $("mg-play").textContent = "⏸ pause";
  }

  function pause() {
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
    $("mg-play").textContent = "▶ play";
  }

  const togglePlay = () => (state.timer === null ? play() : pause());

  /** Show a node's details until another is chosen (choosing it again, or null, closes them). */
  function select(id) {
    state.selected = state.selected === id ? null : id;
    render();
  }

  // -- the hash: #backward/12 ------------------------------------------------------------------

  function readHash() {
    const match = /^#?(forward|backward)\/(\d+)$/.exec(location.hash);
    if (!match) return false;
    state.mode = match[1];
    state.k = Math.min(total(), Number(match[2]));
    return true;
  }

  // Browsers refuse a flood of history updates (playing fast, holding →): write at most a few a
  // second, the latest state last.
  const hashWrites = { last: 0, timer: null };

  function writeHash() {
    const wait = hashWrites.last + 250 - Date.now();
    if (hashWrites.timer !== null) return; // a write is due: it will take the latest state
    if (wait > 0) {
      hashWrites.timer = setTimeout(() => {
        hashWrites.timer = null;
        writeHash();
      }, wait);
      return;
    }
    const hash = `#${state.mode}/${state.k}`;
    if (location.hash === hash) return;
    hashWrites.last = Date.now();
    try {
      history.replaceState(null, "", hash); // no history entry per step
    } catch (error) {
      // e.g. a sandboxed or srcdoc frame (Jupyter): the page works without a hash
    }
  }

  // -- drawing --------------------------------------------------------------------------------

  function render() {
    const order = orders[state.mode];
    const backward = state.mode === "backward";
    const current = currentId();
    const currentNode = current && nodes.get(current);
    const walkStep = backward && state.k > 0 ? trace.backward_steps[state.k - 1] : null;

    // the linked nodes: the current op's inputs (forward), those it sends a gradient to (backward)
    const linked = backward
      ? (walkStep ? walkStep.sent.filter(Boolean).map((s) => s.to) : [])
      : (currentNode ? currentNode.parents : []);
    const done = new Set();
    for (let i = 0; i < state.k - 1; i++) done.add(nodes.get(order[i]).svg);
    const currentBox = currentNode ? currentNode.svg : null;
    const linkedBoxes = new Set(linked.map((id) => nodes.get(id).svg));
    const selectedBox = state.selected && nodes.get(state.selected) ? nodes.get(state.selected).svg : null;
    for (const [name, g] of boxes) {
      g.classList.toggle("mg-done", done.has(name));
      g.classList.toggle("mg-current", name === currentBox);
      g.classList.toggle("mg-link", linkedBoxes.has(name) && name !== currentBox);
      g.classList.toggle("mg-selected", name === selectedBox);
    }
    flowing.forEach((g) => g.classList.remove("mg-flow"));
    flowing = [...linkedBoxes].flatMap((box) => edges.get(`${box}->${currentBox}`) || []);
    flowing.forEach((g) => g.classList.add("mg-flow"));
    if (currentBox !== state.shownBox) {
      state.shownBox = currentBox;
      if (!state.revealing) requestAnimationFrame(reveal); // once a frame at most: measuring the page is slow
      state.revealing = true;
    }

    document.body.classList.toggle("mg-mode-backward", backward);
    document.body.classList.toggle("mg-mode-forward", !backward);
    $("mg-mode-forward").setAttribute("aria-pressed", String(!backward));
    $("mg-mode-backward").setAttribute("aria-pressed", String(backward));
    $("mg-slider").max = String(total());
    $("mg-slider").value = String(state.k);
    $("mg-position").textContent = `step ${state.k} of ${total()}`;
    $("mg-legend-done").textContent = backward ? "visited by backward()" : "computed";
    $("mg-legend-link").textContent = backward ? "receives a gradient now" : "its inputs";
    $("mg-explain").textContent = backward
      ? "Backward pass: backward() visits each op after every op that used its result. It takes the " +
        "gradient arriving at the op and sends one to each input. A weight used at every time step " +
        "collects one contribution per step: dL/dW = Σ_t (contribution of step t)."
      : "Forward pass: the ops in the order they were recorded on the tape, each computing its value " +
        "from its inputs. Switch to the backward pass to watch the gradients flow back through time.";

    renderNow(currentNode, walkStep);
    if (backward) {
      renderParameters();
      renderChart();
    }
    renderDetails();
    writeHash();
  }

  /** Scroll the graph so that the current box is in view (only when it is not). */
  function reveal() {
    state.revealing = false;
    const g = boxes.get(state.shownBox);
    if (!g) return;
    const box = g.getBoundingClientRect();
    const view = graph.getBoundingClientRect();
    if (box.left < view.left || box.right > view.right) {
      graph.scrollLeft += box.left - view.left - (view.width - box.width) / 2;
    }
    if (box.top < view.top || box.bottom > view.bottom) {
      graph.scrollTop += box.top - view.top - (view.height - box.height) / 2;
    }
  }

  function renderNow(node, walkStep) {
    const body = $("mg-now-body");
    body.replaceChildren();
    if (!node) {
      body.append(el("p", { class: "mg-note" }, state.mode === "backward"
        ? "Nothing visited yet. Press next ▶ (or →): backward() starts at the loss."
        : "Nothing computed yet. Press next ▶ (or →) to run the first op."));
      return;
    }
    const what = node.label || node.name ? [el("b", {}, node.op), " making ", nodeLink(node.id)] : [nodeLink(node.id)];
    body.append(el("p", { class: "mg-headline" }, `${state.k}. op `, ...what,
      node.step === null ? "" : `, ${stepText(node.step)}`, node.svg ? "" : " (not drawn)"));
    if (state.mode === "forward") {
      const inputs = el("p", {}, "inputs: ");
      node.parents.forEach((id, i) => inputs.append(i ? ", " : "", nodeLink(id)));
      body.append(inputs, el("h3", {}, "value computed"), summaryView(node.value));
      return;
    }
    if (walkStep.joint) {
      body.append(el("h3", {}, "gradient arriving (one per output of this op)"));
      walkStep.joint.forEach((g, i) => {
        body.append(el("div", { class: "mg-label" }, `output ${i + 1}`), summaryView(g));
      });
    } else {
      body.append(el("h3", {}, "gradient arriving"), summaryView(walkStep.grad_in, "mg-grad-in"));
    }
    body.append(el("h3", {}, "sent to inputs"));
    const list = el("div", { class: "mg-sent" });
    node.parents.forEach((id, i) => {
      const sent = walkStep.sent[i];
      const item = el("div", { class: "mg-sent-item" }, el("div", { class: "mg-label" }, "→ ", nodeLink(id)));
      item.append(sent ? summaryView(sent.grad) : el("span", { class: "mg-note" }, "nothing sent (needs no gradient)"));
      list.append(item);
    });
    body.append(list);
  }

  /** How many of a parameter's contributions have arrived by now (those sent at or before the current op). */
  function arrived(parameter) {
    const last = state.k - 1;
    let count = 0;
    while (count < parameter.contributions.length && parameter.contributions[count].index <= last) count++;
    return count;
  }

  const paramCards = new Map(); // parameter id -> {card, count}

  function renderParameters() {
    const body = $("mg-params-body");
    if (!paramCards.size) {
      if (!parameters.length) body.append(el("p", { class: "mg-note" }, "This graph has no parameters."));
      parameters.forEach((parameter, i) => {
        const card = el("div", { class: "mg-param", "data-param": parameter.id, "data-name": parameter.name || "" });
        body.append(card);
        paramCards.set(parameter.id, { card, count: -1, name: parameter.name || `param ${i}` });
      });
    }
    for (const parameter of parameters) {
      const entry = paramCards.get(parameter.id);
      const count = arrived(parameter);
      if (count === entry.count) continue;
      entry.count = count;
      const all = parameter.contributions.length;
      const card = entry.card;
      card.replaceChildren(el("div", { class: "mg-param-name" }, nodeLink(parameter.id),
        el("span", { class: "mg-note" }, ` ${count} of ${all} contribution${all === 1 ? "" : "s"}`)));
      if (count === 0) {
        card.append(el("p", { class: "mg-note" }, "running sum: nothing has arrived yet"));
        continue;
      }
      const latest = parameter.contributions[count - 1];
      card.append(el("div", { class: "mg-label" }, count === all
        ? "running sum, complete: the gradient backward() leaves in .grad"
        : "running sum so far"), summaryView(latest.sum, "mg-sum"));
      const list = el("ol", { class: "mg-contributions", reversed: "" }); // the newest on top, numbered by arrival
      parameter.contributions.slice(0, count).reverse().forEach((c, i) => {
        const from = nodes.get(c.from);
        list.append(el("li", { class: i === 0 ? "mg-latest" : null },
          `${stepText(c.step)} · from ${from ? from.op : "?"} · ‖g‖ = ${fmt(c.grad.norm)}`));
      });
      card.append(el("div", { class: "mg-label" }, "contributions, the newest first"), list);
    }
  }

  // the bar chart: one row per layer and direction, one bar per time step, fixed scale
  const chartGroups = new Map(); // "layer direction" -> [state]
  for (const s of states) {
    const key = `${s.layer ?? 0} ${s.direction ?? "forward"}`;
    if (!chartGroups.has(key)) chartGroups.set(key, []);
    chartGroups.get(key).push(s);
  }
  const bars = []; // [{state, bar}]

  function buildChart() {
    const host = $("mg-bars");
    if (!states.length) {
      host.append(el("p", { class: "mg-note" }, "No time steps in this graph."));
      return;
    }
    for (const [key, group] of chartGroups) {
      group.sort((a, b) => a.step - b.step);
      const row = el("div", { class: "mg-bar-row", style: `height: ${Math.max(3, 7 / chartGroups.size)}rem` });
      if (chartGroups.size > 1) {
        const [layer, direction] = key.split(" ");
        host.append(el("div", { class: "mg-label" }, `layer ${layer} · ${direction}`));
      }
      for (const s of group) {
        const bar = el("div", { class: "mg-bar" });
        const slot = el("div", { class: "mg-slot", title: `${stepText(s.step)}: not reached yet` }, bar);
        if (group.length <= 40 || s === group[0] || s === group[group.length - 1]) {
          slot.append(el("span", { class: "mg-tick" }, String(s.step)));
        }
        slot.addEventListener("click", () => select(s.ids[0]));
        row.append(slot);
        bars.push({ state: s, bar, slot, reached: null });
      }
      host.append(row);
    }
  }

  const finiteNorms = states.map((s) => num(s.norm)).filter((v) => Number.isFinite(v) && v > 0);
  const high = finiteNorms.length ? Math.max(...finiteNorms) : 1;
  const low = finiteNorms.length ? Math.min(...finiteNorms) : 1;

  /** A bar's height in %, on one scale for the whole walk, so bars do not change as others appear. */
  function barHeight(norm, log) {
    if (!(norm > 0 && Number.isFinite(norm))) return 0;
    const floor = Math.log10(low) - 0.5; // the smallest bar still shows
    return 100 * Math.max(0.01, log ? (Math.log10(norm) - floor) / (Math.log10(high) - floor) : norm / high);
  }

  function renderChart(rescale) {
    const log = $("mg-log").checked;
    let latest = null;
    for (const entry of bars) {
      const s = entry.state;
      const reached = state.k > s.index;
      if (reached && (latest === null || s.index > latest.index)) latest = s;
      if (reached === entry.reached && !rescale) continue; // only the bars that change are touched
      entry.reached = reached;
      entry.bar.style.height = reached ? `${barHeight(num(s.norm), log)}%` : "0";
      entry.slot.classList.toggle("mg-reached", reached);
      entry.slot.title = reached
        ? `${stepText(s.step)}: ‖gradient reaching the state‖ = ${fmt(s.norm)}`
        : `${stepText(s.step)}: not reached yet`;
    }
    $("mg-chart-note").textContent = (latest
      ? `latest: ${stepText(latest.step)}, ‖gradient‖ = ${fmt(latest.norm)}. `
      : "No state reached yet. ") +
      `Bars appear as backward() reaches each step's state; from ${fmt(low)} to ${fmt(high)}` +
      (log ? " (log scale)." : ".");
  }

  function renderDetails() {
    const card = $("mg-details");
    const body = $("mg-details-body");
    const id = state.hovered || state.selected;
    const node = id && nodes.get(id);
    body.replaceChildren();
    card.hidden = !node;
    card.classList.toggle("mg-peek", state.hovered !== null && state.hovered !== state.selected);
    if (!node) return;
    body.setAttribute("data-node", node.id);
    const rows = [
      ["name", node.label && node.name && node.label !== node.name ? `${node.label} (${node.name})` : nameOf(node)],
      ["kind", node.kind],
      ["op", node.op || "none (a leaf)"],
      ["shape", shapeText(node.shape)],
      ["dtype", node.dtype],
      ["time step", stepText(node.step)],
    ];
    if (node.layer !== null && node.layer !== undefined) rows.push(["layer", `${node.layer} · ${node.direction}`]);
    const table = el("table", { class: "mg-facts" });
    for (const [key, value] of rows) {
      table.append(el("tr", {}, el("th", {}, key), el("td", { "data-key": key }, value)));
    }
    if (node.parents.length) {
      const cell = el("td", {});
      node.parents.forEach((p, i) => cell.append(i ? ", " : "", nodeLink(p)));
      table.append(el("tr", {}, el("th", {}, "inputs"), cell));
    }
    body.append(table, el("h3", {}, "value"), summaryView(node.value, "mg-value"),
      el("h3", {}, "gradient (after the whole backward pass)"), summaryView(node.grad, "mg-grad"));
    body.prepend(el("h2", {}, nameOf(node)));
    const shared = node.svg ? (members.get(node.svg) || []).length : 0;
    if (shared > 1) body.append(el("p", { class: "mg-note" }, `This box stands for ${shared} tensors.`));
  }

  // -- zoom -------------------------------------------------------------------------------------

  const natural = svg
    ? { width: parseFloat(svg.getAttribute("width")) * 4 / 3, height: parseFloat(svg.getAttribute("height")) * 4 / 3 }
    : null; // Graphviz sizes in pt

  function zoom(factor) {
    if (!natural) return;
    state.zoom = Math.max(0.05, Math.min(4, factor));
    svg.style.width = `${natural.width * state.zoom}px`;
    svg.style.height = `${natural.height * state.zoom}px`;
  }

  /** The whole graph in view; ``tall`` only its height (a long sequence scrolls sideways, readable). */
  function fit(tall) {
    if (!natural) return;
    const width = tall === true ? Infinity : (graph.clientWidth - 8) / natural.width;
    zoom(Math.min(1, width, (graph.clientHeight - 8) / natural.height));
  }

  // -- wiring -----------------------------------------------------------------------------------

  buildChart();
  $("mg-mode-forward").addEventListener("click", () => setMode("forward"));
  $("mg-mode-backward").addEventListener("click", () => setMode("backward"));
  $("mg-first").addEventListener("click", () => go(0));
  $("mg-back").addEventListener("click", () => go(state.k - 1));
  $("mg-play").addEventListener("click", togglePlay);
  $("mg-forward").addEventListener("click", () => go(state.k + 1));
  $("mg-last").addEventListener("click", () => go(total()));
  $("mg-slider").addEventListener("input", (event) => go(event.target.value));
  $("mg-speed").addEventListener("change", () => {
    if (state.timer !== null) {
      pause();
      play();
    }
  });
  $("mg-log").addEventListener("change", () => renderChart(true));
  $("mg-zoom-in").addEventListener("click", () => zoom(state.zoom * 1.25));
  $("mg-zoom-out").addEventListener("click", () => zoom(state.zoom / 1.25));
  $("mg-zoom-fit").addEventListener("click", () => fit(false));
  $("mg-details-close").addEventListener("click", () => select(null));

  graph.addEventListener("click", (event) => {
    const g = event.target.closest("g.node");
    const id = g ? nodeForBox(g.id) : null;
    if (id) select(id);
  });
  graph.addEventListener("mouseover", (event) => {
    const g = event.target.closest("g.node");
    const id = g ? nodeForBox(g.id) : null;
    if (id !== state.hovered) {
      state.hovered = id;
      renderDetails();
    }
  });
  graph.addEventListener("mouseleave", () => {
    state.hovered = null;
    renderDetails();
  });

  const keys = {
    ArrowRight: () => go(state.k + 1),
    ArrowLeft: () => go(state.k - 1),
    Home: () => go(0),
    End: () => go(total()),
    " ": togglePlay,
  };
  document.addEventListener("keydown", (event) => {
    const action = keys[event.key];
    if (!action || event.ctrlKey || event.metaKey || event.altKey || event.target.tagName === "SELECT") return;
    event.preventDefault(); // the page's keys, not the focused button's or slider's
    action();
  });
  document.addEventListener("keyup", (event) => {
    if (event.key === " " && event.target.tagName === "BUTTON") event.preventDefault(); // no second toggle
  });
  window.addEventListener("hashchange", () => {
    if (readHash()) {
      pause();
      render();
    }
  });

  window.minigradExplorer = {
    get mode() {
      return state.mode;
    },
    setMode,
    step: go,
    current: currentId,
    total,
    trace,
    ready: false,
  };
  readHash();
  render();
  fit(true); // after render: the backward pass's bar chart takes part of the height
  window.minigradExplorer.ready = true;
})();
