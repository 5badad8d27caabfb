// An advisor at a desk running Firefox ESR: logs in to the console, admits the waiting booth
// customer, sees the booth's live picture (its colour bars, frames advancing), chats both ways,
// shares the screen and ends the call. One JSON line per stage the Python test acts on
// ({"live"}, {"said"}, {"heard"}, {"sharing"}, {"ended"}), the last with "ok".
// Usage: node console_check.mjs <console url> <JSON: user, password, row, said, reply, bars>
// ("bars": a page expression that is true once the booth's colour bars show in #remote-video).
import { STEP_MS, button, chatBothWays, framesAdvance, journey, say, until } from "./firefox.mjs";

const [url, config] = process.argv.slice(2);
const { user, password, row, said, reply, bars } = JSON.parse(config);
const status = (text) => (page) => until(page, (want) => document.getElementById("call-status").textContent === want, text);

await journey(async (page, step) => {
  await step("open", () => page.goto(url));
  await step("login", async () => {
    await page.type("#username-input", user);
    await page.type("#password-input", password);
    await (await button(page, "Anmelden")).click();
    await page.waitForSelector("#logout", { visible: true, timeout: STEP_MS });
  });
  await step("admit", async () => (await button(page, "Eintreten lassen", `//tr[contains(., "${row}")]`)).click());
  await step("connected", () => status("Verbunden")(page));
  await step("booth's picture", () => page.waitForFunction(bars, { timeout: STEP_MS, polling: 200 }));
  await step("booth's frames", () => framesAdvance(page, "#remote-video"));
  say({ live: true });
  await chatBothWays(page, step, said, reply);
  await step("share", async () => {
    await (await button(page, "Bildschirm teilen")).click();
    await until(page, () => !document.getElementById("share-active").hidden || document.getElementById("share-error").textContent);
  });
  const sharing = await page.$eval("#share-active", (el) => !el.hidden);
  say({ sharing, error: await page.$eval("#share-error", (el) => el.textContent) });
  if (sharing) {
    await step("preview", () => framesAdvance(page, "#share-preview", 5));
    await step("stop sharing", async () => (await button(page, "Teilen beenden")).click());
  }
  await step("end", async () => (await button(page, "Beenden")).click());
  await step("ended", () => status("Das Gespräch ist beendet.")(page));
  say({ ended: true });
});
