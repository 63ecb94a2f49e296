/**
 * Model registry CLI (Node): publishes model versions, tenant catalogs and
 * experiment configs to the MODELS R2 bucket: locally (default, the bucket
 * `npm run dev` uses, through Miniflare) or to a real account (--remote, through
 * `wrangler r2 object put`).
 *
 *   npm run models:publish -- models/demo/1 [--remote]
 *   npm run models:activate -- --tenant demo --model demo/1 [--remote]
 *   npm run models:activate -- --tenant demo --experiment reco-1 --salt s1 \
 *       --variant control=demo/1:50 --variant treatment=demo/2:50:max_per_category=2
 *   npm run catalog:publish -- --tenant demo --file models/demo/catalog.json [--remote]
 *   npm run models:seed-demo        (what `npm run dev` runs: demo model, catalog, config)
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { catalogKey, parseCatalog } from "../../src/catalog/catalog";
import { parseTenantConfig, tenantConfigKey } from "../../src/experiments/config";
import { checkManifestAgainstFeatures, parseManifest } from "../../src/models/manifest";
import { type LocalBucket, withLocalBucket } from "../local/local-r2";

const BUCKET = "edgewise-models";
const DEMO_DIR = "models/demo";
const DEMO_TENANT = "demo";

const CONTENT_TYPES: Record<string, string> = { ".json": "application/json", ".onnx": "application/octet-stream" };

/** Where uploads go: the local bucket of `npm run dev` (through Miniflare), or the account's (through wrangler). */
export type Target = { kind: "local"; bucket: LocalBucket } | { kind: "remote" };

async function put(target: Target, key: string, file: string): Promise<void> {
  const ext = file.slice(file.lastIndexOf("."));
  const contentType = CONTENT_TYPES[ext] ?? "application/octet-stream";
  if (target.kind === "local") {
    await target.bucket.put(key, new Uint8Array(readFileSync(file)), { httpMetadata: { contentType } });
  } else {
    const wrangler = existsSync("node_modules/.bin/wrangler") ? "node_modules/.bin/wrangler" : "wrangler";
    execFileSync(wrangler, ["r2", "object", "put", `${BUCKET}/${key}`, "--file", file, "--remote", "--content-type", contentType], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
  }
  console.log(`  put ${BUCKET}/${key} (${target.kind})`);
}

async function putJson(target: Target, key: string, value: unknown): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "edgewise-"));
  const file = join(dir, "object.json");
  writeFileSync(file, JSON.stringify(value, null, 2));
  await put(target, key, file);
}

/** Runs `fn` against the local bucket or the remote one. */
function withTarget(remote: boolean, fn: (target: Target) => Promise<void>): Promise<void> {
  return remote ? fn({ kind: "remote" }) : withLocalBucket(BUCKET, (bucket) => fn({ kind: "local", bucket }));
}

