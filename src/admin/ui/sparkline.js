// @module admin/ui/sparkline
// Small line charts of a series over time (the overview's last 15 minutes), drawn as SVG
// with DOM calls: a fixed-size box whose line and area are redrawn in place on each update,
// so a live page never moves. Colours come from CSS classes (the page's variables), never
// from inline styles, which the dashboard's CSP forbids.

const svgNs = "http://www.w3.org/2000/svg";
/** The drawing's own units; CSS sizes the box, the drawing stretches to it. */
const width = 180;
const height = 40;

function svg(tag, attributes = {}) {
  const element = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/**
 * A sparkline labelled `label` (read by screen readers, with the latest value): `element`
 * goes in the page, `update(values)` redraws it from a series, oldest first, where `null`
 * is a gap (no requests in that bucket).
 * @param {string} label
 * @param {{ kind?: "accent" | "bad" | "warn" }} [options]
 */
export function sparkline(label, options = {}) {
  const element = svg("svg", {
    class: `sparkline sparkline-${options.kind ?? "accent"}`,
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": label,
  });
  const title = svg("title");
  const area = svg("path", { class: "sparkline-area", d: "" });
  const line = svg("path", { class: "sparkline-line", d: "" });
  element.append(title, area, line);
  let drawn = "";
  return {
    element,
    /** @param {(number | null)[]} values */
    update(values) {
      const { lineD, areaD } = paths(values);
      if (lineD === drawn) return;
      drawn = lineD;
      line.setAttribute("d", lineD);
      area.setAttribute("d", areaD);
      const last = values.findLast((value) => value !== null);
      title.textContent = `${label}: ${last === undefined ? "no data" : `latest ${round(last)}`}`;
    },
  };
}

const round = (value) => Math.round(value * 100) / 100;

/**
 * The SVG path data of `values` scaled into the box: the line (one segment per run of
 * values, broken at gaps) and the area under it. The scale's top is the series' largest
 * value, so a quiet series still shows its shape; all zeros lie flat on the bottom.
 */
export function paths(values) {
  const count = values.length;
  if (count === 0) return { lineD: "", areaD: "" };
  const top = Math.max(0, ...values.map((value) => value ?? 0));
  const step = count > 1 ? width / (count - 1) : 0;
  const y = (value) => (top === 0 ? height - 1 : height - 1 - (value / top) * (height - 2));
  let lineD = "";
  let areaD = "";
  let runStart = -1;
  let previous = -1;
  const closeRun = () => {
    if (runStart < 0) return;
    // A lone point would draw nothing: a short dash shows it.
    if (runStart === previous) lineD += previous === count - 1 ? "h-3" : "h3";
    areaD += `L${(previous * step).toFixed(1)} ${height}L${(runStart * step).toFixed(1)} ${height}Z`;
    runStart = -1;
  };
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      closeRun();
      continue;
    }
    const point = `${(i * step).toFixed(1)} ${y(value).toFixed(1)}`;
    if (runStart < 0) {
      runStart = i;
      lineD += `M${point}`;
      areaD += `M${point}`;
    } else {
      lineD += `L${point}`;
      areaD += `L${point}`;
    }
    previous = i;
  }
  closeRun();
  return { lineD, areaD };
}
