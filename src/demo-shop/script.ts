/**
 * The demo shop's script (runs in the browser, on the SDK's global `Edgewise`): hash
 * routes `#/`, `#/c/<category>`, `#/p/<item>`, `#/cart`; lists from the SDK with their
 * impression ids on the cards, so a click is attributed by the SDK itself.
 */
export const SHOP_SCRIPT = `(() => {
"use strict";
const KEY = document.documentElement.dataset.key;
const ew = Edgewise.init({ key: KEY, batchSize: 1 });
const view = document.getElementById("view");
let items = [], byId = new Map(), categories = [];
let cart = JSON.parse(localStorage.getItem("demo_cart") || "[]");

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const money = (p) => (typeof p === "number" ? p.toFixed(2) + " €" : "");
const top = (c) => String(c || "").split("/")[0];

function card(item, reco) {
  const a = h("a", { class: "card c-" + top(item.category), href: "#/p/" + encodeURIComponent(item.item_id), "data-item": item.item_id, "data-category": item.category },
    h("div", { class: "swatch" }), h("div", { class: "name" }, item.name || item.item_id), h("div", { class: "meta" }, item.category || ""), h("div", { class: "price" }, money(item.price)));
  if (reco) { a.dataset.ewImpression = reco.impression_id; a.dataset.ewItem = reco.item_id; a.dataset.ewPosition = String(reco.position); }
  return a;
}

async function list(title, testid, request) {
  const section = h("section", { "data-testid": testid }, h("h2", {}, title), h("p", { class: "meta" }, "Loading…"));
  view.append(section);
  try {
    const res = await ew.recommendations(request);
    section.dataset.impression = res.impression_id;
    section.dataset.degraded = res.degraded || "";
    section.dataset.variant = res.variant;
    section.lastChild.remove();
    if (res.degraded === "no_consent") section.append(h("p", { class: "notice", "data-testid": "personalisation-off" }, "Personalisation is off (no consent): these are the shop's trending items."));
    section.append(h("div", { class: "grid" }, res.items.map((r) => card({ ...byId.get(r.item_id), ...r }, r))));
  } catch (err) {
    section.lastChild.textContent = "Could not load: " + err.message;
  }
}

function saveCart() {
  localStorage.setItem("demo_cart", JSON.stringify(cart));
  document.getElementById("cart-count").textContent = String(cart.reduce((n, l) => n + l.quantity, 0));
}

// A route renders in steps around awaited requests; a newer route (a consent choice, a click
// while a list loads) must win: a stale render stops at its next await, and only the newest
// route marks the page ready (tests and screenshots wait on data-ready).
let generation = 0;
const stale = (gen) => gen !== generation;

async function home(category, gen) {
  view.replaceChildren(h("h1", {}, category ? "Category: " + category : "Welcome"));
  ew.track("page_view", { path: "/", page_type: category ? "category" : "home" });
  await list("Recommended for you", "reco-personalized", { type: "personalized", k: 8 });
  if (stale(gen)) return;
  const shown = category ? items.filter((i) => i.category === category).slice(0, 24) : categories.map((c) => items.find((i) => i.category === c));
  view.append(h("h2", {}, category ? "All in " + category : "Browse"), h("div", { class: "grid", "data-testid": "grid" }, shown.map((i) => card(i))));
}

async function product(id, gen) {
  const item = byId.get(id);
  if (!item) return view.replaceChildren(h("p", {}, "No such product."));
  ew.track("product_view", { item_id: item.item_id, category: item.category, price: item.price, currency: item.currency || "EUR" });
  const add = h("button", { type: "button", "data-testid": "add-to-cart" }, "Add to cart");
  add.onclick = () => {
    const line = cart.find((l) => l.item_id === id);
    if (line) line.quantity++; else cart.push({ item_id: id, quantity: 1 });
    saveCart();
    ew.track("add_to_cart", { item_id: id, quantity: 1, price: item.price, currency: item.currency || "EUR", category: item.category });
    add.textContent = "Added ✓";
  };
  view.replaceChildren(h("div", { class: "detail c-" + top(item.category), "data-testid": "product", "data-item": id },
    h("div", { class: "swatch" }), h("div", {}, h("h1", {}, item.name), h("p", { class: "meta" }, item.category + " · " + id), h("p", { class: "price" }, money(item.price)), add)));
  await list("Similar items", "reco-similar", { type: "similar", item: id, k: 6 });
  if (stale(gen)) return;
  await list("Recommended for you", "reco-personalized", { type: "personalized", k: 8 });
}

async function cartView() {
  ew.track("page_view", { path: "/", page_type: "cart" });
  const rows = cart.map((l) => {
    const item = byId.get(l.item_id) || { name: l.item_id };
    const rm = h("button", { type: "button", class: "secondary" }, "Remove");
    rm.onclick = () => { cart = cart.filter((x) => x !== l); saveCart(); ew.track("remove_from_cart", { item_id: l.item_id }); route(); };
    return h("tr", {}, h("td", {}, item.name), h("td", {}, l.quantity), h("td", {}, money(item.price)), h("td", {}, rm));
  });
  view.replaceChildren(h("h1", {}, "Your cart"), cart.length ? h("table", {}, h("tr", {}, h("th", {}, "Item"), h("th", {}, "Qty"), h("th", {}, "Price"), h("th", {}, "")), rows) : h("p", {}, "Your cart is empty."));
  await list("Complete your cart", "reco-cart", { type: "cart", k: 6 });
}

function route() {
  const path = decodeURIComponent(location.hash.slice(1) || "/");
  window.scrollTo(0, 0);
  const gen = ++generation;
  document.body.dataset.ready = "false";
  document.body.dataset.route = path;
  const done = path.startsWith("/p/") ? product(path.slice(3), gen) : path === "/cart" ? cartView() : home(path.startsWith("/c/") ? path.slice(3) : null, gen);
  done.finally(() => { if (!stale(gen)) document.body.dataset.ready = "true"; });
}

function banner(show) { document.getElementById("consent").hidden = !show; }
function choose(granted) {
  ew.consent({ analytics: granted, personalization: granted });
  banner(false);
  route();
}
document.getElementById("consent-accept").onclick = () => choose(true);
document.getElementById("consent-decline").onclick = () => choose(false);
document.getElementById("privacy").onclick = () => banner(true);

fetch("/demo/catalog.json").then((r) => r.json()).then((catalog) => {
  items = catalog.items;
  byId = new Map(items.map((i) => [i.item_id, i]));
  categories = [...new Set(items.map((i) => i.category))].sort();
  document.getElementById("categories").replaceChildren(...[...new Set(categories.map(top))].map((t) => h("a", { href: "#/c/" + categories.find((c) => top(c) === t) }, t)));
  saveCart();
  banner(ew.consent() === null);
  addEventListener("hashchange", route);
  route();
});
})();
`;
