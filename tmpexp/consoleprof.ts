// profile the Chromium renderer during console policy searches and page changes
import { writeFileSync } from "node:fs";
import { launchChromium } from "../test/console/browser.ts";
const base = process.argv[2];
const PSK = process.argv[3];
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
await page.goto(`${base}/console/`);
await page.getByLabel("Key").fill(PSK);
await page.getByRole("button", { name: "Sign in", exact: true }).click();
await page.getByRole("heading", { name: "Overview" }).waitFor({ timeout: 60_000 });
await page.goto(`${base}/console/policies/trino`);
await page.getByText(/^[0-9,]+ policies$/).first().waitFor({ timeout: 60_000 });
const cdp = await page.context().newCDPSession(page);
await cdp.send("Profiler.enable");
await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
await cdp.send("Profiler.start");
const box = page.getByLabel("Search policies");
const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const term = `bench-${i * 37}`;
  const t0 = performance.now();
  await box.fill(term);
  await page.getByText(`matching “${term}”`).first().waitFor({ timeout: 60_000 });
  times.push(Math.round(performance.now() - t0));
}
const { profile } = await cdp.send("Profiler.stop");
writeFileSync("/tmp/console-search.cpuprofile", JSON.stringify(profile));
console.log("search ms", times.join(" "));
// timing breakdown via performance entries of the last search's fetch
const entries = await page.evaluate(() => performance.getEntriesByType("resource").slice(-3).map((e) => ({ name: e.name.slice(-80), dur: Math.round(e.duration) })));
console.log(entries);
await browser.close();
