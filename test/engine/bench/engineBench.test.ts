/**
 * npm run bench:engine on a generated one-layer model: the report's shape and the policy it names
 * as the default (the numbers themselves are the benchmark's business, not a test's).
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { tinyModelPath } from "../../helpers/models.js";
import { patchedLlamaAvailability } from "../../helpers/patchedLlama.js";

interface PolicyReport {
  placement: string;
  thoughtSharing: string;
  stepMs: number;
  plainStepMs: number;
  twoStreamStepMs: number;
  overhead: number;
  lagMax: number;
  aggregateRatio: number;
}
interface BenchReport {
  binary: "stock" | "patched";
  defaultPolicy: string;
  plainStepMs: number;
  twoStreamStepMs: number;
  asyncStepMs: number;
  asyncOverhead: number;
  thoughtLagMax: number;
  aggregateRatio: number;
  policies: Record<string, PolicyReport>;
}

describe("npm run bench:engine", () => {
  it("reports every policy against baselines measured right before it, and names the default auto picks", async () => {
    const model = await tinyModelPath({ arch: "qwen3", layers: 1, vocabularySize: 6000, seed: 91 });
    const result = await runCli(
      "../bench/engineBench.ts",
      ["--json", "--quick", "--model", model, "--steps", "40", "--context", "2048", "--threads", "1"],
      { timeoutMs: 240_000 },
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as BenchReport;
    const policies = Object.entries(report.policies);
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const [name, policy] of policies) {
      expect(policy.twoStreamStepMs, name).toBeGreaterThan(0);
      expect(policy.overhead, name).toBeCloseTo(policy.stepMs / policy.twoStreamStepMs, 2);
      expect(policy.aggregateRatio, name).toBeCloseTo((2 * policy.plainStepMs) / policy.stepMs, 2);
    }
    const chosen = report.policies[report.defaultPolicy];
    expect(chosen, report.defaultPolicy).toBeDefined();
    expect(report.asyncOverhead).toBe(chosen!.overhead);
    expect(report.thoughtLagMax).toBe(chosen!.lagMax);
    const patched = patchedLlamaAvailability();
    if (patched.available || patched.required) {
      // Duet's build: gaps, every thought shared at once.
      expect(report.binary).toBe("patched");
      expect(report.defaultPolicy).toBe("patched/gap/every-step");
      expect(report.thoughtLagMax).toBe(0);
    } else {
      expect(report.defaultPolicy).toBe("stock/rotate/chunks");
    }
  });
});
