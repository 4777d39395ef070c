/** Microphone frames from the window: 16 kHz mono Float32, at most one second per message. */
export function isAudioFrame(value: unknown): value is Float32Array {
  return value instanceof Float32Array && value.length > 0 && value.length <= 16_000;
}
