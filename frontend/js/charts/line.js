// A small SVG line chart of levels (1..4 on the vote scale) over time, built from DOM nodes: no library, no CDN.
// lineChartModel is pure (scales and positions, tested under node); lineChart draws it. Labels are text nodes.
import { VOTES } from "../labels.js";

const SVG = "http://www.w3.org/2000/svg";
export const PALETTE_SIZE = 8; // series colours: .series--0 .. .series--7 in css/app.css

/**
 * Positions for a chart of `series` ([{id, label, points: [{at, level, session_id}]}]) in a width x height box.
 * x is time (sessions at the same instant are spread evenly), y is the level (4 at the top).
 * Returns {width, height, plot: {x0, x1, y0, y1}, yTicks: [{level, y, label}], xTicks: [{x, at}], lines: [...]}.
 */
export function lineChartModel(series, { width = 640, height = 240, pad = { left: 108, right: 16, top: 14, bottom: 30 } } = {}) {
  const plot = { x0: pad.left, x1: width - pad.right, y0: pad.top, y1: height - pad.bottom };
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.at)))].sort((a, b) => a - b);
  const span = times.length > 1 ? times[times.length - 1] - times[0] : 0;
  const xOf = (at) => {
    if (times.length <= 1) return (plot.x0 + plot.x1) / 2;
    // half time, half order: close sessions stay apart, long gaps still look long
    const byTime = span ? (at - times[0]) / span : 0;
    const byOrder = times.indexOf(at) / (times.length - 1);
    return plot.x0 + (plot.x1 - plot.x0) * (byTime + byOrder) / 2;
  };
  const yOf = (lv) => plot.y1 - ((lv - 1) / 3) * (plot.y1 - plot.y0);
  const yTicks = [1, 2, 3, 4].map((lv) => ({ level: lv, y: yOf(lv), label: VOTES[lv].text }));
  const sameDay = span < 86_400;
  const xTicks = times.map((at) => ({ x: xOf(at), at, label: sameDay ? shortTime(at) : shortDate(at) }));
  // series that sit on the same levels would hide each other: each is nudged a little (at most 3 px) off the next
  const nudge = series.length > 1 ? Math.min(3, 8 / series.length) : 0;
  const lines = series.map((s, i) => ({
    id: s.id,
    label: s.label,
    colour: i % PALETTE_SIZE,
    points: s.points.map((p) => ({
      ...p,
      x: xOf(p.at),
      y: yOf(Math.min(4, Math.max(1, p.level))) + (i - (series.length - 1) / 2) * nudge,
    })),
  }));
  return { width, height, plot, yTicks, xTicks, lines };
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return node;
}

function shortTime(at) {
  try {
    return new Date(at * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  } catch {
    return new Date(at * 1000).toISOString().slice(11, 16);
  }
}

function shortDate(at) {
  try {
    return new Date(at * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  } catch {
    return new Date(at * 1000).toISOString().slice(5, 10);
  }
}

/** The chart as an <svg> element; `title` names it for screen readers. */
export function lineChart(model, { title, testid } = {}) {
  const { width, height, plot } = model;
  const root = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": title || "Chart",
    "data-testid": testid || "chart",
    preserveAspectRatio: "xMidYMid meet",
  });
  root.appendChild(svg("title", {}, title || "Chart"));
  for (const t of model.yTicks) {
    root.appendChild(svg("line", { class: "chart__grid", x1: plot.x0, x2: plot.x1, y1: t.y, y2: t.y }));
    root.appendChild(svg("text", { class: "chart__ylabel", x: plot.x0 - 8, y: t.y + 4, "text-anchor": "end" }, t.label));
  }
  const step = Math.max(1, Math.ceil(model.xTicks.length / 6));
  model.xTicks.forEach((t, i) => {
    if (i % step && i !== model.xTicks.length - 1) return;
    root.appendChild(svg("text", { class: "chart__xlabel", x: t.x, y: plot.y1 + 20, "text-anchor": "middle" }, t.label));
  });
  for (const line of model.lines) {
    const g = svg("g", { class: `series series--${line.colour}`, "data-series": line.id });
    if (line.points.length > 1) {
      g.appendChild(svg("polyline", { class: "series__line", points: line.points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ") }));
    }
    for (const p of line.points) {
      const dot = svg("circle", { class: "series__dot", cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 4.5, "data-session": p.session_id });
      dot.appendChild(svg("title", {}, `${line.label}: ${p.level.toFixed(1)} on ${shortDate(p.at)} (${p.answers} answer${p.answers === 1 ? "" : "s"})`));
      g.appendChild(dot);
    }
    root.appendChild(g);
  }
  return root;
}
