import { type Reply, type RolloutAction, credentials, fetchDashboard, postAction } from "./api";
import { $, control } from "./dom";
import { renderDrift } from "./drift";
import { renderExperiments } from "./experiments";
import { when } from "./format";
import { renderRetrain } from "./retrain";
import { renderRollouts } from "./rollouts";
import { renderSummary } from "./summary";
import { renderTraffic } from "./traffic";

// The dashboard's entry (bundled into script.generated.ts by scripts/build-dashboard.mjs):
// sign in and out, load and draw, post the rollout buttons' actions.

function showError(message: string): void {
  const b = $("error");
  b.textContent = message;
  b.hidden = !message;
}

function refused(r: Extract<Reply<unknown>, { ok: false }>): void {
  if (r.signedOut) logout();
  showError(r.problem);
}

function load(): void {
  showError("");
  $("status").textContent = "Loading…";
  fetchDashboard(control("hours").value)
    .then((r) => {
      if (!r.ok) {
        refused(r);
        $("status").textContent = "";
        return;
      }
      const d = r.body;
      $("tenant").textContent = `Shop: ${d.tenant}`;
      renderSummary(d);
      renderDrift(d);
      renderExperiments(d);
      renderRollouts(d, act);
      renderRetrain(d);
      renderTraffic(d);
      if (d.config_problem) showError(`The shop's experiment configuration is invalid: ${d.config_problem}`);
      $("status").textContent = `Updated ${when(d.generated_at)}`;
      $("app").setAttribute("data-loaded", "true");
    })
    .catch((err: unknown) => {
      showError(`Could not reach the service: ${err}`);
      $("status").textContent = "";
    });
}

function act(path: RolloutAction, body: { reason?: string }): void {
  postAction(path, body)
    .then((r) => (r.ok ? load() : refused(r)))
    .catch((err: unknown) => showError(`Could not reach the service: ${err}`));
}

function logout(): void {
  credentials.clear();
  $("app").hidden = true;
  $("app").removeAttribute("data-loaded");
  $("login").hidden = false;
  $("logout").hidden = true;
}

function start(): void {
  if (credentials.present()) {
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    load();
  } else logout();
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  credentials.save(control("key").value.trim(), control("token").value.trim());
  control("token").value = "";
  start();
});
$("logout").addEventListener("click", () => {
  logout();
  showError("");
});
$("refresh").addEventListener("click", load);
$("hours").addEventListener("change", load);
start();
