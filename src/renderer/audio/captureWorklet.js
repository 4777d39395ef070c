/* global AudioWorkletProcessor, registerProcessor */
// AudioWorklet: collects microphone samples (the context runs at 16 kHz) into 20 ms frames and
// reports their level. Plain JavaScript: worklets are loaded as separate module files.
class DuetCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(320);
    this.filled = 0;
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.frame[this.filled++] = channel[i];
      if (this.filled === this.frame.length) {
        let sum = 0;
        for (let k = 0; k < this.frame.length; k++) sum += this.frame[k] * this.frame[k];
        this.port.postMessage({ samples: this.frame, level: Math.sqrt(sum / this.frame.length) }, [
          this.frame.buffer,
        ]);
        this.frame = new Float32Array(320);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor("duet-capture", DuetCapture);
