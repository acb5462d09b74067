// The browser test: serves web/dist with `cargo xtask serve`, drives Debian's headless
// Chromium with playwright-core, and checks what a person would see. The canvas has no DOM,
// so the test reads the state the app publishes in `window.__ringside` and compares
// screenshots pixel by pixel.
//
// Run from the repository root after `cargo xtask web`:   node web/tests/browser/run.js
// Screenshots go to web/tests/browser/out/. Ends with "N passed, M failed".

"use strict";
const { chromium } = require("playwright-core");
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

const ROOT = path.resolve(__dirname, "../../..");
const OUT = path.join(__dirname, "out");
const FLAGS = [
  "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
];
const VIEW = { width: 1280, height: 800 };

// ---- a PNG decoder (8-bit, non-interlaced: what Chromium writes) ----
function decodePng(buf) {
  let pos = 8, width, height, colorType, idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("ascii", pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    pos += 12 + len;
    if (type === "IHDR") {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4); colorType = data[9];
      if (data[8] !== 8 || data[12] !== 0) throw new Error("unsupported PNG");
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
  }
  const bpp = { 6: 4, 2: 3, 0: 1, 4: 2 }[colorType];
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp, out = Buffer.alloc(height * stride);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = out.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp] : 0, b = prev[x], c = x >= bpp ? prev[x - bpp] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[x] = v & 255;
    }
    prev = cur;
  }
  return { width, height, bpp, data: out };
}

function pixel(img, x, y) {
  const i = (y * img.width + x) * img.bpp;
  return (img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2];
}

/** Distinct colours, and pixels unlike the top-left corner's. */
function stats(img) {
  const colours = new Set(), bg = pixel(img, img.width - 1, img.height - 1);
  let ink = 0;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const p = pixel(img, x, y);
      colours.add(p);
      if (p !== bg) ink++;
    }
  return { colours: colours.size, ink };
}

/** Pixels that differ, and their bounding box. */
function diff(a, b) {
  let n = 0, box = null;
  for (let y = 0; y < a.height; y++)
    for (let x = 0; x < a.width; x++)
      if (pixel(a, x, y) !== pixel(b, x, y)) {
        n++;
        box = box ? [Math.min(box[0], x), Math.min(box[1], y), Math.max(box[2], x), Math.max(box[3], y)] : [x, y, x, y];
      }
  return { n, box };
}

/** The strong-change background of the dark theme (web/src/theme.rs). */
const CHANGE = (245 << 16) | (215 << 8) | 60;

/** Pixels that differ between a and b with no change highlight in b within a cell of them. */
function unhighlighted(a, b) {
  let n = 0;
  for (let y = 0; y < a.height; y++)
    for (let x = 0; x < a.width; x++) {
      if (pixel(a, x, y) === pixel(b, x, y)) continue;
      let near = false;
      for (let dy = -9; dy <= 9 && !near; dy++)
        for (let dx = -9; dx <= 9 && !near; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < b.width && yy < b.height && pixel(b, xx, yy) === CHANGE) near = true;
        }
      if (!near) n++;
    }
  return n;
}

// ---- the server ----
function serve() {
  return new Promise((resolve, reject) => {
    const p = spawn("cargo", ["xtask", "serve", "--port", "0"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    p.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) resolve({ proc: p, url: m[1] });
    });
    p.on("exit", (code) => reject(new Error("cargo xtask serve exited " + code)));
  });
}

