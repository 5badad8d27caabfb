// The device check of a customer at home (browser.js), with the browser's own devices and the
// hub's speed test: the same checks and thresholds as on the booth (appliance/session_parts.py;
// the numbers are generated from rtc/thresholds.py).
// Every step has a time limit: a browser without a speaker, a camera another program holds or a
// network that went away must end in a sentence the customer understands, never in "Wird geprüft"
// for good. Each check returns { status, hint }; the hints are keys of the page's translations.
import { GOOD_KBPS, POOR_KBPS as MIN_KBPS } from "./thresholds.js";

export const CHECKS = ["camera", "microphone", "speaker", "upload", "download"];
export const VIDEO = { width: 640, height: 480 };

// Time limits (ms). Generous: a loaded phone is slow, and a limit that fires says "took too long,
// try again", never that a device is broken. The permission prompt is the customer reading it.
const PROMPT_MS = 60_000;
const PICTURE_MS = 10_000;
const AUDIO_START_MS = 3_000;
const LISTEN_MS = 3_000;
const TONE_MS = 400;

export const rateVerdict = (kbps) => (kbps == null || kbps < MIN_KBPS ? "fail" : kbps < GOOD_KBPS ? "warn" : "pass");
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class CheckTimeout extends Error {}

// ``promise``, or CheckTimeout after ``ms``; ``onLate`` gets a value that arrives after the limit
// (a camera granted too late must still be switched off).
export function within(ms, promise, onLate = () => {}) {
  let timer;
  let late = false;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => { late = true; reject(new CheckTimeout()); }, ms); });
  const guarded = Promise.resolve(promise).then((value) => { if (late) onLate(value); return value; });
  return Promise.race([guarded, limit]).finally(() => clearTimeout(timer));
}

export const stopAll = (stream) => stream && stream.getTracks().forEach((track) => track.stop());

// Why the browser would not give us a device, as the hint the customer reads.
function deviceHint(name, error) {
  if (error instanceof CheckTimeout) return "check.home.timeout";
  const kind = { NotAllowedError: "refused", SecurityError: "refused", NotReadableError: "busy", AbortError: "busy",
    TrackStartError: "busy", NotFoundError: "missing", OverconstrainedError: "missing", DevicesNotFoundError: "missing" }[error && error.name];
  return `check.home.${name}_${kind || "missing"}`;
}

// Camera and microphone: one request (one permission prompt); if that fails, one by one, so a
// customer without a microphone keeps the camera and each row says what is wrong with its device.
// Returns { stream, problems: { camera?: hint, microphone?: hint } }.
export async function openDevices() {
  const ask = (constraints) => {
    if (!navigator.mediaDevices) return Promise.reject(new DOMException("no media devices", "NotFoundError"));
    return within(PROMPT_MS, navigator.mediaDevices.getUserMedia(constraints), stopAll);
  };
  try {
    return { stream: await ask({ audio: true, video: VIDEO }), problems: {} };
  } catch {
    const stream = new MediaStream();
    const problems = {};
    for (const [name, constraints] of [["camera", { video: VIDEO }], ["microphone", { audio: true }]]) {
      try {
        (await ask(constraints)).getTracks().forEach((track) => stream.addTrack(track));
      } catch (error) {
        problems[name] = deviceHint(name, error);
      }
    }
    return { stream, problems };
  }
}

export async function checkCamera(stream) {
  const video = document.createElement("video");
  video.muted = true;
  video.srcObject = new MediaStream(stream.getVideoTracks());
  video.play().catch(() => {}); // a picture shows in videoWidth, whether play() ever settles or not
  for (let waited = 0; waited < PICTURE_MS && !video.videoWidth; waited += 100) await wait(100);
  const shows = video.videoWidth > 0;
  video.srcObject = null;
  return shows ? { status: "pass", hint: null } : { status: "fail", hint: "check.home.camera_no_picture" };
}

// An AudioContext that runs, or null: a browser without an audio output may never start one.
async function runningContext() {
  const ctx = new AudioContext();
  await within(AUDIO_START_MS, ctx.resume()).catch(() => {});
  if (ctx.state === "running") return ctx;
  ctx.close().catch(() => {});
  return null;
}

// Without a microphone the customer can still continue (the advisor reads them in the chat): warn.
export async function checkMicrophone(stream, onLevel) {
  const ctx = await runningContext();
  if (!ctx) return { status: "warn", hint: "check.home.microphone_unmeasured" };
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let heard = false;
  for (let waited = 0; waited < LISTEN_MS && !heard; waited += 100) {
    await wait(100);
    analyser.getFloatTimeDomainData(samples);
    const level = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    onLevel(Math.min(1, level * 4));
    heard = level > 0.01;
  }
  ctx.close().catch(() => {});
  return heard ? { status: "pass", hint: null } : { status: "warn", hint: "check.home.microphone_silent" };
}

// Without a speaker the customer can still continue (they read the chat): warn, and say so.
export async function checkSpeaker() {
  const ctx = await runningContext();
  if (!ctx) return { status: "warn", hint: "check.home.speaker_silent" };
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  gain.gain.value = 0.1;
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  await wait(TONE_MS);
  osc.stop();
  const running = ctx.state === "running";
  ctx.close().catch(() => {});
  return running ? { status: "pass", hint: null } : { status: "warn", hint: "check.home.speaker_silent" };
}

// The hub's speed test, in kbit/s; throws when the hub does not answer. Its time limit is the
// time the transfer may take at the lowest rate that passes: later, the verdict is "fail" anyway.
async function measure(path, init, bits) {
  const limit = bits / MIN_KBPS; // kbit/s = bits per ms
  const start = performance.now();
  const response = await fetch(path, { cache: "no-store", signal: AbortSignal.timeout(limit), ...init });
  if (!response.ok) throw new Error(path);
  await within(limit, response.arrayBuffer());
  return bits / (performance.now() - start);
}

const SPEEDTEST_BYTES = 512 * 1024;

export function upload() {
  const chunk = crypto.getRandomValues(new Uint8Array(64 * 1024)); // the most getRandomValues gives at once
  const body = new Blob(Array.from({ length: SPEEDTEST_BYTES / chunk.length }, () => chunk));
  return measure("/speedtest/upload", { method: "POST", body }, SPEEDTEST_BYTES * 8);
}

export const download = () => measure(`/speedtest/download?bytes=${SPEEDTEST_BYTES}`, {}, SPEEDTEST_BYTES * 8);

// A rate that came back low is measured once more and the better one counts: one slow transfer on
// a busy computer is the computer, not the line. No answer at all (offline) is not retried.
export async function checkRate(measureRate) {
  let kbps = await measureRate().catch(() => null);
  if (kbps == null) return { status: "fail", hint: "check.home.offline", kbps: 0 };
  if (rateVerdict(kbps) !== "pass") kbps = Math.max(kbps, await measureRate().catch(() => 0));
  const status = rateVerdict(kbps);
  return { status, hint: { fail: "check.rate.low", warn: "check.rate.slow" }[status] || null, kbps };
}
