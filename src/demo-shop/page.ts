/** The demo shop's markup: a shell the script fills (grid, product page, cart, lists). */
export function shopHtml(key: string): string {
  return `<!doctype html>
<html lang="en" data-key="${key.replace(/[^A-Za-z0-9_-]/g, "")}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Edgewise demo shop</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/demo/shop.css">
</head>
<body>
<header>
  <a class="brand" href="#/">Edgewise demo shop</a>
  <nav id="categories" aria-label="Categories"></nav>
  <span class="spacer"></span>
  <a href="#/cart" id="cart-link">Cart (<span id="cart-count">0</span>)</a>
  <a href="/admin">Admin</a>
  <a href="/docs">API docs</a>
</header>
<main id="view" aria-live="polite"><p>Loading…</p></main>
<footer>A demo of <a href="/docs">Edgewise</a> on the SDK it serves at <code>/sdk/edgewise.js</code>. <button id="privacy" type="button">Privacy settings</button></footer>
<div id="consent" role="dialog" aria-label="Consent" hidden>
  <p>We use your clicks in this shop to personalise what you see. Nothing leaves this demo.</p>
  <button id="consent-accept" type="button">Accept personalisation</button>
  <button id="consent-decline" type="button">Only necessary</button>
</div>
<script src="/sdk/edgewise.js"></script>
<script src="/demo/shop.js"></script>
</body>
</html>`;
}

/** System fonts only; each top-level category gets a colour (no images needed). */
export const SHOP_CSS = `
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #f6f8fa; }
header { display: flex; gap: 14px; align-items: center; flex-wrap: wrap; padding: 10px 20px; background: #24292f; }
header a { color: #fff; text-decoration: none; } header .brand { font-weight: 700; font-size: 18px; }
header nav { display: flex; gap: 10px; flex-wrap: wrap; } header nav a { color: #c9d1d9; font-size: 14px; }
.spacer { flex: 1; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 20px 60px; }
h1 { font-size: 22px; margin: 8px 0 12px; } h2 { font-size: 18px; margin: 22px 0 8px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card { display: block; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 10px; color: inherit; text-decoration: none; }
.card:hover { border-color: #0969da; }
.swatch { height: 70px; border-radius: 6px; margin-bottom: 8px; background: #d0d7de; }
.c-shoes .swatch { background: #ffd8b5; } .c-clothing .swatch { background: #c8e1ff; } .c-electronics .swatch { background: #d1d5da; }
.c-home .swatch { background: #d4f8db; } .c-beauty .swatch { background: #ffd3eb; } .c-sports .swatch { background: #fff1a8; }
.c-toys .swatch { background: #e8d5ff; } .c-books .swatch { background: #f5e0c3; } .c-accessories .swatch { background: #c5f1f1; }
.name { font-weight: 600; } .meta { color: #57606a; font-size: 13px; } .price { font-weight: 700; }
.notice { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 12px; }
.detail { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 16px; display: flex; gap: 16px; }
.detail .swatch { width: 200px; height: 160px; }
button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid #1f883d; background: #1f883d; color: #fff; cursor: pointer; }
button.secondary, footer button { background: #fff; color: #1f2328; border-color: #d0d7de; }
table { border-collapse: collapse; width: 100%; background: #fff; } td, th { padding: 6px 8px; border-bottom: 1px solid #eaeef2; text-align: left; }
footer { text-align: center; color: #57606a; padding: 20px; }
#consent { position: fixed; left: 20px; right: 20px; bottom: 20px; max-width: 640px; margin: 0 auto; background: #fff; border: 2px solid #0969da; border-radius: 10px; padding: 14px 18px; box-shadow: 0 6px 24px rgba(0,0,0,.2); }
#consent[hidden] { display: none; }
`;
