import { createRequire } from "node:module";
import { DuetError } from "../errors.js";

/** sherpa-onnx's Node binding, loaded at run time; `T` describes the part of it the caller uses. */
export function loadSherpaOnnx<T>(): T {
  try {
    return createRequire(import.meta.url)("sherpa-onnx-node") as T;
  } catch (error) {
    throw new DuetError("model-unreadable", `sherpa-onnx could not be loaded: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
