import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listPackage } from "@electron/asar";
import { describe, expect, it } from "vitest";
import { patchedLlamaAvailability } from "../helpers/patchedLlama.js";

describe("packaging (electron-builder --linux dir against a stub Electron)", () => {
  it("packs the app into asar, unpacks only this platform's native builds, and leaves out dev files", () => {
    const report = JSON.parse(
      execFileSync(process.execPath, ["build/checkPackaging.mjs", "--json", "--keep"], { timeout: 240_000 })
        .toString()
        .trim()
        .split("\n")
        .at(-1)!,
    ) as {
      output: string;
      nodeLlamaCppBuilds: string[];
      whisperBuilds: string[];
      sherpaBuilds: string[];
      uiohookPrebuilds: string[];
      patchedLlamaBuilds: string[];
      asarBytes: number;
      unpackedBytes: number;
      fuses: Record<string, boolean>;
      appUpdateConfig: string | null;
      logFile: string;
      crashDumps: string;
      electronData: string;
      dataFolder: string;
    };
    expect(report.nodeLlamaCppBuilds.sort()).toEqual(["linux-x64", "linux-x64-vulkan"]);
    expect(report.whisperBuilds.sort()).toEqual([
      "node-whisper-linux-x64",
      "node-whisper-linux-x64-vulkan",
      "whisper.node",
    ]);
    expect(report.sherpaBuilds.sort()).toEqual(["sherpa-onnx-linux-x64", "sherpa-onnx-node"]);
    expect(report.uiohookPrebuilds).toEqual(["linux-x64"]);
    // Duet's own llama.cpp build goes with the app (outside the asar) when this machine made one.
    const patched = patchedLlamaAvailability();
    if (patched.available || patched.required) {
      expect(report.patchedLlamaBuilds).toHaveLength(1);
      expect(patched.reason).toContain(report.patchedLlamaBuilds[0]!);
    } else expect(report.patchedLlamaBuilds).toEqual([]);
    const files = listPackage(join(report.output, "linux-unpacked", "resources", "app.asar"), {
      isPack: false,
    });
    for (const f of [
      "/out/main/index.js",
      "/out/main/engineWorker.js",
      "/out/preload/index.cjs",
      "/out/renderer/index.html",
      "/package.json",
    ])
      expect(files).toContain(f);
    expect(files.some((f) => f.startsWith("/out/native/"))).toBe(false);
    expect(files.some((f) => f.startsWith("/src/") || f.startsWith("/test/") || f.endsWith(".map"))).toBe(
      false,
    );
    expect(
      files.some(
        (f) =>
          f.includes("onnxruntime-web") ||
          f.includes("/node_modules/react/") ||
          f.includes("/node_modules/vite/"),
      ),
    ).toBe(false);
    expect(files).toContain("/node_modules/speech-rule-engine/lib/sre.js");
    // The updater ships, with the tray icons.
    expect(files).toContain("/node_modules/electron-updater/out/main.js");
    for (const state of ["idle", "listening", "thinking", "speaking"])
      expect(
        files.some((f) => new RegExp(`^/out/main/chunks/${state}-[\\w-]+\\.png$`).test(f)),
        state,
      ).toBe(true);
    // The fuses electron-builder flipped in the packaged binary.
    expect(report.fuses).toMatchObject({
      RunAsNode: false,
      EnableCookieEncryption: true,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
    });
    // Updates come from the GitHub releases of package.json's homepage.
    expect(report.appUpdateConfig).toMatch(/provider: github/);
    expect(report.appUpdateConfig).toMatch(/owner: duet-assistant/);
    expect(report.appUpdateConfig).toMatch(/repo: duet/);
    // One folder: the log, the crash dumps and Electron's data are inside Duet's data folder.
    expect(report.logFile).toBe(join(report.dataFolder, "logs", "duet.log"));
    expect(report.crashDumps).toBe(join(report.dataFolder, "crash-dumps"));
    expect(report.electronData).toBe(join(report.dataFolder, "electron"));
    // Size budget, so a dependency change that bloats the installer is noticed.
    expect(report.asarBytes).toBeLessThan(80e6);
    expect(report.unpackedBytes).toBeLessThan(260e6);
  }, 300_000);

  it("passes electronegativity with every finding above low severity explained", () => {
    const build = mkdtempSync(join(tmpdir(), "duet-security-build-"));
    execFileSync(process.execPath, ["build/build.mjs", "--out", build], { stdio: "ignore" });
    const scan = spawnSync(process.execPath, ["build/securityScan.mjs", build], {
      timeout: 240_000,
      encoding: "utf8",
    });
    const output = `${scan.stdout}${scan.stderr}`;
    expect(scan.status, output).toBe(0);
    expect(output).toMatch(/\d+ findings, \d+ above low severity, 0 unexplained\./);
    // The hardening that removed these findings must stay.
    expect(output).not.toContain("AUXCLICK_JS_CHECK");
    expect(output).not.toContain("OPEN_EXTERNAL_JS_CHECK");
    expect(output).not.toContain("NODE_INTEGRATION");
    expect(output).not.toContain("CONTEXT_ISOLATION");
  }, 300_000);
});
