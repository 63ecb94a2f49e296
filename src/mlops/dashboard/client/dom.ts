import type { Status } from "../../drift/status";

// Every node is built with DOM APIs and filled with textContent, never innerHTML:
// nothing the API returns can become markup.

const SVGNS = "http://www.w3.org/2000/svg";

/** The pill's word for each status (colour is never the only signal). */
const WORDS: Record<Status, string> = { fine: "Fine", watch: "Watch", act: "Act now", no_data: "Not enough data" };

/** Attributes; `text` sets textContent and `class` the class name. */
export type Attrs = Record<string, string>;
export type Child = Node | string | null | undefined | false;

/** The page element with this id (the markup in page.ts has every one). */
export function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from the page`);
  return e;
}

/** A form control's element by id. */
export function control(id: string): HTMLInputElement | HTMLSelectElement {
  const e = $(id);
  if (e instanceof HTMLInputElement || e instanceof HTMLSelectElement) return e;
  throw new Error(`#${id} is not a form control`);
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, children: Child[] = []): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return e;
}

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, children: Array<Node | null> = []): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = String(v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c) e.appendChild(c);
  return e;
}

/** A status pill in words, optionally with a test id. */
export function pill(status: Status, testid?: string): HTMLSpanElement {
  const p = el("span", { class: `pill ${status}`, text: WORDS[status] || status });
  if (testid) p.setAttribute("data-testid", testid);
  return p;
}
