/** Prints a single-line progress bar on stderr: label, bar, percent, extra text, elapsed and ETA. */
export function progressBar(label: string, done: number, total: number, started: number, extra = ""): void {
  const share = total ? done / total : 1;
  const width = 30;
  const bar = "#".repeat(Math.round(share * width)).padEnd(width, ".");
  const elapsed = (performance.now() - started) / 1000;
  const eta = share > 0 ? (elapsed * (1 - share)) / share : NaN;
  process.stderr.write(`\r${label} [${bar}] ${(100 * share).toFixed(1)}% ${extra} elapsed ${elapsed.toFixed(0)} s ETA ${Number.isFinite(eta) ? eta.toFixed(0) : "?"} s   `);
  if (done >= total) process.stderr.write("\n");
}
