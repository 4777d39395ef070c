/**
 * Microphone capture: getUserMedia into an AudioContext running at 16 kHz (the browser
 * resamples), an AudioWorklet cutting 20 ms frames, and a level for the meter.
 */
export interface Capture {
  stop(): void;
}

/** The microphone cannot be used; the message says why and what to do. */
export class MicrophoneError extends Error {}

export async function startCapture(
  onFrame: (samples: Float32Array) => void,
  onLevel: (level: number) => void,
): Promise<Capture> {
  if (!navigator.mediaDevices?.getUserMedia)
    throw new MicrophoneError("This window cannot use a microphone.");
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (error) {
    const name = (error as DOMException).name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      throw new MicrophoneError(
        "Duet may not use the microphone. Allow it in your system's privacy settings, or type instead.",
      );
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      throw new MicrophoneError("No microphone was found. Connect one, or type instead.");
    }
    throw new MicrophoneError(`The microphone could not start: ${(error as Error).message}`);
  }
  const context = new AudioContext({ sampleRate: 16000 });
  await context.audioWorklet.addModule(new URL("./captureWorklet.js", import.meta.url));
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, "duet-capture");
  node.port.onmessage = (event: MessageEvent<{ samples: Float32Array; level: number }>) => {
    onFrame(event.data.samples);
    onLevel(event.data.level);
  };
  source.connect(node);
  return {
    stop() {
      node.port.onmessage = null;
      source.disconnect();
      node.disconnect();
      for (const track of stream.getTracks()) track.stop();
      void context.close();
      onLevel(0);
    },
  };
}
