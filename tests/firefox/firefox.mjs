// What every Firefox ESR journey shares: Debian's firefox-esr launched by puppeteer-core over
// WebDriver BiDi with Firefox's own fake camera and microphone, a script of named steps that
// reports each as one JSON line on stdout (the Python test reads them and acts in between), and
// the page-side measurements of live video (frames counted and pictures sampled, never the mere
// presence of a <video>).
import puppeteer from "puppeteer-core";

export const STEP_MS = 60_000;
// Firefox's start, until it tells puppeteer its BiDi address: the tests' LAUNCH_TIMEOUT_MS
// (tests/conftest.py; puppeteer's own 30 s ran out in stop 28's CI while the qemu VMs held both cores).
const LAUNCH_MS = Number(process.env.FIREFOX_LAUNCH_MS) || 30_000;

// FIREFOX_DISPLAY (an X display, the test's own Xvfb): Firefox runs on it with a window instead of
// headless, for screen sharing: headless Firefox has no screen, and getDisplayMedia answers
// NotFoundError; with the permission prompt off it shares the whole (virtual) screen.
export async function launchFirefox({ width = 1280, height = 800 } = {}) {
  const display = process.env.FIREFOX_DISPLAY;
  return puppeteer.launch({
    browser: "firefox",
    timeout: LAUNCH_MS,
    executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
    headless: !display,
    env: display ? { ...process.env, DISPLAY: display } : process.env,
    defaultViewport: { width, height },
    extraPrefsFirefox: {
      "media.navigator.streams.fake": true, // a synthetic camera and a tone for the microphone
      "media.navigator.permission.disabled": true, // the person said yes to camera and microphone
      "media.autoplay.default": 0,
      "media.autoplay.blocking_policy": 0,
    },
  });
}

export const say = (message) => console.log(JSON.stringify(message));

// Runs ``script(page, step)`` in a fresh Firefox; prints the final {"ok": ..., "steps": [...]}
// line and exits 0 only if every step passed.
export async function journey(script, viewport) {
  const browser = await launchFirefox(viewport);
  const result = { ok: false, steps: [] };
  try {
    const page = await browser.newPage();
    const step = async (name, action) => { const value = await action(); result.steps.push(name); return value; };
    await script(page, step, result);
    result.ok = true;
  } catch (error) {
    result.error = String(error);
  } finally {
    await browser.close();
  }
  say(result);
  process.exit(result.ok ? 0 : 1);
}

export const button = (page, text, root = "") =>
  page.waitForSelector(`::-p-xpath(${root}//button[normalize-space()="${text}"])`, { visible: true, timeout: STEP_MS });

// A chat line typed and sent ({"said"}), then the other side's line shown ({"heard"}).
export async function chatBothWays(page, step, said, reply) {
  await step("say", async () => {
    await page.type("#chat-input", said);
    await (await button(page, "Senden", '//form[@id="chat-form"]')).click();
  });
  say({ said: true });
  await step("hear", () => until(page, (text) => [...document.querySelectorAll("#chat-list li")].some((li) => li.textContent.includes(text)), reply));
  say({ heard: true });
}

export const until = (page, fn, arg, timeout = STEP_MS) => page.waitForFunction(fn, { timeout, polling: 200 }, arg);

// Until ``count`` more frames of the <video> matching ``selector`` have been presented (counted by
// requestVideoFrameCallback: Firefox's playback-quality counters stay 0 for a MediaStream).
export async function framesAdvance(page, selector, count = 10, timeout = STEP_MS) {
  await until(page, (sel) => document.querySelector(sel) && document.querySelector(sel).videoWidth > 0, selector, timeout);
  await page.evaluate((sel, n, ms) => new Promise((resolve, reject) => {
    const video = document.querySelector(sel);
    let seen = 0;
    const frame = () => { seen += 1; if (seen >= n) resolve(); else video.requestVideoFrameCallback(frame); };
    video.requestVideoFrameCallback(frame);
    setTimeout(() => reject(new Error(`${sel}: ${seen} of ${n} frames in ${ms} ms`)), ms);
  }), selector, count, timeout);
}

// The mean red, green and blue of the picture a <video> shows now.
export const meanColour = (page, selector) => page.evaluate((sel) => {
  const v = document.querySelector(sel);
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  const data = g.getImageData(0, 0, c.width, c.height).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) { sum[0] += data[i]; sum[1] += data[i + 1]; sum[2] += data[i + 2]; }
  return sum.map((s) => s / (data.length / 4));
}, selector);
