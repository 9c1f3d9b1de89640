/**
 * A small D3 line chart over time: several series sharing one y axis, a legend, gaps where a
 * value is missing (`null`), the latest values in the accessible label (screen readers get the
 * numbers, not the picture). Redraws in place; the width follows the container.
 */
import { axisBottom, axisLeft, extent, line, max, scaleLinear, scaleTime, select, timeFormat } from 'd3';
import './charts.css';

export interface Series {
  name: string;
  /** A CSS colour (custom properties allowed). */
  color: string;
  /** `[time ms, value]`, time ascending. */
  points: Array<[number, number | null]>;
}

export interface ChartOptions {
  title: string;
  /** Unit shown after values (`/s`, `ms`). */
  unit?: string;
  format?: (v: number) => string;
  height?: number;
}

const MARGIN = { top: 8, right: 12, bottom: 24, left: 48 };
const clock = timeFormat('%H:%M:%S');

export function drawLineChart(host: HTMLElement, series: Series[], o: ChartOptions): void {
  const width = Math.max(240, host.clientWidth || 480);
  const height = o.height ?? 180;
  const fmt = o.format ?? ((v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(v % 1 === 0 ? 0 : 2)));
  const all = series.flatMap((s) => s.points);
  const times = extent(all, (p) => p[0]) as [number | undefined, number | undefined];
  const now = Date.now();
  const x = scaleTime()
    .domain([new Date(times[0] ?? now - 60_000), new Date(times[1] ?? now)])
    .range([MARGIN.left, width - MARGIN.right]);
  const top = max(all, (p) => p[1] ?? 0) ?? 0;
  const y = scaleLinear().domain([0, top > 0 ? top * 1.1 : 1]).nice().range([height - MARGIN.bottom, MARGIN.top]);

  const latest = series.map((s) => {
    const last = [...s.points].reverse().find((p) => p[1] !== null);
    return `${s.name} ${last ? `${fmt(last[1]!)}${o.unit ? ` ${o.unit}` : ''}` : 'no data'}`;
  }).join(', ');

  const root = select(host);
  let svg = root.select<SVGSVGElement>('svg');
  if (svg.empty()) {
    svg = root.append('svg').attr('role', 'img');
    svg.append('g').attr('class', 'x-axis');
    svg.append('g').attr('class', 'y-axis');
    svg.append('g').attr('class', 'lines');
  }
  svg.attr('width', width).attr('height', height).attr('viewBox', `0 0 ${width} ${height}`)
    .attr('aria-label', `${o.title}: ${all.length === 0 ? 'no data yet' : `latest ${latest}`}`);
  svg.select<SVGGElement>('.x-axis').attr('transform', `translate(0,${height - MARGIN.bottom})`)
    .call(axisBottom<Date>(x).ticks(Math.max(2, Math.floor(width / 110))).tickFormat((d) => clock(d)));
  svg.select<SVGGElement>('.y-axis').attr('transform', `translate(${MARGIN.left},0)`)
    .call(axisLeft(y).ticks(4).tickFormat((d) => fmt(Number(d))));

  const path = line<[number, number | null]>()
    .defined((p) => p[1] !== null)
    .x((p) => x(new Date(p[0])))
    .y((p) => y(p[1] ?? 0));
  svg.select('.lines').selectAll<SVGPathElement, Series>('path')
    .data(series, (s) => s.name)
    .join('path')
    .attr('class', 'series')
    .attr('data-series', (s) => s.name)
    .attr('fill', 'none')
    .attr('stroke', (s) => s.color)
    .attr('stroke-width', 2)
    .attr('d', (s) => path(s.points) ?? '');

  // A value between two gaps draws no line: mark every such point with a dot.
  const lonely = series.flatMap((s) => s.points
    .filter((p, i) => p[1] !== null && (s.points[i - 1]?.[1] ?? null) === null && (s.points[i + 1]?.[1] ?? null) === null)
    .map((p) => ({ color: s.color, name: s.name, p })));
  svg.select('.lines').selectAll<SVGCircleElement, { color: string; name: string; p: [number, number | null] }>('circle')
    .data(lonely)
    .join('circle')
    .attr('r', 3)
    .attr('fill', (d) => d.color)
    .attr('cx', (d) => x(new Date(d.p[0])))
    .attr('cy', (d) => y(d.p[1] ?? 0));

  let legend = root.select<HTMLUListElement>('ul.legend');
  if (legend.empty()) legend = root.append('ul').attr('class', 'legend');
  legend.selectAll<HTMLLIElement, Series>('li')
    .data(series, (s) => s.name)
    .join('li')
    .html('')
    .call((li) => {
      li.append('span').attr('class', 'swatch').style('background', (s) => s.color);
      li.append('span').text((s) => {
        const last = [...s.points].reverse().find((p) => p[1] !== null);
        return `${s.name}${last ? `: ${fmt(last[1]!)}${o.unit ? ` ${o.unit}` : ''}` : ''}`;
      });
    });
}
