// The project dashboard: draws the activity and agreement charts with uPlot (bundled
// from npm) and refreshes the figures from the stats API when the project's websocket
// says they changed (at most every few seconds), and every 30 seconds in any case. Served as a
// file (no inline script: the Content-Security-Policy allows Arbor's own static files
// only); the first figures come from the page in a json_script element, the URL and the
// translated series names from data- attributes.
import uPlot from "uplot";

interface Series {
  start: string;
  step_seconds: number;
  messages: number[];
  labels: number[];
  rankings: number[];
}

interface AgreementPoint {
  taken_at: string;
  labels: Record<string, number | null>;
  ranking_alpha: number | null;
  kendalls_w: number | null;
}

interface Stats {
  generated_at: string;
  activity: { hourly: Series; daily: Series };
  active_volunteers: { last_24_hours: number; last_7_days: number };
  moderation_backlog?: { open: number };
  agreement_over_time: AgreementPoint[];
  acceptance: Record<string, { rate: number | null }>;
}

const REFRESH_MS = 30_000;
const COLOURS = ["#2f6f4e", "#b8621b", "#3b5ba5", "#8a3b8f"];
const charts = new Map<string, uPlot>();

function times(series: Series): number[] {
  const start = Date.parse(series.start) / 1000;
  return series.messages.map((_, index) => start + index * series.step_seconds);
}

function width(holder: HTMLElement): number {
  return Math.max(240, Math.floor(holder.clientWidth));
}

function draw(name: string, holder: HTMLElement, names: string[], data: uPlot.AlignedData): void {
  const existing = charts.get(name);
  if (existing) {
    existing.setData(data);
    return;
  }
  const options: uPlot.Options = {
    width: width(holder),
    height: 220,
    series: [
      {},
      ...names.map((label, index) => ({
        label,
        stroke: COLOURS[index % COLOURS.length],
        width: 2,
        spanGaps: true,
      })),
    ],
    axes: [{}, { size: 40 }],
  };
  charts.set(name, new uPlot(options, data, holder));
}

function seriesNames(holder: HTMLElement): string[] {
  return (holder.dataset.series || "").split("|");
}

function render(stats: Stats): void {
  for (const window of ["hourly", "daily"] as const) {
    const holder = document.querySelector<HTMLElement>(`[data-chart="${window}"]`);
    if (!holder) continue;
    const series = stats.activity[window];
    draw(window, holder, seriesNames(holder), [
      times(series),
      series.messages,
      series.labels,
      series.rankings,
    ]);
  }
  const agreement = document.querySelector<HTMLElement>('[data-chart="agreement"]');
  if (agreement && stats.agreement_over_time.length > 0) {
    const points = stats.agreement_over_time;
    const labels = Array.from(new Set(points.flatMap((point) => Object.keys(point.labels)))).sort();
    const data: (number | null)[][] = [
      ...labels.map((label) => points.map((point) => point.labels[label] ?? null)),
      points.map((point) => point.ranking_alpha),
    ];
    draw("agreement", agreement, [...labels, seriesNames(agreement)[0]], [
      points.map((point) => Date.parse(point.taken_at) / 1000),
      ...data,
    ] as uPlot.AlignedData);
  }
  const figures: Record<string, number | undefined> = {
    "active-24h": stats.active_volunteers.last_24_hours,
    "active-7d": stats.active_volunteers.last_7_days,
    "moderation-open": stats.moderation_backlog?.open,
  };
  for (const [name, value] of Object.entries(figures)) {
    const element = document.querySelector(`[data-figure="${name}"]`);
    if (element && value !== undefined) element.textContent = String(value);
  }
  const updated = document.querySelector<HTMLTimeElement>("[data-updated]");
  if (updated) {
    updated.dateTime = stats.generated_at;
    updated.textContent = new Date(stats.generated_at).toLocaleTimeString();
  }
}

async function refresh(url: string): Promise<void> {
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (response.ok) render((await response.json()) as Stats);
  } catch {
    // Offline for a moment: the next refresh tries again.
  }
}

function listen(root: HTMLElement, url: string): void {
  const path = root.dataset.wsPath;
  if (!path || !("WebSocket" in window)) return;
  let delay = 1000;
  let pending: number | undefined;
  const open = (): void => {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + path);
    socket.addEventListener("open", () => {
      delay = 1000;
      root.dataset.live = "socket";
    });
    socket.addEventListener("message", (message) => {
      let type = "";
      try {
        type = (JSON.parse(String(message.data)) as { type?: string }).type ?? "";
      } catch {
        return; // a malformed event is ignored
      }
      if (type !== "stats.changed" || pending !== undefined) return;
      pending = window.setTimeout(() => {
        pending = undefined;
        void refresh(url);
      }, 300);
    });
    socket.addEventListener("close", () => {
      root.dataset.live = "polling";
      window.setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  };
  open();
}

function start(): void {
  const source = document.getElementById("dashboard-data");
  const root = document.querySelector<HTMLElement>("[data-dashboard]");
  if (!source || !root) return;
  render(JSON.parse(source.textContent || "{}") as Stats);
  const url = root.dataset.statsUrl;
  if (url) {
    window.setInterval(() => void refresh(url), REFRESH_MS);
    listen(root, url);
  }
  window.addEventListener("resize", () => {
    for (const [name, chart] of charts) {
      const holder = document.querySelector<HTMLElement>(`[data-chart="${name}"]`);
      if (holder) chart.setSize({ width: width(holder), height: 220 });
    }
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
