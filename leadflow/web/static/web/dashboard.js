// The dashboards' charts, drawn with the vendored Chart.js from the JSON each panel embeds
// (the same figures as the table beside it). Every chart names both axes; values read as the
// tables write them (dashboards.fmt on the server).
(() => {
  const number = (v, digits) =>
    v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const formats = {
    count: (v) => number(Math.round(v), 0),
    percent: (v) => `${number(v * 100, 1)}%`,
    money: (v) => `${v < 0 ? "−" : ""}$${number(Math.abs(v), 2)}`,
    hours: (v) => `${number(v, 1)} h`,
    days: (v) => `${number(v, 1)} d`,
  };
  // Axis ticks: whole percentages and dollars are enough to read a scale.
  const ticks = {
    ...formats,
    percent: (v) => `${number(v * 100, 0)}%`,
    money: (v) => `$${number(v, 0)}`,
  };
  const format = (kind, v) => (v === null || v === undefined ? "—" : (formats[kind] || String)(v));

  // Colours that stay apart for colour-blind readers: blue, orange, grey, purple, green, pink.
  const colours = {
    current: "#0d6efd",
    previous: "#fd7e14",
    last_year: "#6c757d",
    line: "#dc3545",
    inquiry: "#0d6efd",
    mql: "#6f42c1",
    sql: "#198754",
    won: "#d63384",
  };
  const colour = (role) => colours[role.replace(/-last-year$/, "")] || "#0d6efd";

  const dataset = (spec, d, chartType) => {
    const type = d.type || chartType;
    const c = colour(d.role);
    const earlier = d.role.endsWith("-last-year");
    return {
      label: d.label,
      data: d.data,
      type,
      // Chart.js names the value axis by the direction it runs in.
      ...(spec.horizontal ? { xAxisID: "value" } : { yAxisID: d.axis === "y2" ? "y2" : "value" }),
      backgroundColor: type === "line" ? c : `${c}cc`,
      borderColor: c,
      borderWidth: type === "line" ? 2 : 1,
      borderDash: earlier ? [6, 4] : [],
      pointRadius: type === "line" ? 3 : 0,
      spanGaps: false,
      order: type === "line" ? 0 : 1,
    };
  };

  const draw = (canvas) => {
    const spec = JSON.parse(document.getElementById(canvas.dataset.spec).textContent);
    const across = spec.horizontal ? "y" : "x";
    const scales = {
      [across]: { title: { display: true, text: spec.category.title }, grid: { display: false } },
      value: {
        axis: spec.horizontal ? "x" : "y",
        position: spec.horizontal ? "bottom" : "left",
        beginAtZero: true,
        title: { display: true, text: spec.value.title },
        ticks: {
          callback: (v) => (ticks[spec.value.format] || String)(v),
          precision: spec.value.format === "count" ? 0 : undefined, // no half leads
        },
      },
    };
    if (spec.value2) {
      scales.y2 = {
        axis: "y",
        position: "right",
        min: 0,
        max: 1,
        title: { display: true, text: spec.value2.title },
        grid: { drawOnChartArea: false },
        ticks: { callback: (v) => (ticks[spec.value2.format] || String)(v) },
      };
    }
    const kindOf = (d) => (d.yAxisID === "y2" ? spec.value2.format : spec.value.format);
    return new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets.map((d) => dataset(spec, d, spec.type)) },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: (ctx) => `${ctx.dataset.label}: ${format(kindOf(ctx.dataset), ctx.raw)}`,
            },
          },
        },
      },
    });
  };

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof Chart === "undefined") return; // the tables still say everything
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#495057";
    for (const canvas of document.querySelectorAll("canvas[data-spec]")) draw(canvas);
  });
})();
