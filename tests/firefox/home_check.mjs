// A customer at home in Firefox ESR (Debian's firefox-esr), driven over WebDriver BiDi by
// puppeteer-core: opens the personal link, consents, passes the device check with Firefox's fake
// camera and microphone and reaches the waiting room ({"waiting"}); once the advisor admits: the
// advisor's live picture, frame after frame ({"live"}); a chat line to the advisor ({"said"}) and
// the advisor's answer ({"heard"}); after the advisor ends the call, the survey. The last line
// carries "ok"; exit code 0 on success.
// Usage: node home_check.mjs <join url> <JSON: said, reply>
import { STEP_MS, button, chatBothWays, framesAdvance, journey, meanColour, say, until } from "./firefox.mjs";

const [url, config] = process.argv.slice(2);
const { said, reply } = JSON.parse(config);
const shown = (page, screen) => until(page, (name) => !document.querySelector(`[data-screen="${name}"]`).hidden, screen);

// A desktop at home (phones: tests/hub/test_home_phone.py).
await journey(async (page, step, result) => {
  await step("open", () => page.goto(url));
  await step("start", async () => (await button(page, "Videoberatung starten")).click());
  await step("consent", async () => (await button(page, "Ich stimme zu")).click());
  await step("check", () => until(page, () => !document.getElementById("continue").disabled));
  result.checks = await page.$eval("#check-list", (list) => list.innerText);
  await step("continue", () => page.click("#continue"));
  await step("waiting", () => shown(page, "waiting"));
  say({ waiting: true });
  await step("advisor's frames", () => framesAdvance(page, "#remote-view", 10, STEP_MS * 2));
  say({ live: true, colour: await meanColour(page, "#remote-view") });
  await chatBothWays(page, step, said, reply);
  await step("survey", () => shown(page, "survey"));
  await step("answer", () => page.click('#survey-form button[type="submit"]'));
  await step("goodbye", () => shown(page, "goodbye"));
});
