/**
 * A synthetic shop catalog for the demo model and local development: readable
 * product names and categories, per-category price levels, a Zipf popularity
 * curve and a latent "style" per item that the session generator uses to make
 * item-to-item transitions learnable. Deterministic for a seed; pure code.
 */
import { deriveSeed, Random, zipfWeight } from "./random";

/** One product of the synthetic catalog. */
export interface CatalogItem {
  /** `sku-00001` style. */
  item_id: string;
  name: string;
  /** Readable path such as `shoes/running`. */
  category: string;
  /** Two decimals, log-normal around the category's price level. */
  price: number;
  currency: "EUR";
  /** 0 = out of stock (about 3% of items). */
  stock: number;
  /** Not shown in the shop (about 1% of items): never viewed in synthetic sessions. */
  hidden: boolean;
  /** Zipf weight: how often shoppers pick this item when browsing its category. */
  popularity: number;
  /** Latent style, a point on the unit torus: items close in style are "related". */
  style: [number, number];
}

/** The generated catalog. */
export interface Catalog {
  categories: string[];
  items: CatalogItem[];
}

/** Options of {@link generateCatalog}. */
export interface CatalogOptions {
  /** Number of items (default 3000). */
  items?: number;
  /** Number of categories (default 24; beyond the built-in list, names get a numeric suffix). */
  categories?: number;
}

interface CategoryWords {
  name: string;
  /** Median price in EUR. */
  level: number;
  adjectives: readonly string[];
  nouns: readonly string[];
}

// Compact on purpose: one line per category keeps the word lists reviewable.
const w = (name: string, level: number, adjectives: string, nouns: string): CategoryWords => ({
  name,
  level,
  adjectives: adjectives.split(","),
  nouns: nouns.split(","),
});
const CATEGORY_WORDS: readonly CategoryWords[] = [
  w("shoes/running", 110, "Trail,Road,Tempo,Cushioned,Lightweight,Carbon", "Running Shoe,Racer,Trainer,Runner"),
  w("shoes/casual", 80, "Canvas,Leather,Suede,Classic,Retro,Slip-On", "Sneaker,Loafer,Low Top,High Top"),
  w("shoes/boots", 140, "Hiking,Chelsea,Winter,Waterproof,Work,Desert", "Boot,Ankle Boot,Mid Boot"),
  w("clothing/jackets", 150, "Rain,Down,Softshell,Fleece,Insulated,Denim", "Jacket,Parka,Anorak,Windbreaker"),
  w("clothing/shirts", 35, "Linen,Oxford,Flannel,Merino,Cotton,Striped", "Shirt,Polo,Tee,Henley"),
  w("clothing/trousers", 60, "Chino,Cargo,Slim,Relaxed,Stretch,Corduroy", "Trousers,Pants,Joggers,Shorts"),
  w("clothing/knitwear", 70, "Cable,Wool,Cashmere,Chunky,Ribbed,Alpaca", "Sweater,Cardigan,Jumper,Hoodie"),
  w("accessories/bags", 65, "Travel,Leather,Canvas,Rolltop,Everyday,Compact", "Backpack,Tote,Duffel,Messenger Bag"),
  w("accessories/watches", 180, "Field,Dive,Chrono,Minimal,Solar,Smart", "Watch,Chronograph,Timepiece"),
  w("accessories/sunglasses", 90, "Polarised,Aviator,Round,Sport,Wayfarer,Clubmaster", "Sunglasses,Shades,Glasses"),
  w("home/kitchen", 45, "Cast Iron,Stainless,Nonstick,Ceramic,Copper,Enamel", "Pan,Pot,Knife,Kettle,Skillet"),
  w("home/coffee", 70, "Pour-Over,Espresso,Burr,Manual,Cold Brew,Barista", "Grinder,Coffee Maker,Dripper,Milk Frother"),
  w("home/bedding", 55, "Organic,Percale,Sateen,Linen,Weighted,Cooling", "Duvet Cover,Pillow,Sheet Set,Blanket"),
  w("home/lighting", 60, "Dimmable,Industrial,Nordic,Brass,Arc,Rattan", "Floor Lamp,Desk Lamp,Pendant,Wall Light"),
  w("electronics/audio", 120, "Wireless,Noise-Cancelling,Studio,Portable,Bass,Open-Back", "Headphones,Earbuds,Speaker,Soundbar"),
  w("electronics/phones", 25, "Rugged,Slim,MagSafe,Clear,Leather,Wallet", "Phone Case,Charger,Screen Protector,Power Bank"),
  w("electronics/computing", 85, "Mechanical,Ergonomic,Wireless,Compact,Backlit,USB-C", "Keyboard,Mouse,Hub,Monitor Stand,Webcam"),
  w("sports/cycling", 75, "Aero,Gravel,Commuter,Thermal,Reflective,Carbon", "Helmet,Jersey,Bike Light,Saddle,Gloves"),
  w("sports/yoga", 40, "Eco,Grip,Travel,Cork,Thick,Balance", "Yoga Mat,Block,Strap,Bolster"),
  w("sports/camping", 95, "Ultralight,Four-Season,Compact,Insulated,Trekking,Family", "Tent,Sleeping Bag,Stove,Camp Chair,Headlamp"),
  w("beauty/skincare", 28, "Hydrating,Vitamin C,Gentle,Night,Mineral,Retinol", "Serum,Moisturiser,Cleanser,Sunscreen"),
  w("beauty/fragrance", 75, "Citrus,Woody,Amber,Fresh,Floral,Vetiver", "Eau de Parfum,Eau de Toilette,Body Mist"),
  w("toys/building", 50, "Starter,Creative,Technic,Castle,Space,City", "Building Set,Brick Box,Construction Kit"),
  w("books/cooking", 24, "Everyday,Vegetarian,Baking,Italian,Quick,Seasonal", "Cookbook,Recipe Book,Kitchen Guide"),
];
const SUFFIXES = ["", "", "", " Pro", " Lite", " 2", " Max", " Plus", " Classic", " Evo", " Sport"];
const COLOURS = ["Black", "Navy", "Olive", "Sand", "Grey", "Red", "White", "Forest", "Rust", "Teal"];

