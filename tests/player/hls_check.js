// tests/player/hls_check.js - the player judge of the LL-HLS end-to-end tests.
//
// Plays one HLS / LL-HLS URL with hls.js (lowLatencyMode) in Debian's headless Chromium,
// driven by playwright-core (no Playwright browser download), and reports on stdout as
// JSON lines:
//   {"type":"page", ...}      the viewer page is up (its origin differs from the stream's,
//                             so the LL-HLS server's CORS answers are exercised for real)
//   {"type":"playing", ...}   the <video> started playing (the test starts its events then)
//   {"type":"cue", ...}       one decoded ID3 frame (TXXX/TIT2/...) that hls.js turned into a
//                             metadata cue, from the emsg boxes in front of the moofs
//   {"type":"result", ...}    the summary: errors (fatal ones marked), playback progress,
//                             latency samples, parsed LL parameters, parts/segments loaded,
//                             FRAG_PARSING_METADATA samples, decoded cues, ended/endlist.
//
// Usage: node tests/player/hls_check.js URL [SECONDS=20] [--until-ended]
//   --until-ended  also stop early once the video fires `ended` (after EXT-X-ENDLIST).
//   --switch       ABR: once playing, force the highest level, then the lowest, then hand
//                  back to auto; LEVEL_SWITCHED events land in result.levelSwitches.
//   --catch-up     hls.js's live catch-up on (maxLiveSyncPlaybackRate 1.5): a player that
//                  starts behind its target latency plays faster until it is there.
//   env CHROMIUM   the browser binary (default /usr/bin/chromium)
// Exit code: 0 when there was no fatal hls.js error and the playhead advanced, else 1.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const { chromium } = require('playwright-core');

const args = process.argv.slice(2);
const untilEnded = args.includes('--until-ended');
const switchLevels = args.includes('--switch');
const catchUp = args.includes('--catch-up');
const positional = args.filter(a => !a.startsWith('--'));
const src = positional[0];
const seconds = Number(positional[1] || 20);
if (!src) {
  console.error('usage: node hls_check.js URL [SECONDS] [--until-ended]');
  process.exit(2);
}
const HLS_JS = fs.readFileSync(require.resolve('hls.js/dist/hls.min.js'));

