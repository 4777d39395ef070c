import { describe, expect, it } from "vitest";
import { describeDevice } from "../../../src/engine/session/assistant.js";

describe("where the model runs, in words", () => {
  it("names the GPU backend and device, and says CPU when no layer went to the GPU", () => {
    expect(describeDevice("vulkan", { layers: 29, device: "AMD Radeon 780M" })).toBe(
      "Vulkan GPU (AMD Radeon 780M)",
    );
    expect(describeDevice("cuda", { layers: 41 })).toBe("CUDA GPU");
    // A Vulkan backend with no GPU memory (a software device) keeps every layer on the CPU.
    expect(describeDevice("vulkan", { layers: 0, device: "llvmpipe" })).toBe("CPU");
    expect(describeDevice(false)).toBe("CPU");
  });
});
