import { ADAPTER_NODE_LLAMA_CPP_VERSION } from "../../src/engine/llama/adapter.js";
import { defaultNativeDir, findNativeBuild } from "../../src/engine/llama/nativeBuilds.js";

/**
 * Whether Duet's patched llama.cpp (npm run build:native) is here for the CPU backend. Tests that
 * need it skip with this reason locally, but fail where DUET_REQUIRE_PATCHED_LLAMA=1 (CI builds it).
 */
export function patchedLlamaAvailability(): { available: boolean; required: boolean; reason: string } {
  const build = findNativeBuild({
    nativeDir: defaultNativeDir(),
    backend: "cpu",
    nodeLlamaCppVersion: ADAPTER_NODE_LLAMA_CPP_VERSION,
  });
  return {
    available: build.found,
    required: process.env.DUET_REQUIRE_PATCHED_LLAMA === "1",
    reason: build.found ? `patched build ${build.manifest.key}` : build.reason,
  };
}
