// The device check of a customer at home (browser.js), with the browser's own devices and the
// hub's speed test: the same checks and thresholds as on the booth (appliance/session_parts.py;
// the numbers are generated from rtc/thresholds.py).
import { GOOD_KBPS, POOR_KBPS as MIN_KBPS } from "./thresholds.js";

export const CHECKS = ["camera", "microphone", "speaker", "upload", "download"];

export const rateVerdict = (kbps) => (kbps == null || kbps < MIN_KBPS ? "fail" : kbps < GOOD_KBPS ? "warn" : "pass");
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function cameraShows(stream) {
  const video = document.createElement("video");
  video.muted = true;
  video.srcObject = new MediaStream(stream.getVideoTracks());
  await video.play().catch(() => {});
  for (let i = 0; i < 50 && !video.videoWidth; i += 1) await wait(100);
  return video.videoWidth > 0;
}

export async function micHears(stream, onLevel) {
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let heard = false;
  for (let i = 0; i < 30 && !heard; i += 1) {
    await wait(100);
    analyser.getFloatTimeDomainData(samples);
    const level = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    onLevel(Math.min(1, level * 4));
    heard = level > 0.01;
  }
  ctx.close();
  return heard;
}

export async function playTone() {
  const ctx = new AudioContext();
  await ctx.resume().catch(() => {});
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  gain.gain.value = 0.1;
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  await wait(400);
  osc.stop();
  const running = ctx.state === "running";
  ctx.close();
  return running;
}

export async function upload() {
  const body = crypto.getRandomValues(new Uint8Array(64 * 1024));
  const parts = Array.from({ length: 4 }, () => body);
  const start = performance.now();
  const response = await fetch("/speedtest/upload", { method: "POST", body: new Blob(parts), cache: "no-store" });
  if (!response.ok) throw new Error("upload");
  return (4 * body.length * 8) / (performance.now() - start); // bits per ms = kbit/s
}

export async function download() {
  const start = performance.now();
  const response = await fetch(`/speedtest/download?bytes=${512 * 1024}`, { cache: "no-store" });
  const size = (await response.arrayBuffer()).byteLength;
  return (size * 8) / (performance.now() - start);
}
