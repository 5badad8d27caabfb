// A customer at home in Firefox ESR (Debian's firefox-esr), driven over WebDriver BiDi by
// puppeteer-core: opens the personal link, consents, passes the device check with Firefox's fake
// camera and microphone and reaches the waiting room (prints {"waiting": true}); once the advisor
// admits: the advisor's live video, then, after the advisor ends the call, the survey. Prints one
// JSON line per stage, the last with "ok"; exit code 0 on success.
// Usage: node home_check.mjs <join url>
import puppeteer from "puppeteer-core";

const [url] = process.argv.slice(2);
const STEP_MS = 60_000;
const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
  headless: true,
  defaultViewport: { width: 1280, height: 800 }, // a desktop at home (phones: tests/hub/test_home_phone.py)
  extraPrefsFirefox: {
    "media.navigator.streams.fake": true, // a synthetic camera and a tone for the microphone
    "media.navigator.permission.disabled": true, // the customer said yes to camera and microphone
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
  },
});
const result = { ok: false, steps: [] };
try {
  const page = await browser.newPage();
  const step = async (name, action) => { await action(); result.steps.push(name); };
  const button = (text) => page.waitForSelector(`::-p-xpath(//button[normalize-space()="${text}"])`, { visible: true, timeout: STEP_MS });
  await step("open", () => page.goto(url));
  await step("start", async () => (await button("Videoberatung starten")).click());
  await step("consent", async () => (await button("Ich stimme zu")).click());
  await step("check", () => page.waitForFunction(() => !document.getElementById("continue").disabled, { timeout: STEP_MS, polling: 200 }));
  result.checks = await page.$eval("#check-list", (list) => list.innerText);
  await step("continue", () => page.click("#continue"));
  await step("waiting", () => page.waitForFunction(
    () => !document.querySelector('[data-screen="waiting"]').hidden, { timeout: STEP_MS, polling: 200 }));
  console.log(JSON.stringify({ waiting: true }));
  await step("live video", () => page.waitForFunction(
    () => document.getElementById("remote-view").videoWidth > 0, { timeout: STEP_MS * 2, polling: 200 }));
  console.log(JSON.stringify({ live: true }));
  await step("survey", () => page.waitForFunction(
    () => !document.querySelector('[data-screen="survey"]').hidden, { timeout: STEP_MS * 2, polling: 200 }));
  await step("answer", () => page.click('#survey-form button[type="submit"]'));
  await step("goodbye", () => page.waitForFunction(
    () => !document.querySelector('[data-screen="goodbye"]').hidden, { timeout: STEP_MS, polling: 200 }));
  result.ok = true;
} catch (error) {
  result.error = String(error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