/** Share of items sold out (stock 0) and hidden from the shop. */
const OUT_OF_STOCK_RATE = 0.03;
const HIDDEN_RATE = 0.01;
/** Zipf exponent of item popularity over the whole catalog. */
const POPULARITY_EXPONENT = 1.0;

/** Generates a catalog of `opts.items` products over `opts.categories` categories, deterministic for `seed`. */
export function generateCatalog(seed: number, opts: CatalogOptions = {}): Catalog {
  const itemCount = opts.items ?? 3000;
  const categoryCount = opts.categories ?? 24;
  if (!(itemCount >= 1 && categoryCount >= 1)) throw new RangeError("items and categories must be at least 1");
  const rng = new Random(deriveSeed(seed, "catalog"));

  const words = Array.from({ length: categoryCount }, (_, c) => {
    const base = CATEGORY_WORDS[c % CATEGORY_WORDS.length]!;
    const round = Math.floor(c / CATEGORY_WORDS.length);
    return round === 0 ? base : { ...base, name: `${base.name}-${round + 1}` };
  });
  // Uneven category sizes, as in real shops; every category gets at least one item.
  const sizeWeights = words.map(() => 0.4 + rng.float() * 1.2);
  const levels = words.map((c) => rng.logNormal(c.level, 0.15));
  // Popularity ranks are a random permutation: best sellers are spread over categories.
  const ranks = rng.shuffle(Array.from({ length: itemCount }, (_, i) => i));

  const usedNames = new Set<string>();
  const items: CatalogItem[] = [];
  for (let i = 0; i < itemCount; i++) {
    const c =
      i < categoryCount
        ? i
        : rng.pickWeighted(
            words.map((_, k) => k),
            sizeWeights,
          );
    const cat = words[c]!;
    items.push({
      item_id: `sku-${String(i + 1).padStart(5, "0")}`,
      name: uniqueName(rng, cat, usedNames),
      category: cat.name,
      price: shelfPrice(rng.logNormal(levels[c]!, 0.45)),
      currency: "EUR",
      stock: rng.chance(OUT_OF_STOCK_RATE) ? 0 : rng.int(1, 250),
      hidden: rng.chance(HIDDEN_RATE),
      popularity: zipfWeight(ranks[i]!, POPULARITY_EXPONENT),
      style: [rng.float(), rng.float()],
    });
  }
  return { categories: words.map((c) => c.name), items };
}

function uniqueName(rng: Random, cat: CategoryWords, used: Set<string>): string {
  let name = `${rng.pick(cat.adjectives)} ${rng.pick(cat.nouns)}${rng.pick(SUFFIXES)}`;
  // Colour variants first, then model numbers: names stay readable and unique.
  for (let attempt = 0; used.has(name); attempt++) {
    const base = name.replace(/ – .*$/, "");
    name = attempt < 3 ? `${base} – ${rng.pick(COLOURS)}` : `${base} – Model ${used.size + attempt}`;
  }
  used.add(name);
  return name;
}

/** Rounds to a shelf price: x.99 above 10 EUR, two decimals below. */
function shelfPrice(raw: number): number {
  if (raw < 10) return Math.max(0.99, Math.round(raw * 100) / 100);
  return Math.floor(raw) + 0.99;
}
