// Goldbean (金豆): the volunteer scans a shop's counter code or an activity's check-in
// code (/me/scan) with the phone's camera, or from a photo.
//
// The camera and the photo are read by GoldbeanScanner (merchant_pos/static/scan.js, loaded
// before this file from /pos/static/scan.js; the till's page reads codes with it too). A
// browser without BarcodeDetector has a frame read by POST /me/scan/decode (with the
// X-CSRFToken header), which answers {"codes": [...]}. The code found goes into the form's
// "code" field and the form is sent, so the server decides where it leads, exactly as for
// a typed code. The words come from the page's data-text-* attributes (in the page's
// language). Without this script (or a camera) the form alone works.
"use strict";

(() => {
  const tools = document.getElementById("scan-tools");
  if (!tools || !window.fetch || !window.GoldbeanScanner) return;

  const SCAN_MS = 600; // between two frames
  // The codes of ledger/codes.py a volunteer scans, by first digit and length.
  const WANTED = new Set(["7:10", "5:13", "6:17"]);

  const $ = (id) => document.getElementById(id);
  const start = $("scan-start");
  const stop = $("scan-stop");
  const cameraBox = $("scan-camera");
  const photo = $("scan-photo");
  const status = $("scan-status");
  const form = $("scan-form");
  const field = $("code");
  const text = tools.dataset;

  function say(words) {
    status.textContent = words;
  }

  function use(code) {
    scanner.stop();
    say(text.textFound);
    if (navigator.vibrate) navigator.vibrate(80);
    field.value = code;
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
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

  const scanner = window.GoldbeanScanner.create({
    video: $("scan-video"),
    every: SCAN_MS,
    decode: decodeOnServer,
    prefer: (code) => /^\d+$/.test(code) && WANTED.has(`${code[0]}:${code.length}`),
    found: use,
    started() {
      cameraBox.hidden = false;
      start.hidden = true;
      stop.hidden = false;
      say(text.textLooking);
    },
    stopped() {
      cameraBox.hidden = true;
      stop.hidden = true;
      start.hidden = false;
      start.focus();
    },
    problem(kind, error) {
      if (kind === "no_camera") {
        say(text.textNoCamera);
        field.focus();
      } else if (kind === "bad_image") {
        say(text.textBadImage);
      } else if (kind === "no_code" || kind === "failed") {
        if (error) console.warn("the photo could not be read", error);
        say(text.textNoCode);
      } // "frame": the next one may do
    },
  });

  start.addEventListener("click", () => scanner.start());
  stop.addEventListener("click", () => scanner.stop());
  photo.addEventListener("change", () => scanner.readPhoto(photo));
  tools.hidden = false;
})();
