import IncidentRendering

/// The console's style sheet, served from the binary, with the charts' classes. Colours keep 4.5:1 contrast; the focus
/// ring is visible on every link and control; print drops the navigation and forms.
enum ConsoleAssets {
    static let css = page + TrendChart.css + MunicipalityMap.css

    static let page = """
        :root { --ink: #1b1b1b; --muted: #555; --line: #c8c8c8; --accent: #1f4e79; --bad: #a4262c; font-family: system-ui, sans-serif; color: var(--ink); }
        body { margin: 0; line-height: 1.45; }
        .bar { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #eef2f6; border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; color: var(--accent); text-decoration: none; }
        nav a { margin-right: .8rem; color: var(--accent); }
        .signout { margin-left: auto; display: flex; gap: .6rem; align-items: center; }
        main { padding: 1rem; max-width: 1200px; }
        h1 { font-size: 1.5rem; margin: .4rem 0 1rem; }
        a:focus, button:focus, input:focus, select:focus, textarea:focus, svg a:focus path { outline: 3px solid #e69f00; outline-offset: 2px; }
        .filters { display: flex; flex-wrap: wrap; gap: .4rem .6rem; align-items: center; margin-bottom: 1rem; }
        .filters label { font-weight: 600; }
        .error { color: var(--bad); font-weight: 600; }
        .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: .8rem; margin: 0 0 1rem; }
        .figures div { border: 1px solid var(--line); padding: .4rem .8rem; }
        .figures dt { color: var(--muted); font-size: .85rem; }
        .figures dd { margin: 0; font-size: 1.4rem; font-weight: 700; }
        .change { display: block; font-size: .85rem; font-weight: 400; color: var(--muted); }
        table.data { border-collapse: collapse; margin: 1rem 0; width: 100%; }
        table.data caption { text-align: left; font-weight: 600; padding: .3rem 0; }
        table.data th, table.data td { border-bottom: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
        table.data td { font-variant-numeric: tabular-nums; }
        .record { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        .record div { display: contents; }
        .record dt { font-weight: 600; }
        .record dd { margin: 0; }
        .forms form { margin: .6rem 0; display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-start; }
        textarea { min-width: 24rem; min-height: 3rem; }
        .timeline { padding-left: 1.2rem; }
        .login { display: grid; gap: .5rem; max-width: 24rem; }
        .hint, .period { color: var(--muted); }
        .notice { white-space: pre-wrap; }
        .marking { padding: .6rem 1rem; border-top: 1px solid var(--line); color: var(--muted); font-size: .85rem; }
        svg { max-width: 100%; height: auto; }
        .panels { display: grid; grid-template-columns: minmax(0, 640px) minmax(0, 1fr); gap: 1.5rem; align-items: start; }
        .columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 2rem; align-items: start; }
        @media (max-width: 900px) { .panels, .columns { grid-template-columns: 1fr; } }
        h2 { font-size: 1.15rem; margin: 1rem 0 .5rem; }
        table.data td:first-child { white-space: nowrap; }
        .amend fieldset { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .3rem .6rem; border: 1px solid var(--line); }
        .amend button { grid-column: 2; justify-self: start; }
        .downloads a { margin-right: .6rem; }
        @media print {
          .bar nav, .signout, .filters, .forms, .downloads { display: none; } main { max-width: none; padding: 0; }
          .panels { grid-template-columns: 1fr 1fr; } table.data th, table.data td { padding: 0 .4rem; font-size: .8rem; }
        }
        """
}
