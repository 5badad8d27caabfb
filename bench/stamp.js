// The capture-time stamp of hw/stamp.py in a browser: paint it into a canvas that stands in for a
// camera, read it back from what a <video> shows; and hw/clicks.py's clicks on the wall clock's
// beat, made by WebAudio for a microphone and found again in a received track. The numbers come
// from Python (window.vkStamp is made by this function), so they live in one place. Evaluated by
// bench/latency.py only.
(layout, clicks) => {
  const { blocks, valueBits, checkBits, rowFraction, white, black, minContrast } = layout;
  const edges = (width) => Array.from({ length: blocks + 1 }, (_, i) => Math.floor((i * width) / blocks));
  const rowHeight = (height) => Math.max(1, Math.round(height * rowFraction));
  const ones = (v) => { let n = 0; for (; v; v >>>= 1) n += v & 1; return n; };

  function bits(ms) {
    const value = ms % 2 ** valueBits;
    const check = ones(value);
    const out = [1, 0];
    for (let i = valueBits - 1; i >= 0; i--) out.push((value >>> i) & 1);
    for (let i = checkBits - 1; i >= 0; i--) out.push((check >>> i) & 1);
    return out;
  }

  function paint(g, width, height, ms) {
    const x = edges(width), h = rowHeight(height);
    bits(ms).forEach((bit, i) => {
      const v = bit ? white : black;
      g.fillStyle = `rgb(${v},${v},${v})`;
      g.fillRect(x[i], 0, x[i + 1] - x[i], h);
    });
  }

  // The stamped value or null; the same rule as hw/stamp.py's read_stamp.
  function read(g, width, height) {
    const x = edges(width), h = rowHeight(height);
    const data = g.getImageData(0, 0, width, h).data;
    const levels = [];
    for (let i = 0; i < blocks; i++) {
      const qx = Math.floor((x[i + 1] - x[i]) / 4), qy = Math.floor(h / 4);
      let sum = 0, n = 0;
      for (let y = qy; y < h - qy; y++) {
        for (let px = x[i] + qx; px < x[i + 1] - qx; px++) {
          const o = (y * width + px) * 4;
          sum += (data[o] + data[o + 1] + data[o + 2]) / 3; n++;
        }
      }
      levels.push(sum / n);
    }
    if (levels[0] - levels[1] < minContrast) return null;
    const threshold = (levels[0] + levels[1]) / 2;
    let value = 0, check = 0;
    levels.slice(2, 2 + valueBits).forEach((l) => { value = value * 2 + (l > threshold ? 1 : 0); });
    levels.slice(2 + valueBits).forEach((l) => { check = check * 2 + (l > threshold ? 1 : 0); });
    return check === ones(value) ? value : null;
  }

  // A camera: a canvas stream of `fps` frames, each stamped with Date.now() as it is drawn and
  // handed to the track at once (requestFrame), with a moving bar so the encoder has work to do.
  function camera(width, height, fps) {
    const canvas = document.createElement("canvas");
    canvas.width = width; canvas.height = height;
    const g = canvas.getContext("2d");
    const stream = canvas.captureStream(0);
    const [track] = stream.getVideoTracks();
    let n = 0;
    const timer = setInterval(() => {
      if (track.readyState === "ended") { clearInterval(timer); return; }
      g.fillStyle = "rgb(60,120,60)";
      g.fillRect(0, 0, width, height);
      g.fillStyle = "rgb(235,235,235)";
      g.fillRect((n * 7) % width, height / 2, width / 16, height / 4);
      n++;
      paint(g, width, height, Date.now());
      track.requestFrame();
    }, 1000 / fps);
    return track;
  }

  // Every frame `video` presents: [stamp, wall-clock ms when it is shown, wall-clock ms when its
  // last packet arrived (null where the browser does not say)]; Python unwraps them.
  function watch(video) {
    const canvas = document.createElement("canvas");
    const g = canvas.getContext("2d", { willReadFrequently: true });
    const seen = [];
    let missed = 0;
    // requestVideoFrameCallback's times are on the page's monotonic clock; the wall clock is what
    // the sender stamped.
    const wallClock = (t) => Date.now() + (t - performance.now());
    const onFrame = (_now, meta) => {
      const shownAt = wallClock(meta.expectedDisplayTime);
      const w = video.videoWidth, h = video.videoHeight;
      if (w && h) {
        if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
        g.drawImage(video, 0, 0, w, h);
        const stamp = read(g, w, h);
        const arrivedAt = meta.receiveTime ? wallClock(meta.receiveTime) : null;
        if (stamp === null) missed++; else seen.push([stamp, shownAt, arrivedAt]);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    return { take() { const out = { seen: seen.splice(0), missed }; missed = 0; return out; } };
  }

  // WebAudio's clock against the wall clock: a block that plays at context time `at`.
  const wallOf = (ctx, at) => Date.now() + (at - ctx.currentTime) * 1000;
  let audio = null;
  const context = () => { audio = audio || new AudioContext({ sampleRate: 48000 }); audio.resume(); return audio; };

  // A microphone that clicks on every beat (the same rule as hw/clicks.py's add_clicks), stamped as
  // the booth's microphone is (hw/clicks.py's ClickingTrack): a block handed over at t holds the
  // sound of its duration before t. This block goes into the stream at its playbackTime (one
  // block, 5.3 ms, after now: measured). Stamped from playbackTime itself, every click of a
  // browser's microphone counted one block less than the booth's (issue 20).
  function clickMic() {
    const ctx = context();
    const node = ctx.createScriptProcessor(256, 1, 1);
    const out = ctx.createMediaStreamDestination();
    node.onaudioprocess = (e) => {
      const data = e.outputBuffer.getChannelData(0);
      data.fill(0);
      const rate = ctx.sampleRate, first = wallOf(ctx, e.playbackTime) / 1000 - data.length / rate;
      const beat = Math.ceil(first / clicks.periodS - 1e-9) * clicks.periodS;
      for (const start of [beat - clicks.periodS, beat]) {
        const from = Math.round((start - first) * rate), to = from + Math.round(clicks.clickS * rate);
        for (let i = Math.max(0, from); i < Math.min(data.length, to); i++) data[i] = clicks.level;
      }
    };
    const mute = ctx.createGain();
    mute.gain.value = 0;
    node.connect(out);
    node.connect(mute).connect(ctx.destination); // a script node runs only while its output is pulled
    return out.stream.getAudioTracks()[0];
  }

  // Wall-clock times at which clicks of `track` are heard (hw/clicks.py's OnsetFinder).
  function hear(track) {
    const ctx = context();
    const stream = new MediaStream([track]);
    // Chromium hands a received track's audio to WebAudio only while a media element plays it.
    const element = new Audio();
    element.muted = true;
    element.srcObject = stream;
    element.play();
    const source = ctx.createMediaStreamSource(stream);
    const node = ctx.createScriptProcessor(256, 1, 1);
    const heard = [];
    const quietNeeded = Math.round(clicks.quietS * ctx.sampleRate);
    let quiet = quietNeeded;
    node.onaudioprocess = (e) => {
      const data = e.inputBuffer.getChannelData(0), rate = ctx.sampleRate;
      // The input block is what played during the last block before now.
      const first = Date.now() - (data.length / rate) * 1000;
      let gapStart = -quiet;
      for (let i = 0; i < data.length; i++) {
        if (Math.abs(data[i]) < clicks.threshold) continue;
        if (i - gapStart >= quietNeeded) heard.push(first + (i / rate) * 1000);
        gapStart = i;
      }
      quiet = data.length - 1 - gapStart;
    };
    const mute = ctx.createGain();
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(ctx.destination);
    return { take() { return heard.splice(0); } };
  }

  // Every peer connection the page makes, for what its receivers report: how long frames and audio
  // wait in the jitter buffer says whether delay comes from the sender's timing or the receiver.
  const Native = window.RTCPeerConnection, made = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); made.push(this); }
  };
  async function receiving() {
    // targetS beside minimumS: what the receiver adds for reasons other than jitter (A/V sync).
    const sums = { video: { delayS: 0, emitted: 0, targetS: 0, minimumS: 0, decodeS: 0, decoded: 0, received: 0 },
                   audio: { delayS: 0, emitted: 0, targetS: 0, minimumS: 0, jitterS: 0, samples: 0, removed: 0, concealed: 0 } };
    for (const pc of made.filter((p) => p.connectionState !== 'closed')) {
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp' || !sums[s.kind]) return;
        const into = sums[s.kind];
        into.delayS += s.jitterBufferDelay || 0;
        into.emitted += s.jitterBufferEmittedCount || 0;
        into.targetS += s.jitterBufferTargetDelay || 0;
        into.minimumS += s.jitterBufferMinimumDelay || 0;
        if (s.kind === 'video') {
          into.decodeS += s.totalDecodeTime || 0; into.decoded += s.framesDecoded || 0; into.received += s.framesReceived || 0;
        }
        if (s.kind === 'audio') {
          // Interarrival jitter (RFC 3550, the latest estimate); what NetEq cut to catch up, or made up.
          into.jitterS += s.jitter || 0; into.samples += s.totalSamplesReceived || 0;
          into.removed += s.removedSamplesForAcceleration || 0; into.concealed += s.concealedSamples || 0;
        }
      });
    }
    return sums;
  }

  // The first live track of `kind` the page receives (a page that plays it in an element of its own).
  function remoteTrack(kind) {
    for (const pc of made.filter((p) => p.connectionState !== 'closed')) {
      const receiver = pc.getReceivers().find((r) => r.track.kind === kind && r.track.readyState === 'live');
      if (receiver) return receiver.track;
    }
    return null;
  }

  window.vkStamp = { paint, read, camera, watch, clickMic, hear, receiving, remoteTrack };
}
