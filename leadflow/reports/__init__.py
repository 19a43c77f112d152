"""Reports: the measurements of DOMAIN.md, defined once and used by pages, API and CSV.

One module per report family (`funnel`, `sources`, `handoffs`, `pipeline`); each metric is a
function with its formula in its docstring. `periods` cuts calendar months and quarters in the
company's time zone; `measures` holds the arithmetic every family shares (rates, cost per,
percentiles, business time); `output` turns results into JSON and CSV.
"""
