/** Hand-rolled SVG charts: bars with an optional line on a second axis. */

export interface Series {
  label: string;
  values: number[];
  color: string;
}

interface ChartProps {
  title: string;
  labels: string[];
  /** Stacked bars (left axis). */
  bars: Series[];
  /** A line (right axis). */
  line?: Series;
  height?: number;
}

const W = 640;

function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  return Math.ceil(n / p) * p;
}

function short(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n * 10) / 10);
}

export function BarLineChart({ title, labels, bars, line, height = 180 }: ChartProps) {
  const pad = { l: 44, r: line ? 52 : 12, t: 10, b: 26 };
  const n = labels.length;
  const innerW = W - pad.l - pad.r;
  const innerH = height - pad.t - pad.b;
  const barMax = niceMax(Math.max(0, ...labels.map((_, i) => bars.reduce((s, b) => s + (b.values[i] ?? 0), 0))));
  const lineMax = line ? niceMax(Math.max(0, ...line.values)) : 1;
  const step = n > 0 ? innerW / n : innerW;
  const bw = Math.max(1, step * 0.7);
  const y = (v: number, max: number) => pad.t + innerH - (v / max) * innerH;
  const every = Math.max(1, Math.ceil(n / 8));
  const summary = `${title}: ${bars.map((b) => `${b.label} ${b.values.reduce((a, c) => a + c, 0)}`).join(', ')}${line ? `, ${line.label} ${short(line.values.reduce((a, c) => a + c, 0))}` : ''}`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${height}`} role="img" aria-label={summary}>
        <line x1={pad.l} x2={W - pad.r} y1={pad.t + innerH} y2={pad.t + innerH} class="axis" />
        {[0, 0.5, 1].map((f) => (
          <text x={pad.l - 4} y={y(barMax * f, barMax) + 4} text-anchor="end" class="tick">
            {short(barMax * f)}
          </text>
        ))}
        {line &&
          [0, 0.5, 1].map((f) => (
            <text x={W - pad.r + 4} y={y(lineMax * f, lineMax) + 4} class="tick">
              {short(lineMax * f)}
            </text>
          ))}
        {labels.map((label, i) => {
          let base = 0;
          return (
            <g>
              {bars.map((b) => {
                const v = b.values[i] ?? 0;
                const top = y(base + v, barMax);
                const h = y(base, barMax) - top;
                base += v;
                return v > 0 ? (
                  <rect x={pad.l + i * step + (step - bw) / 2} y={top} width={bw} height={h} fill={b.color}>
                    <title>{`${label}: ${b.label} ${v}`}</title>
                  </rect>
                ) : null;
              })}
              {i % every === 0 && (
                <text x={pad.l + i * step + step / 2} y={height - 8} text-anchor="middle" class="tick">
                  {label}
                </text>
              )}
            </g>
          );
        })}
        {line && n > 0 && (
          <polyline
            fill="none"
            stroke={line.color}
            stroke-width="2"
            points={line.values.map((v, i) => `${pad.l + i * step + step / 2},${y(v, lineMax)}`).join(' ')}
          />
        )}
      </svg>
      <figcaption>
        {bars.map((b) => (
          <span class="legend">
            <i style={{ background: b.color }} />
            {b.label}
          </span>
        ))}
        {line && (
          <span class="legend">
            <i style={{ background: line.color, height: '3px' }} />
            {line.label} (right axis)
          </span>
        )}
      </figcaption>
    </figure>
  );
}
