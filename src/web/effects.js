// Canvas effects that are really sent: the camera frame is drawn into a canvas, processed, and canvas.captureStream()
// gives a new video track that replaces the outgoing one with RTCRtpSender.replaceTrack() (no renegotiation,
// WebRTC 1.0 §5.2). Pixel work uses getImageData so it works where CanvasRenderingContext2D.filter does not (Safari).

export const CANVAS_EFFECTS = ['none', 'grayscale', 'sepia', 'invert', 'mirror', 'pixelate', 'clock'];

export class EffectPipeline {
  /** @param {MediaStreamTrack} source  the camera or screen track */
  constructor(source, effect, fps = 30) {
    this.effect = effect;
    this.video = document.createElement('video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = new MediaStream([source]);
    const s = source.getSettings();
    this.canvas = document.createElement('canvas');
    this.canvas.width = s.width || 640;
    this.canvas.height = s.height || 480;
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    this.fps = s.frameRate || fps;
    this.stream = this.canvas.captureStream(this.fps);
    this.track = this.stream.getVideoTracks()[0];
    this.running = true;
    this.video.play().catch(() => {});
    // A timer, not requestAnimationFrame: rAF stops in background tabs, and a sender must keep sending.
    this.timer = setInterval(() => this.draw(), Math.max(10, Math.floor(1000 / this.fps)));
  }

  draw() {
    const { video, canvas, ctx } = this;
    if (!this.running || video.readyState < 2) return;
    if (video.videoWidth && (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight)) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
    }
    const w = canvas.width;
    const h = canvas.height;
    ctx.save();
    if (this.effect === 'mirror') {
      ctx.translate(w, 0);
      ctx.scale(-1, 1);
    }
    if (this.effect === 'pixelate') {
      const f = 12;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(video, 0, 0, w / f, h / f);
      ctx.drawImage(canvas, 0, 0, w / f, h / f, 0, 0, w, h);
    } else {
      ctx.drawImage(video, 0, 0, w, h);
    }
    ctx.restore();
    if (this.effect === 'grayscale' || this.effect === 'sepia' || this.effect === 'invert') {
      const img = ctx.getImageData(0, 0, w, h);
      const d = img.data;
      for (let i = 0; i < d.length; i += 4) {
        const r = d[i];
        const g = d[i + 1];
        const b = d[i + 2];
        if (this.effect === 'invert') {
          d[i] = 255 - r;
          d[i + 1] = 255 - g;
          d[i + 2] = 255 - b;
        } else if (this.effect === 'grayscale') {
          const y = 0.299 * r + 0.587 * g + 0.114 * b;
          d[i] = d[i + 1] = d[i + 2] = y;
        } else {
          d[i] = Math.min(255, 0.393 * r + 0.769 * g + 0.189 * b);
          d[i + 1] = Math.min(255, 0.349 * r + 0.686 * g + 0.168 * b);
          d[i + 2] = Math.min(255, 0.272 * r + 0.534 * g + 0.131 * b);
        }
      }
      ctx.putImageData(img, 0, 0);
    }
    if (this.effect === 'clock') {
      ctx.font = `${Math.round(h / 12)}px monospace`;
      ctx.fillStyle = 'rgba(0,0,0,0.6)';
      ctx.fillRect(0, h - h / 8, w, h / 8);
      ctx.fillStyle = '#fff';
      ctx.fillText(new Date().toISOString().slice(11, 23), w / 40, h - h / 32);
    }
  }

  stop() {
    this.running = false;
    clearInterval(this.timer);
    this.track.stop();
    this.video.srcObject = null;
  }
}
