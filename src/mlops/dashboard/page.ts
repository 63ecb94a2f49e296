import { DASHBOARD_SCRIPT } from "./script.generated";

/** The dashboard's stylesheet: system fonts only, colour-blind-safe status colours with words on every pill. */
export const DASHBOARD_STYLE = `
:root { color-scheme: light; --fine: #1a7f37; --watch: #9a6700; --act: #cf222e; --none: #6e7781; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #f6f8fa; }
header { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; padding: 12px 20px; background: #24292f; color: #fff; }
header h1 { font-size: 18px; margin: 0 12px 0 0; }
header .spacer { flex: 1; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 20px 40px; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 14px 18px; margin: 16px 0; }
section > h2 { margin: 0 0 4px; font-size: 18px; }
section > p.lead { margin: 0 0 10px; color: #57606a; }
#summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid #d0d7de; border-left: 6px solid var(--none); border-radius: 8px; padding: 10px 14px; }
.card.fine { border-left-color: var(--fine); } .card.watch { border-left-color: var(--watch); } .card.act { border-left-color: var(--act); }
.card h3 { margin: 0 0 6px; font-size: 14px; color: #57606a; font-weight: 600; }
.card p { margin: 6px 0 0; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 700; color: #fff; background: var(--none); vertical-align: middle; }
.pill.fine { background: var(--fine); } .pill.watch { background: var(--watch); } .pill.act { background: var(--act); }
article { border-top: 1px solid #eaeef2; padding-top: 10px; margin-top: 10px; }
article h3 { margin: 4px 0; font-size: 16px; }
.feature { margin: 10px 0 16px; }
.feature h4 { margin: 0 0 2px; font-size: 15px; }
.feature p { margin: 2px 0; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 12px; }
figure { margin: 6px 0; }
figcaption { font-size: 12px; color: #57606a; }
.key { margin-left: 10px; } .key i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
svg.chart { width: 100%; max-width: 760px; height: auto; background: #fff; }
svg .tick { font-size: 10px; fill: #57606a; } svg .label, svg .value { font-size: 12px; fill: #1f2328; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 8px 0; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
th { font-size: 12px; color: #57606a; font-weight: 600; }
.scroll { overflow-x: auto; }
.banner { padding: 8px 12px; border-radius: 6px; margin: 8px 0; font-weight: 600; }
.banner.act { background: #ffebe9; color: #82071e; border: 1px solid var(--act); }
.ok { color: var(--fine); }
.note { color: var(--watch); }
.muted { color: #57606a; }
.steps { display: flex; gap: 4px; margin: 8px 0; }
.steps span { padding: 2px 10px; border-radius: 4px; background: #eaeef2; font-size: 13px; }
.steps span.done { background: #dafbe1; } .steps span.now { background: var(--watch); color: #fff; font-weight: 700; }
.history { padding-left: 20px; font-size: 14px; }
button, select, input { font: inherit; }
button { padding: 5px 12px; border-radius: 6px; border: 1px solid #d0d7de; background: #f6f8fa; cursor: pointer; }
button.danger { color: #fff; background: var(--act); border-color: var(--act); }
header button { background: #32383f; color: #fff; border-color: #57606a; }
#login { max-width: 460px; margin: 40px auto; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 18px 22px; }
#login label { display: block; margin: 10px 0 4px; font-weight: 600; }
#login input { width: 100%; padding: 6px 8px; border: 1px solid #d0d7de; border-radius: 6px; }
#login p { color: #57606a; font-size: 14px; }
#error { max-width: 1180px; margin: 12px auto 0; }
`;

/**
 * `GET /admin`: one self-contained page (no CDN, no external fonts). It asks for
 * the shop's publishable key and an admin token, keeps them in sessionStorage
 * (gone when the tab closes) and draws everything from `/admin/api/dashboard`.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>Edgewise — model health</title>
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<header>
  <h1>Edgewise · model health</h1>
  <span id="tenant"></span>
  <span class="spacer"></span>
  <label for="hours">Window</label>
  <select id="hours">
    <option value="24" selected>last 24 hours</option>
    <option value="168">last 7 days</option>
    <option value="336">last 14 days</option>
  </select>
  <button type="button" id="refresh">Refresh</button>
  <button type="button" id="logout" hidden>Sign out</button>
  <span id="status" aria-live="polite"></span>
</header>
<div id="error" class="banner act" role="alert" hidden></div>
<form id="login" hidden>
  <h2>Sign in</h2>
  <p>Use your shop's publishable key and a token with the <b>admin</b> scope, signed by your backend. They stay in this browser tab only.</p>
  <label for="key">Publishable key</label>
  <input id="key" name="key" autocomplete="off" required>
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="off" required>
  <p><button type="submit" id="signin">Sign in</button></p>
</form>
<main id="app" hidden>
  <section id="summary" aria-label="Summary"></section>
  <section id="drift">
    <h2>Are the models still seeing what they were trained on?</h2>
    <p class="lead">Each model is compared with its training data. <b>Fine</b>: no action. <b>Watch</b>: shoppers are starting to behave differently. <b>Act now</b>: retrain the model or check the shop's tracking.</p>
    <div id="drift-body"></div>
  </section>
  <section id="experiments">
    <h2>Experiments: which version sells better?</h2>
    <p class="lead">Counts are exact (each event once). The range after each rate is where the true value lies with 95% confidence; "better" or "worse" is only said when the difference is clear.</p>
    <div id="experiments-body"></div>
  </section>
  <section id="rollouts">
    <h2>New model rollouts</h2>
    <p class="lead">A new model first gets a small share of shoppers, then more. It is taken back automatically if it fails, gets slow, or gets fewer clicks.</p>
    <div id="rollouts-body"></div>
  </section>
  <section id="retrain">
    <h2>Retraining</h2>
    <p class="lead">A model whose drift says <b>Act now</b> asks for a retrain once a day. A new version replaces the current one only if it is clearly better on the most recent days, and then starts as a rollout above.</p>
    <div id="retrain-body"></div>
  </section>
  <section id="traffic">
    <h2>Traffic and speed</h2>
    <div id="traffic-body"></div>
  </section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
