import { defineFeature } from "../definition";

/** One cart line. */
export interface CartLine {
  item_id: string;
  quantity: number;
  price?: number;
}

/** Cart contents and value. */
export interface CartValue {
  items: CartLine[];
  quantity: number;
  /** Sum of quantity × price over lines with a known price, rounded to cents. */
  value: number;
  currency: string | null;
  /** Lines whose price is unknown (no price on their add_to_cart). */
  unpriced_lines: number;
}

const MAX_LINES = 100;

/** Current cart: add_to_cart adds, remove_from_cart removes, purchase removes the items bought. */
export const cart = defineFeature({
  name: "cart",
  version: 1,
  entity: "visitor",
  description: "Cart contents (lines in the order first added) and value.",
  sources: ["add_to_cart", "remove_from_cart", "purchase"],
  aggregation: "state",
  window: "lifetime",
  ttl: "7d",
  init: (): { lines: CartLine[]; currency: string | null } => ({ lines: [], currency: null }),
  reduce(state, event) {
    switch (event.type) {
      case "add_to_cart": {
        const { item_id, quantity, price, currency } = event.properties;
        const existing = state.lines.find((l) => l.item_id === item_id);
        const lines = existing
          ? state.lines.map((l) => (l === existing ? withPrice({ item_id, quantity: l.quantity + quantity }, price ?? l.price) : l))
          : [...state.lines, withPrice({ item_id, quantity }, price)].slice(-MAX_LINES);
        return { lines, currency: currency ?? state.currency };
      }
      case "remove_from_cart": {
        const { item_id, quantity } = event.properties;
        const lines = state.lines.map((l) => (l.item_id === item_id ? { ...l, quantity: quantity === undefined ? 0 : l.quantity - quantity } : l)).filter((l) => l.quantity > 0);
        return { ...state, lines };
      }
      case "purchase": {
        const bought = new Set(event.properties.items.map((i) => i.item_id));
        return { ...state, lines: state.lines.filter((l) => !bought.has(l.item_id)) };
      }
      default:
        return state;
    }
  },
  value(state): CartValue {
    let value = 0;
    let quantity = 0;
    let unpriced = 0;
    for (const l of state.lines) {
      quantity += l.quantity;
      if (l.price === undefined) unpriced++;
      else value += l.quantity * l.price;
    }
    return { items: state.lines, quantity, value: Math.round(value * 100) / 100, currency: state.currency, unpriced_lines: unpriced };
  },
});

function withPrice(line: CartLine, price: number | undefined): CartLine {
  return price === undefined ? line : { ...line, price };
}