/** Verifies a model version folder (manifest, feature contract, every checksum) and uploads it. */
export async function publishModel(target: Target, dir: string): Promise<string> {
  const manifest = parseManifest(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")));
  checkManifestAgainstFeatures(manifest);
  for (const [file, { sha256, bytes }] of Object.entries(manifest.files)) {
    const data = readFileSync(join(dir, file));
    const actual = createHash("sha256").update(data).digest("hex");
    if (actual !== sha256 || data.byteLength !== bytes) throw new Error(`${file}: checksum or size differs from manifest.json`);
  }
  const id = `${manifest.name}/${manifest.version}`;
  console.log(`publishing model ${id}`);
  // Data files first, the manifest last: a reader never sees a manifest whose files are missing.
  for (const file of Object.keys(manifest.files)) await put(target, `models/${id}/${file}`, join(dir, file));
  await put(target, `models/${id}/manifest.json`, join(dir, "manifest.json"));
  return id;
}

/** Writes a tenant's experiment config (default model and optional weighted variants). */
export async function activate(target: Target, args: { tenant: string; model?: string; experiment?: string; salt?: string; variants: string[] }): Promise<void> {
  const variants = args.variants.map((spec) => {
    const m = /^([A-Za-z0-9_-]+)=([^:]+):(\d+(?:\.\d+)?)(?::(.*))?$/.exec(spec);
    if (!m) throw new Error(`--variant ${spec}: expected name=model/version:weight[:param=value,…]`);
    const params = Object.fromEntries(
      (m[4] ?? "")
        .split(",")
        .filter(Boolean)
        .map((kv) => {
          const [k, v] = kv.split("=");
          return [k!, v === "true" ? true : v === "false" ? false : Number(v)];
        }),
    );
    return { name: m[1]!, model: m[2] === "none" ? null : m[2]!, weight: Number(m[3]), params };
  });
  const config = {
    default_model: args.model ?? variants[0]?.model ?? null,
    ...(variants.length > 0 ? { experiment: { name: args.experiment ?? "experiment", salt: args.salt ?? args.experiment ?? "salt", variants } } : {}),
  };
  parseTenantConfig(config); // the worker's own validation
  console.log(`activating for tenant ${args.tenant}: ${JSON.stringify(config)}`);
  await putJson(target, tenantConfigKey(args.tenant), config);
}

/** Uploads a tenant's catalog (`{ "items": [ … ] }`). */
export async function publishCatalog(target: Target, tenant: string, file: string): Promise<void> {
  parseCatalog(JSON.parse(readFileSync(file, "utf8")));
  console.log(`publishing catalog for tenant ${tenant}`);
  await put(target, catalogKey(tenant), file);
}

/** Seeds the local bucket with the demo model, catalog and config, once per demo version. */
async function seedDemo(): Promise<void> {
  const versions = readdirSync(DEMO_DIR)
    .filter((d) => existsSync(join(DEMO_DIR, d, "manifest.json")))
    .sort();
  const latest = versions.at(-1);
  if (!latest) throw new Error(`no model version under ${DEMO_DIR}`);
  const stamp = createHash("sha256")
    .update(readFileSync(join(DEMO_DIR, latest, "manifest.json")))
    .digest("hex")
    .slice(0, 16);
  const marker = join(".wrangler", "state", `demo-seeded-${stamp}`);
  if (existsSync(marker)) return;
  await withTarget(false, async (target) => {
    const id = await publishModel(target, join(DEMO_DIR, latest));
    await publishCatalog(target, DEMO_TENANT, join(DEMO_DIR, "catalog.json"));
    await activate(target, { tenant: DEMO_TENANT, model: id, variants: [] });
  });
  mkdirSync(join(".wrangler", "state"), { recursive: true });
  writeFileSync(marker, new Date().toISOString());
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      remote: { type: "boolean", default: false },
      tenant: { type: "string" },
      model: { type: "string" },
      experiment: { type: "string" },
      salt: { type: "string" },
      variant: { type: "string", multiple: true, default: [] },
      file: { type: "string" },
    },
  });
  switch (command) {
    case "publish":
      if (!positionals[0]) throw new Error("usage: models:publish -- <model version folder> [--remote]");
      await withTarget(values.remote, (t) => publishModel(t, positionals[0]!).then(() => undefined));
      break;
    case "activate":
      if (!values.tenant) throw new Error("usage: models:activate -- --tenant <id> (--model name/version | --variant …) [--remote]");
      await withTarget(values.remote, (t) => activate(t, { tenant: values.tenant!, model: values.model, experiment: values.experiment, salt: values.salt, variants: values.variant }));
      break;
    case "catalog":
      if (!values.tenant || !values.file) throw new Error("usage: catalog:publish -- --tenant <id> --file catalog.json [--remote]");
      await withTarget(values.remote, (t) => publishCatalog(t, values.tenant!, values.file!));
      break;
    case "seed-demo":
      await seedDemo();
      break;
    default:
      throw new Error(`unknown command ${command ?? ""}: publish | activate | catalog | seed-demo`);
  }
}

// A CLI when run, a library when imported (tools/yoochoose-e2e.ts publishes through it).
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
