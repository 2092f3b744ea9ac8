/**
 * Bar charts drawn as SVG on the server (no client script, no CDN): each chart carries a title
 * and a description for screen readers, and the same numbers as a table that can be expanded,
 * so nothing is shown by the picture alone.
 * @module
 */

/** One bar. */
export interface ChartPoint {
  /** Axis label (shown for some bars). */
  label: string;
  /** Full label for the table and the tooltip. */
  title: string;
  value: number;
}

/** Props of {@link BarChart}. */
export interface BarChartProps {
  id: string;
  title: string;
  points: ChartPoint[];
  /** Show every n-th axis label (the others stay in the table). */
  labelEvery?: number;
  unit?: string;
}

const W = 640;
const H = 180;
const PAD = { left: 44, right: 8, top: 10, bottom: 26 };

/** The axis maximum: a round number at or above the largest value. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** A bar chart with its data table. */
export function BarChart(p: BarChartProps) {
  const max = niceMax(Math.max(0, ...p.points.map((x) => x.value)));
  const n = Math.max(1, p.points.length);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / n;
  const bar = Math.max(1, slot * 0.7);
  const every = p.labelEvery ?? Math.ceil(n / 8);
  const total = p.points.reduce((a, x) => a + x.value, 0);
  const peak = p.points.reduce(
    (a, x) => (x.value > a.value ? x : a),
    p.points[0] ?? {
      label: "",
      title: "",
      value: 0,
    },
  );
  const unit = p.unit ?? "";
  const desc = `${total} ${unit} in all; the most, ${peak.value}, in ${peak.title || "—"}.`;
  const ticks = [0, max / 2, max];
  return (
    <figure class="chart" aria-labelledby={`${p.id}-title`}>
      <figcaption id={`${p.id}-title`}>{p.title}</figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-labelledby={`${p.id}-svgtitle ${p.id}-desc`}
        preserveAspectRatio="none"
      >
        <title id={`${p.id}-svgtitle`}>{p.title}</title>
        <desc id={`${p.id}-desc`}>{desc}</desc>
        {ticks.map((t) => {
          const y = PAD.top + plotH - (t / max) * plotH;
          return (
            <g key={t} class="tick">
              <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} />
              <text x={PAD.left - 6} y={y + 4} text-anchor="end">{formatTick(t)}</text>
            </g>
          );
        })}
        {p.points.map((x, i) => {
          const h = (x.value / max) * plotH;
          const cx = PAD.left + i * slot + (slot - bar) / 2;
          return (
            <g key={i}>
              <rect class="bar" x={cx} y={PAD.top + plotH - h} width={bar} height={h}>
                <title>{`${x.title}: ${x.value}`}</title>
              </rect>
              {i % every === 0 && (
                <text class="axis" x={cx + bar / 2} y={H - 8} text-anchor="middle">
                  {x.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <details>
        <summary>The numbers</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">{unit || "Value"}</th>
              </tr>
            </thead>
            <tbody>
              {p.points.map((x, i) => (
                <tr key={i}>
                  <th scope="row">{x.title}</th>
                  <td>{x.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

function formatTick(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
