// Goldbean (金豆): reading QR codes with the camera or from a photo, for the two pages
// that scan: the shop's till (/pos, pos.js) and the volunteer's scan page (/me/scan,
// api/static/web/me-scan.js). Both load this file from /pos/static/scan.js, before their
// own script; it defines one global, GoldbeanScanner, and touches nothing on the page
// until a page creates a scanner.
//
// The camera is read with getUserMedia, one frame every `every` ms, the next frame only
// once the last one is read. A browser with BarcodeDetector reads the QR code itself; any
// other has a small grey JPEG of the frame read by the page's server: `decode(blob)` is
// the page's own request (each page has its endpoint, credentials and way of answering a
// refusal) and gives the texts of the codes found. A photo goes to the server also when
// the browser's detector finds nothing in it. The camera is stopped when a code is found,
// and when the page is hidden (it is not kept on behind another tab).
//
// No words here: the page says what happened (`problem(kind, error)`) in its language.
//
//   const scanner = GoldbeanScanner.create({
//     video,                 // the <video> that shows the camera
//     every: 600,            // ms between two frames
//     decode: async (blob) => ["7000000000"],  // the server's reading of one JPEG
//     prefer: (code) => ..., // the code to take first when several are read (digits only)
//     found(code) {},        // a code was read (by the camera, which is stopped by now, or a photo)
//     started() {},          // the camera is on: show it
//     stopped() {},          // the camera is off: hide it
//     problem(kind, error) {},  // "no_camera", "bad_image", "no_code" (a photo without a
//                               // code), "failed" (a photo could not be read: error),
//                               // "frame" (a camera frame could not be read: error; the
//                               // next one will be tried unless the page stops the scanner)
//   });
//   scanner.start(); scanner.stop(); scanner.readPhoto(inputElement); scanner.running
"use strict";

window.GoldbeanScanner = (() => {
  const FRAME_SIDE = 640; // a frame sent to the server is downscaled to this
  // Under the servers' limit of 48 KiB (api/endpoints/pos.py, api/web/member_spend.py).
  const FRAME_BYTES = 45000;

  function digitsOf(text) {
    return String(text || "").replace(/[\s-]/g, "");
  }

  async function barcodeDetector() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    } catch {
      return null;
    }
  }

  function canvasBlob(canvas, quality) {
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  }

  // A grey JPEG of the source, at most FRAME_SIDE pixels on its long side and FRAME_BYTES
  // bytes (smaller and rougher until it fits).
  async function frameBlob(canvas, source, width, height) {
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
        const blob = await canvasBlob(canvas, quality);
        if (blob && blob.size <= FRAME_BYTES) return blob;
      }
      scale *= 0.75;
    }
    return null;
  }

  function create(options) {
    const { video, every, decode } = options;
    const prefer = options.prefer || (() => false);
    const canvas = document.createElement("canvas"); // never shown
    let camera = null; // {stream, detector, timer, busy}

    function tell(name, ...args) {
      if (typeof options[name] === "function") options[name](...args);
    }

    // The code to use among those read: one the page prefers, else the first.
    function pick(codes) {
      const cleaned = codes.map(digitsOf).filter(Boolean);
      return cleaned.find(prefer) || cleaned[0] || null;
    }

    // The texts of the QR codes in an image or video frame: read by the browser's detector
    // if there is one, else by the server. A photo the detector finds nothing in goes to
    // the server too (`orServer`); a camera frame does not (the next one may do).
    async function readCodes(source, width, height, detector, orServer) {
      if (detector) {
        try {
          const codes = (await detector.detect(source)).map((b) => b.rawValue).filter(Boolean);
          if (codes.length || !orServer) return codes;
        } catch (error) {
          console.warn("BarcodeDetector failed; asking the server", error);
        }
      }
      const blob = await frameBlob(canvas, source, width, height);
      return blob ? decode(blob) : [];
    }

    async function start() {
      if (camera) return;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        tell("problem", "no_camera");
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
        tell("problem", "no_camera", error);
        return;
      }
      camera = { stream, detector: await barcodeDetector(), timer: null, busy: false };
      video.srcObject = stream;
      tell("started");
      try {
        await video.play();
      } catch (error) {
        console.warn("the video does not play", error);
      }
      schedule();
    }

    function schedule() {
      if (camera) camera.timer = window.setTimeout(scanFrame, every);
    }

    async function scanFrame() {
      const current = camera;
      if (!current || current.busy) return;
      if (document.hidden || video.readyState < 2 || !video.videoWidth) return schedule();
      current.busy = true;
      try {
        const codes = await readCodes(video, video.videoWidth, video.videoHeight, current.detector, false);
        const code = pick(codes);
        if (code && camera === current) {
          stop();
          tell("found", code);
          return;
        }
      } catch (error) {
        console.warn("a frame could not be read", error); // the next one may do
        tell("problem", "frame", error);
      } finally {
        current.busy = false;
      }
      if (camera === current) schedule();
    }

    function stop() {
      const current = camera;
      if (!current) return;
      camera = null;
      window.clearTimeout(current.timer);
      for (const track of current.stream.getTracks()) track.stop();
      video.srcObject = null;
      tell("stopped");
    }

    // The code in the photo chosen with a file <input>, which is emptied for the next one.
    async function readPhoto(input) {
      const file = input.files && input.files[0];
      if (!file) return;
      let bitmap;
      try {
        bitmap = await createImageBitmap(file);
      } catch (error) {
        tell("problem", "bad_image", error);
        return;
      } finally {
        input.value = ""; // the same photo may be chosen again
      }
      try {
        const codes = await readCodes(bitmap, bitmap.width, bitmap.height, await barcodeDetector(), true);
        const code = pick(codes);
        if (code) tell("found", code);
        else tell("problem", "no_code");
      } catch (error) {
        tell("problem", "failed", error);
      } finally {
        bitmap.close();
      }
    }

    document.addEventListener("visibilitychange", () => {
      if (document.hidden) stop();
    });
    window.addEventListener("pagehide", stop);

    return {
      start,
      stop,
      readPhoto,
      get running() {
        return camera !== null;
      },
    };
  }

  return Object.freeze({ create });
})();