// ---- the checks ----
const results = [];
function check(name, ok, detail) {
  results.push({ name, ok: !!ok, detail });
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail === undefined ? "" : ": " + detail}`);
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const server = await serve();
  const origin = server.url.replace(/\/$/, "");
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: FLAGS });
  const numbers = {};
  try {
    const page = await browser.newPage({ viewport: VIEW });
    const consoleErrors = [], requests = [];
    // Chromium's software WebGL warns when a screenshot reads the canvas back ("GPU stall due
    // to ReadPixels"): that is the test's doing, not the page's. Everything else counts.
    const ours = (t) => !t.includes("GPU stall due to ReadPixels");
    page.on("console", (m) => {
      if ((m.type() === "error" || m.type() === "warning") && ours(m.text())) consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => consoleErrors.push("pageerror: " + e));
    page.on("request", (r) => requests.push(r.url()));

    const state = () => page.evaluate(() => window.__ringside);
    const waitFor = (fn, arg, what) =>
      page.waitForFunction(fn, arg, { timeout: 20000 }).catch(() => { throw new Error("timed out waiting for " + what); });
    // A screenshot of a settled page: taken again until two in a row agree (the app may
    // still be painting the frame after a change).
    const shot = async (name) => {
      const file = path.join(OUT, name + ".png");
      let prev = null;
      for (let i = 0; i < 8; i++) {
        await page.waitForTimeout(150);
        const buf = await page.screenshot();
        if (prev && buf.equals(prev)) break;
        prev = buf;
      }
      fs.writeFileSync(file, prev);
      return decodePng(prev);
    };
    const settle = async (pred, what) => {
      await waitFor(pred, null, what);
      await page.waitForTimeout(100);
    };

    // 1. The page loads, paints within 1.5 s, with no console error.
    const t0 = Date.now();
    await page.goto(server.url + "index.html");
    await waitFor(() => (window.__ringside && window.__ringside.frames >= 1) || window.__startError, null, "the first frame");
    const wall = Date.now() - t0;
    const s0 = await state();
    check("the app starts", s0 && !(await page.evaluate(() => window.__startError)));
    numbers.first_frame_ms = Math.round(s0.first_frame_ms);
    numbers.first_frame_wall_ms = wall;
    check("first frame within 1.5 s of navigation", s0.first_frame_ms < 1500,
      `${s0.first_frame_ms.toFixed(0)} ms after navigation start (app's performance.now()); ${wall} ms by the test's clock`);
    check("opens on the course, chapter 1", s0.open === "chapter-1/1" && s0.step === 0, `${s0.open} step ${s0.step}`);
    // Focus the canvas (a click on the header row, which holds no target).
    await page.mouse.click(640, 36);
    const a = await shot("01-start");
    const st = stats(a);
    check("the canvas is not blank", st.colours > 20 && st.ink > 20000, `${st.colours} colours, ${st.ink} pixels of ink`);

    // 2. Keys step the ring; the picture and the reported step change; back restores it.
    await page.keyboard.press("ArrowRight");
    await settle(() => window.__ringside.step === 1, "step 1");
    const b = await shot("02-step1");
    const d1 = diff(a, b);
    check("→ steps and the screen changes", (await state()).step === 1 && d1.n > 100, `${d1.n} pixels changed in ${d1.box}`);
    await page.keyboard.press("ArrowLeft");
    await settle(() => window.__ringside.step === 0, "step 0");
    const c = await shot("03-back");
    // Back at step 0 the screen is the first one, except that what the step back undid is
    // marked as changed (core marks values changed since the previous cursor position, in
    // either direction): every pixel that differs lies on that highlight.
    const d2 = diff(a, c);
    const off = unhighlighted(a, c);
    check("← restores the first screenshot (but for the change highlight)", d2.n > 0 ? off === 0 : true,
      `${d2.n} pixels differ${d2.box ? " in " + d2.box : ""}, ${off} of them away from the highlight`);
    await page.keyboard.press("ArrowRight");
    await settle(() => window.__ringside.step === 1, "step 1 again");
    const b2 = await shot("02-step1-again");
    const d3 = diff(b, b2);
    check("→ again gives the step-1 screenshot exactly", d3.n === 0, `${d3.n} pixels differ`);
    await page.keyboard.type("L");
    await settle(() => window.__ringside.step > 1, "an op forward");
    check("Shift+L moves a whole op", (await state()).step > 1, `step ${(await state()).step}`);
    // The course asks its first question there: Esc skips it, and Home goes back.
    await page.keyboard.press("Escape");
    await page.keyboard.press("Home");
    await settle(() => window.__ringside.step === 0, "Home");

    // 3. A deep link opens at its step, with its pane layout.
    await page.goto(server.url + "index.html#open=packed-wrap&step=25&marks=10&pane=cache");
    await waitFor(() => window.__ringside && window.__ringside.step === 25, null, "the link's step");
    const s3 = await state();
    check("a deep link opens at its step and pane", s3.open === "packed-wrap" && s3.focus && s3.focus.includes("cache"),
      `${s3.open} step ${s3.step} focus ${s3.focus}`);
    check("the pictures are drawn beside the text", s3.pictures, `pictures ${s3.pictures}, grid ${s3.cols}x${s3.rows} cells`);
    await shot("04-link-packed-wrap-25");
    // Only the fragment changes: the page stays and follows the link (hashchange).
    await page.goto(server.url + "index.html#open=packed-wrap&step=x");
    await waitFor(() => window.__ringside && window.__ringside.note, null, "the note");
    const s4 = await state();
    check("a bad link falls back to the start page with a note",
      s4.open === "chapter-1/1" && s4.note && s4.note.includes("bad link: `step=x`"), s4.note);
    await shot("05-bad-link");

    // 4. A picked trace file replays; a dropped bad scenario shows its located error.
    await page.setInputFiles("#ringside-open", path.join(ROOT, "traces/split-default/trace.log"));
    await waitFor(() => window.__ringside.open === "trace.log", null, "the trace");
    await page.mouse.click(640, 36);
    const s5 = await state();
    check("a picked QEMU trace opens", s5.local && s5.end > 100 && s5.error === null, `${s5.open}: ${s5.end} events`);
    await page.keyboard.press("End");
    await settle(() => window.__ringside.step === window.__ringside.end, "the end of the trace");
    await shot("06-trace-end");
    const bytes = fs.readFileSync(path.join(ROOT, "scenarios/invalid/unknown-op.ron"));
    const dt = await page.evaluateHandle((b64) => {
      const dt = new DataTransfer();
      const bin = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      dt.items.add(new File([bin], "unknown-op.ron", { type: "text/plain" }));
      return dt;
    }, bytes.toString("base64"));
    await page.dispatchEvent("#ringside-canvas", "dragover", { dataTransfer: dt });
    await page.dispatchEvent("#ringside-canvas", "drop", { dataTransfer: dt });
    await waitFor(() => window.__ringside.error, null, "the error box");
    const s6 = await state();
    check("a dropped bad scenario shows its located error",
      s6.error.includes("cannot open unknown-op.ron: unknown-op.ron:6:35: unknown name `Kik` in `Op`"), s6.error);
    await shot("07-bad-file");

    // 4b. A picked bench.json shows next to the model in the cache pane and is kept for the
    // next visit; guest-split's two sides picked together open as one joined capture, with
    // its timeline drawn.
    await page.goto(server.url + "index.html#open=split-unbatched&step=40&pane=cache&zoom=1");
    await waitFor(() => window.__ringside && window.__ringside.open === "split-unbatched", null, "split-unbatched");
    await page.setInputFiles("#ringside-open", path.join(ROOT, "core/tests/fixtures/bench.json"));
    await waitFor(() => window.__ringside.status.startsWith("bench result bench.json shown"), null, "the bench result");
    const s7 = await state();
    check("a picked bench.json shows next to the model, the scenario stays", s7.open === "split-unbatched" && s7.error === null, s7.status);
    await page.mouse.click(640, 36);
    await shot("08-bench-next-to-the-model");
    const kept = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.endsWith("bench")).length);
    check("the bench result is kept in local storage", kept === 1, `${kept} key(s)`);
    await page.setInputFiles("#ringside-open", ["trace.log", "guest-trace.txt"].map((f) => path.join(ROOT, "traces/guest-split", f)));
    await waitFor(() => window.__ringside.open === "trace.log", null, "the joined capture");
    const s8 = await state();
    check("guest-split's two sides open as one capture with its timeline drawn",
      s8.status === "opened trace.log with guest-trace.txt" && s8.pictures && s8.error === null, `${s8.status}; pictures ${s8.pictures}`);
    await page.mouse.click(640, 36);
    await page.keyboard.type(":line 700");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Shift+ArrowRight");
    await page.waitForTimeout(300);
    await shot("09-joined-timeline");

    // 5. Every pane, zoomed, at a few steps (to look at).
    await page.goto(server.url + "index.html#open=split-unbatched&step=40");
    await waitFor(() => window.__ringside && window.__ringside.step === 40, null, "split-unbatched");
    await page.mouse.click(640, 36);
    for (const [digit, name] of [[1, "ring"], [2, "cache"], [3, "memory"], [4, "narration"], [5, "findings"], [6, "timeline"], [7, "transport"]]) {
      await page.keyboard.type(String(digit));
      await page.keyboard.type("e");
      await settle(() => window.__ringside.panes.length === 1, "a zoomed pane");
      await shot(`10-split-40-${digit}-${name}`);
      await page.keyboard.type("e");
      await settle(() => window.__ringside.panes.length > 1, "all panes");
    }
    for (const [name, frag] of [["split-unbatched-36", "open=split-unbatched&step=36&slot=0"], ["packed-wrap-60", "open=packed-wrap&step=60"], ["split-vs-packed-compare", "open=split-vs-packed&step=80&compare=1"],
      ["lost-interrupt", "open=lost-interrupt&step=200"], ["pow2-cache", "open=pow2-cache&step=30&pane=cache&zoom=1"]]) {
      await page.goto(server.url + "index.html#" + frag);
      const open = frag.split("&")[0].slice("open=".length);
      await waitFor((o) => window.__ringside && window.__ringside.open === o && !window.__ringside.note, open, name);
      await shot("20-" + name);
    }
    await page.mouse.click(640, 36);
    await page.keyboard.type("?");
    await settle(() => window.__ringside.help, "help");
    await shot("30-help");

    // 6. No console errors so far; no request other than the page's own files.
    check("no console error or warning", consoleErrors.length === 0, consoleErrors.join(" | "));
    const foreign = requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith("data:") && !u.startsWith("blob:"));
    check("no request outside the page's own files", foreign.length === 0, foreign.length ? foreign.join(", ") : `${requests.length} requests, all to ${origin}`);

    // 7. A panic shows in the page, not as a blank canvas (last: it stops the app).
    await page.evaluate(() => { try { window.__ringside_handle.panic_for_test(); } catch (e) { } });
    await page.waitForTimeout(300);
    const box = await page.evaluate(() => {
      const el = document.getElementById("ringside-error");
      return { text: el.textContent, shown: getComputedStyle(el).display !== "none" };
    });
    check("a panic shows its message in the page", box.shown && box.text.includes("a deliberate panic, asked for by the browser test"), box.text.split("\n").slice(0, 3).join(" / "));
    await shot("40-panic");
  } finally {
    await browser.close();
    server.proc.kill();
  }
  fs.writeFileSync(path.join(OUT, "numbers.json"), JSON.stringify({ numbers, results }, null, 2));
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log("FAIL " + (e.stack || e));
  console.log(`${results.filter((r) => r.ok).length} passed, ${results.filter((r) => !r.ok).length + 1} failed`);
  process.exit(1);
});
