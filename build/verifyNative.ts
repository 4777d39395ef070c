/**
 * tsx build/verifyNative.ts <backend>
 *
 * Loads the patched build marked current for <backend> through the adapter, on a generated tiny
 * model, and checks that it decodes into a gap and copies cells. build/buildNative.ts runs it in a
 * child process after a build: a binary that dies on this CPU (an illegal instruction, say) then
 * fails the build instead of the first test or the app.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLlama } from "../src/engine/llama/adapter.js";
import { NATIVE_BACKENDS, type NativeBackend } from "../src/engine/llama/nativeBuilds.js";
import { writeTinyModel } from "../src/engine/tiny-model/tinyModel.js";

async function main(): Promise<void> {
  const backend = process.argv[2] as NativeBackend;
  if (!NATIVE_BACKENDS.includes(backend)) throw new Error(`Unknown backend "${process.argv[2]}".`);
  const dir = mkdtempSync(join(tmpdir(), "duet-verify-"));
  try {
    const modelPath = join(dir, "tiny.gguf");
    // q8_0 weights take the quantized matrix kernels (AMX on CPUs that have it), where a badly
    // targeted build fails first.
    await writeTinyModel(modelPath, { layers: 2, embedding: 128, type: "q8_0", seed: 5 });
    const session = await openLlama({ modelPath, gpu: backend, contextSize: 256, binary: "patched" });
    try {
      const { binary, capabilities } = session.description;
      const [logits] = await session.runtime.decode([
        { sequence: 0, firstPosition: 0, tokens: [1, 2, 3, 4], logitIndex: 3 },
      ]);
      const token = await session.runtime.sample(logits!, session.runtime.createSampler({}));
      if (binary !== "patched" || !capabilities.gapDecode || !capabilities.kvCopy || token < 0) {
        throw new Error(`the build loaded as ${binary} with ${JSON.stringify(capabilities)}`);
      }
      process.stdout.write(`verified: patched build decodes into gaps and copies cells (${backend})\n`);
    } finally {
      await session.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`verify: ${(error as Error).message}\n`);
  process.exit(1);
});
