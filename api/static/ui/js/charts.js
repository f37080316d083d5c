// Charts on TradingView's Lightweight Charts (vendored, Apache-2.0): time series with time on the
// horizontal axis, and the depth chart on its price-scaled variant. Each helper returns
// {chart, update(...), dispose()} so a view can redraw with new data and clean up when it leaves.

import {
  AreaSeries,
  CandlestickSeries,
  HistogramSeries,
  LineSeries,
  LineType,
  createChart,
  createOptionsChart,
} from "../vendor/lightweight-charts/lightweight-charts.js";

const COLORS = { up: "#26a69a", down: "#ef5350", month: "#5b9cf6", week: "#c792ea", day: "#f0b35a", last: "#e0e3eb" };

function base(container, extra = {}) {
  const styles = getComputedStyle(document.documentElement);
  return {
    autoSize: true,
    layout: {
      background: { color: "transparent" },
      textColor: styles.getPropertyValue("--muted").trim() || "#9aa4b2",
      fontFamily: styles.getPropertyValue("--font").trim() || "system-ui, sans-serif",
    },
    grid: { vertLines: { color: "rgba(128,128,128,0.12)" }, horzLines: { color: "rgba(128,128,128,0.12)" } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, timeVisible: true, secondsVisible: false },
    ...extra,
  };
}

const seconds = (iso) => Math.floor(Date.parse(iso) / 1000);
const priceFormat = (decimals) => ({ type: "price", precision: decimals, minMove: 10 ** -decimals });

/**
 * The forward curve: one line per window kind (month, week, day) of marks at each window's start,
 * and the last trade of each forward as points. `points` are {kind, start, mark, last}.
 */
export function forwardCurve(container) {
  const chart = createChart(container, base());
  const marks = {};
  for (const kind of ["month", "week", "day"]) {
    marks[kind] = chart.addSeries(LineSeries, {
      color: COLORS[kind],
      lineWidth: 2,
      lineType: LineType.WithSteps,
      pointMarkersVisible: true,
      title: `${kind} mark`,
      priceFormat: priceFormat(3),
    });
  }
  const last = chart.addSeries(LineSeries, {
    color: COLORS.last,
    lineVisible: false,
    pointMarkersVisible: true,
    pointMarkersRadius: 4,
    lastValueVisible: false,
    priceLineVisible: false,
    title: "last trade",
    priceFormat: priceFormat(3),
  });
  return {
    chart,
    update(points) {
      for (const [kind, series] of Object.entries(marks)) {
        series.setData(
          points.filter((p) => p.kind === kind && p.mark !== null).map((p) => ({ time: seconds(p.start), value: p.mark })),
        );
      }
      const byTime = new Map();
      for (const p of points) if (p.last !== null) byTime.set(seconds(p.start), p.last);
      last.setData([...byTime].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value })));
      chart.timeScale().fitContent();
    },
    dispose: () => chart.remove(),
  };
}

/** Candles ({start, open, high, low, close, volume?}) with the volume as a histogram underneath. */
export function candleChart(container, { decimals = 3 } = {}) {
  const chart = createChart(container, base());
  const candles = chart.addSeries(CandlestickSeries, {
    upColor: COLORS.up,
    downColor: COLORS.down,
    borderVisible: false,
    wickUpColor: COLORS.up,
    wickDownColor: COLORS.down,
    priceFormat: priceFormat(decimals),
  });
  const volume = chart.addSeries(HistogramSeries, { priceScaleId: "volume", priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false });
  chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  return {
    chart,
    update(rows) {
      candles.setData(
        rows.map((r) => ({ time: seconds(r.start), open: +r.open, high: +r.high, low: +r.low, close: +r.close })),
      );
      volume.setData(
        rows
          .filter((r) => r.volume !== undefined)
          .map((r) => ({ time: seconds(r.start), value: r.volume, color: +r.close >= +r.open ? "rgba(38,166,154,0.4)" : "rgba(239,83,80,0.4)" })),
      );
      chart.timeScale().fitContent();
    },
    dispose: () => chart.remove(),
  };
}

/** Cumulative depth: bids (best first, stepping down) and asks (stepping up) against price. */
export function depthChart(container, { decimals = 3 } = {}) {
  const chart = createOptionsChart(container, base({ timeScale: { borderVisible: false }, localization: { precision: decimals } }));
  const area = (color) =>
    chart.addSeries(AreaSeries, {
      lineColor: color,
      topColor: `${color}66`,
      bottomColor: `${color}0a`,
      lineType: LineType.WithSteps,
      lineWidth: 2,
      priceLineVisible: false,
      lastValueVisible: false,
      priceFormat: { type: "volume" },
    });
  const bids = area(COLORS.up);
  const asks = area(COLORS.down);
  const cumulative = (levels) => {
    let total = 0;
    return levels.map(([p, q]) => ({ time: +p, value: (total += q) }));
  };
  return {
    chart,
    update(bidLevels, askLevels) {
      bids.setData(cumulative(bidLevels).reverse());
      asks.setData(cumulative(askLevels));
      chart.timeScale().fitContent();
    },
    dispose: () => chart.remove(),
  };
}

/** OHLC candles of `interval` seconds from fixings [{at, price}] (an index has prices, not trades). */
export function candlesOf(fixings, interval) {
  const out = [];
  for (const { at, price } of fixings) {
    const t = Math.floor(Date.parse(at) / 1000 / interval) * interval;
    const value = +price;
    const current = out[out.length - 1];
    if (current && current.t === t) {
      current.high = Math.max(current.high, value);
      current.low = Math.min(current.low, value);
      current.close = value;
    } else {
      out.push({ t, open: value, high: value, low: value, close: value });
    }
  }
  return out.map((c) => ({ start: new Date(c.t * 1000).toISOString(), open: c.open, high: c.high, low: c.low, close: c.close }));
}
