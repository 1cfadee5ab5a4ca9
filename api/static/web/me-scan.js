// Goldbean (金豆): the volunteer scans a shop's counter code or an activity's check-in
// code (/me/scan) with the phone's camera, or from a photo.
//
// The camera is read with getUserMedia. A browser with BarcodeDetector reads the QR code
// itself; any other sends a small grey JPEG of the frame to POST /me/scan/decode (with the
// X-CSRFToken header), which answers {"codes": [...]}. The code found goes into the form's
// "code" field and the form is sent, so the server decides where it leads, exactly as for
// a typed code. Without this script (or a camera) the form alone works.
"use strict";

(() => {
  const tools = document.getElementById("scan-tools");
  if (!tools || !window.fetch) return;

  const SCAN_MS = 600; // between two frames
  const FRAME_SIDE = 640; // a frame sent to the server is downscaled to this
  const FRAME_BYTES = 45000; // under the server's limit (48 KiB)
  // The codes of ledger/codes.py a volunteer scans, by first digit and length.
  const WANTED = new Set(["7:10", "5:13", "6:17"]);

  const $ = (id) => document.getElementById(id);
  const start = $("scan-start");
  const stop = $("scan-stop");
  const cameraBox = $("scan-camera");
  const video = $("scan-video");
  const photo = $("scan-photo");
  const canvas = $("scan-frame");
  const status = $("scan-status");
  const form = $("scan-form");
  const field = $("code");
  const text = tools.dataset;

  let camera = null; // {stream, detector, timer, busy}

  function say(words) {
    status.textContent = words;
  }

  function digitsOf(value) {
    return String(value || "").replace(/[\s-]/g, "");
  }

  function pick(codes) {
    const cleaned = codes.map(digitsOf).filter(Boolean);
    return cleaned.find((c) => /^\d+$/.test(c) && WANTED.has(`${c[0]}:${c.length}`)) || cleaned[0] || null;
  }

  function use(code) {
    stopCamera();
    say(text.textFound);
    if (navigator.vibrate) navigator.vibrate(80);
    field.value = code;
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  async function detector() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    } catch {
      return null;
    }
  }

  function canvasBlob(quality) {
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  }

  // A grey JPEG of the source, at most FRAME_SIDE pixels on its long side and FRAME_BYTES.
  async function frameBlob(source, width, height) {
    const context = canvas.getContext("2d");
    let scale = Math.min(1, FRAME_SIDE / Math.max(width, height));
    for (let round = 0; round < 4; round += 1) {
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      context.filter = "grayscale(1)";
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(source, 0, 0, canvas.width, canvas.height);
      for (const quality of [0.85, 0.7, 0.5]) {
        const blob = await canvasBlob(quality);
        if (blob && blob.size <= FRAME_BYTES) return blob;
      }
      scale *= 0.75;
    }
    return null;
  }

  async function decodeOnServer(blob) {
    const answer = await fetch(text.decodeUrl, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-CSRFToken": text.csrf, "Content-Type": blob.type, Accept: "application/json" },
      body: blob,
    });
    if (answer.redirected || answer.status === 400) {
      window.location.reload(); // signed out, or the page's form token is too old
      return [];
    }
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    const body = await answer.json();
    return Array.isArray(body.codes) ? body.codes : [];
  }

  // The texts of the QR codes in an image or frame: the browser's detector if there is
  // one, else the server (also for a photo the detector found nothing in).
  async function readCodes(source, width, height, found, orServer) {
    if (found) {
      try {
        const codes = (await found.detect(source)).map((b) => b.rawValue).filter(Boolean);
        if (codes.length || !orServer) return codes;
      } catch (error) {
        console.warn("BarcodeDetector failed; asking the server", error);
      }
    }
    const blob = await frameBlob(source, width, height);
    return blob ? decodeOnServer(blob) : [];
  }

  async function startCamera() {
    if (camera) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(text.textNoCamera);
      field.focus();
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      console.warn("no camera", error);
      say(text.textNoCamera);
      field.focus();
      return;
    }
    camera = { stream, detector: await detector(), timer: null, busy: false };
    video.srcObject = stream;
    cameraBox.hidden = false;
    start.hidden = true;
    stop.hidden = false;
    say(text.textLooking);
    try {
      await video.play();
    } catch (error) {
      console.warn("the video does not play", error);
    }
    schedule();
  }

  function schedule() {
    if (camera) camera.timer = window.setTimeout(scanFrame, SCAN_MS);
  }

  async function scanFrame() {
    const current = camera;
    if (!current || current.busy) return;
    if (document.hidden || video.readyState < 2 || !video.videoWidth) return schedule();
    current.busy = true;
    try {
      const codes = await readCodes(video, video.videoWidth, video.videoHeight, current.detector, false);
      const code = pick(codes);
      if (code && camera === current) return use(code);
    } catch (error) {
      console.warn("a frame could not be read", error); // the next one may do
    } finally {
      current.busy = false;
    }
    schedule();
  }

  function stopCamera() {
    const current = camera;
    if (!current) return;
    camera = null;
    window.clearTimeout(current.timer);
    for (const track of current.stream.getTracks()) track.stop();
    video.srcObject = null;
    cameraBox.hidden = true;
    stop.hidden = true;
    start.hidden = false;
    start.focus();
  }

  async function readPhoto() {
    const file = photo.files && photo.files[0];
    if (!file) return;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      say(text.textBadImage);
      return;
    } finally {
      photo.value = ""; // the same photo may be chosen again
    }
    try {
      const codes = await readCodes(bitmap, bitmap.width, bitmap.height, await detector(), true);
      const code = pick(codes);
      if (code) use(code);
      else say(text.textNoCode);
    } catch (error) {
      console.warn("the photo could not be read", error);
      say(text.textNoCode);
    } finally {
      bitmap.close();
    }
  }

  start.addEventListener("click", startCamera);
  stop.addEventListener("click", stopCamera);
  photo.addEventListener("change", readPhoto);
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) stopCamera(); // the camera is not kept on behind another tab
  });
  window.addEventListener("pagehide", stopCamera);
  tools.hidden = false;
})();