// The viewer page. Everything it learns goes out through console.log('@@' + JSON) lines,
// which the Node side relays to stdout as they happen.
const PAGE = `<!doctype html><meta charset="utf-8"><title>ome hls check</title>
<script src="/hls.min.js"></script>
<video id="v" muted playsinline></video>
<script>
(() => {
  const q = new URLSearchParams(location.search);
  const src = q.get('src'), ms = Number(q.get('ms')), untilEnded = q.get('untilEnded') === '1';
  const switchLevels = q.get('switch') === '1';
  const catchUp = q.get('catchUp') === '1';
  const emit = (type, o) => console.log('@@' + JSON.stringify(Object.assign({ type }, o)));
  const v = document.getElementById('v');
  const out = { src, hlsVersion: Hls.version, hlsSupported: Hls.isSupported(), errors: [], ll: null,
                levels: null, samples: [], metadataSamples: [], cues: [], dateRanges: {}, fragsLoaded: 0, partsLoaded: 0,
                waiting: 0, ended: false, endlist: false, playingAt: null, firstTime: null,
                levelSwitches: [], fragLevels: [] };
  const t0 = performance.now();
  // hls.js decodes the ID3 frames of each emsg and adds them as cues to a metadata TextTrack.
  // Chromium keeps that track's cue list empty (mode hidden/disabled), so observe addCue itself.
  const addCue = TextTrack.prototype.addCue;
  TextTrack.prototype.addCue = function (c) {
    if (this.kind === 'metadata') {
      const val = c.value || {};
      const cue = { start: c.startTime, key: val.key, info: val.info === undefined ? null : val.info,
                    data: typeof val.data === 'string' ? val.data : '<binary>' };
      if (out.cues.length < 200) out.cues.push(cue);
      emit('cue', cue);
    }
    return addCue.call(this, c);
  };
  // --catch-up: hls.js's live catch-up (playback up to 1.5x while behind its target latency)
  const hls = new Hls(catchUp ? { lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5 } : { lowLatencyMode: true });
  hls.on(Hls.Events.ERROR, (e, d) => {
    const s = [d.type, d.details, d.fatal ? 'FATAL' : '', d.reason || '', d.error ? d.error.message : '',
               d.response ? 'http ' + d.response.code : '', d.frag ? d.frag.url : ''].join(':');
    if (out.errors.length < 100) out.errors.push(s);
    if (d.fatal) emit('fatal', { error: s });
  });
  hls.on(Hls.Events.MANIFEST_PARSED, (e, d) => {
    out.levels = d.levels.map(l => ({ codecs: [l.videoCodec, l.audioCodec].join(','), width: l.width,
                                      height: l.height, bitrate: l.bitrate }));
    v.play().catch(err => out.errors.push('play():' + err.message));
  });
  hls.on(Hls.Events.LEVEL_UPDATED, (e, d) => {
    const x = d.details;
    if (!x.live) out.endlist = true;
    out.ll = { live: x.live, targetduration: x.targetduration, partTarget: x.partTarget,
               canBlockReload: x.canBlockReload, partHoldBack: x.partHoldBack, holdBack: x.holdBack,
               canSkipUntil: x.canSkipUntil, preloadHint: !!x.preloadHint,
               renditionReports: (x.renditionReports || []).length };
    // EXT-X-DATERANGE as hls.js parsed them (tags with one ID merged), newest view of each
    for (const d of Object.values(x.dateRanges || {})) {
      out.dateRanges[d.id] = { start: d.startDate ? d.startDate.toISOString() : null, duration: d.duration,
                               plannedDuration: d.plannedDuration, valid: d.isValid,
                               scte35Out: d.attr['SCTE35-OUT'] || null, scte35In: d.attr['SCTE35-IN'] || null };
    }
  });
  hls.on(Hls.Events.FRAG_LOADED, (e, d) => {
    if (d.part) out.partsLoaded++; else out.fragsLoaded++;
    const lv = d.frag ? d.frag.level : -1;
    if (d.frag && d.frag.type === 'main' && out.fragLevels[out.fragLevels.length - 1] !== lv) out.fragLevels.push(lv);
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (e, d) => {
    out.levelSwitches.push({ level: d.level, t: (performance.now() - t0) / 1000, videoHeight: v.videoHeight });
  });
  hls.on(Hls.Events.FRAG_PARSING_METADATA, (e, d) => {
    for (const s of d.samples) if (out.metadataSamples.length < 200) {
      const bytes = s.data || new Uint8Array(0);
      out.metadataSamples.push({ pts: s.pts, type: s.type, len: s.len,
                                 text: Array.from(bytes, b => b >= 32 && b < 127 ? String.fromCharCode(b) : '.').join('') });
    }
  });
  v.addEventListener('playing', () => {
    if (out.playingAt === null) {
      out.playingAt = (performance.now() - t0) / 1000;
      out.firstTime = v.currentTime;
      emit('playing', { at: out.playingAt, currentTime: v.currentTime });
      if (switchLevels && hls.levels.length > 1) {
        const top = hls.levels.length - 1;
        // highest first, then lowest, then auto: each switch is a real fetch of another rendition
        hls.currentLevel = top;
        setTimeout(() => { hls.currentLevel = 0; }, Math.min(6000, ms / 4));
        setTimeout(() => { hls.currentLevel = -1; }, Math.min(12000, ms / 2));
      }
    }
  });
  v.addEventListener('waiting', () => { if (out.playingAt !== null) out.waiting++; });
  let done = false;
  const finish = (why) => {
    if (done) return;
    done = true;
    clearInterval(timer);
    const qq = v.getVideoPlaybackQuality();
    Object.assign(out, { why, wallSeconds: (performance.now() - t0) / 1000, currentTime: v.currentTime,
      videoWidth: v.videoWidth, videoHeight: v.videoHeight, totalVideoFrames: qq.totalVideoFrames,
      droppedVideoFrames: qq.droppedVideoFrames, latency: hls.latency, targetLatency: hls.targetLatency,
      mediaError: v.error ? v.error.code + ':' + v.error.message : null });
    hls.destroy();
    emit('result', out);
  };
  v.addEventListener('ended', () => { out.ended = true; if (untilEnded) finish('ended'); });
  // One sample every 500 ms: playhead, hls.js latency (live edge - playhead) and the
  // program-date-time lag (wall clock - the PDT of the frame on screen).
  const timer = setInterval(() => {
    const pd = hls.playingDate;
    out.samples.push({ t: (performance.now() - t0) / 1000, currentTime: v.currentTime, paused: v.paused,
                       latency: Number.isFinite(hls.latency) ? hls.latency : null,
                       pdtLag: pd ? (Date.now() - pd.getTime()) / 1000 : null,
                       buffered: v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : 0 });
  }, 500);
  setTimeout(() => finish('time'), ms);
  hls.loadSource(src);
  hls.attachMedia(v);
})();
</script>`;

function serve() {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    if (p === '/hls.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(HLS_JS);
    }
    if (p === '/' || p === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(PAGE);
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const print = o => process.stdout.write(JSON.stringify(o) + '\n');

(async () => {
  const server = await serve();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ome-hls-check-'));
  let context;
  let result = null;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--autoplay-policy=no-user-gesture-required'],
    });
    const page = context.pages()[0] || await context.newPage();
    const gotResult = new Promise(resolve => {
      page.on('console', msg => {
        const text = msg.text();
        if (!text.startsWith('@@')) return;
        const o = JSON.parse(text.slice(2));
        if (o.type === 'result') {
          o.browser = context.browser() ? context.browser().version() : null;
          resolve(o);
        } else {
          print(o);
        }
      });
    });
    page.on('pageerror', e => print({ type: 'pageerror', error: e.message }));
    const qs = new URLSearchParams({ src, ms: String(seconds * 1000), untilEnded: untilEnded ? '1' : '0',
                                    switch: switchLevels ? '1' : '0', catchUp: catchUp ? '1' : '0' });
    const pageUrl = `http://127.0.0.1:${server.address().port}/index.html?${qs}`;
    await page.goto(pageUrl);
    print({ type: 'page', url: pageUrl, chromium: await page.evaluate(() => navigator.userAgent) });
    result = await Promise.race([gotResult,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no result from the page')), seconds * 1000 + 20000))]);
    print(result);
  } finally {
    if (context) await context.close().catch(() => {});
    server.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  const fatal = result.errors.some(e => e.includes(':FATAL:'));
  process.exit(!fatal && result.currentTime > 0 ? 0 : 1);
})().catch(e => { print({ type: 'crash', error: String(e && e.stack || e) }); process.exit(1); });
