import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAppLog } from "../../src/main/logging/appLog.js";
import { LineSplitter, LogFile } from "../../src/main/logging/logFile.js";

const clock = () => new Date("2026-11-29T12:00:00.000Z");

describe("Duet's log file", () => {
  it("stamps each line with the time, the process and the level", () => {
    const folder = join(mkdtempSync(join(tmpdir(), "duet-log-")), "logs");
    const log = new LogFile({ folder, now: clock });
    log.write("main", "Duet starting");
    log.write("engine", "line one\r\nline two\n\n", "warn");
    log.close();
    expect(readFileSync(join(folder, "duet.log"), "utf8")).toBe(
      "2026-11-29T12:00:00.000Z [main] info: Duet starting\n" +
        "2026-11-29T12:00:00.000Z [engine] warn: line one\n" +
        "2026-11-29T12:00:00.000Z [engine] warn: line two\n",
    );
  });

  it("rotates by size, keeps a few files, and loses no line in between", () => {
    const folder = mkdtempSync(join(tmpdir(), "duet-log-"));
    const log = new LogFile({ folder, maxBytes: 400, keep: 2, now: clock });
    for (let i = 0; i < 40; i++) log.write("engine", `line ${String(i).padStart(2, "0")}`);
    log.close();
    const files = [log.rotatedPath(2), log.rotatedPath(1), log.path];
    for (const f of files) {
      expect(existsSync(f), f).toBe(true);
      expect(statSync(f).size).toBeLessThanOrEqual(400);
    }
    expect(existsSync(log.rotatedPath(3))).toBe(false);
    // Oldest to newest, the kept files hold consecutive lines ending with the last one written.
    const numbers = files
      .flatMap((f) => readFileSync(f, "utf8").trim().split("\n"))
      .map((l) => Number(/line (\d+)$/.exec(l)![1]));
    expect(numbers.at(-1)).toBe(39);
    numbers.forEach((n, i) => i > 0 && expect(n).toBe(numbers[i - 1]! + 1));
    expect(numbers.length).toBeLessThan(40); // the oldest were dropped with the oldest file
  });

  it("switches itself off with the reason when the folder cannot be written, without throwing", () => {
    const parent = mkdtempSync(join(tmpdir(), "duet-log-"));
    writeFileSync(join(parent, "logs"), "a file where the folder should be");
    const log = new LogFile({ folder: join(parent, "logs") });
    expect(() => log.write("main", "hello")).not.toThrow();
    expect(log.problem).toMatch(/^Duet cannot write its log file .*duet\.log: /);
    expect(() => log.write("main", "again")).not.toThrow();
  });

  it("cuts a child's output into lines, whatever the chunks", () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l));
    splitter.push("whisper_init: load");
    splitter.push("ing model\r\nllama: ok\nparti");
    splitter.push(Buffer.from("al"));
    expect(lines).toEqual(["whisper_init: loading model", "llama: ok"]);
    splitter.flush();
    expect(lines).toEqual(["whisper_init: loading model", "llama: ok", "partial"]);
  });

  it("logs engine status changes and errors from the app's events", () => {
    const folder = mkdtempSync(join(tmpdir(), "duet-log-"));
    const log = openAppLog(folder, { echo: false });
    log.event({
      type: "engine",
      engine: { status: "crashed", message: "The engine stopped", restartInMs: 500 },
    });
    log.event({ type: "error", stage: "stt", message: "no words were recognised" });
    log.event({ type: "state", state: "thinking" }); // not worth a line
    log.engineOutput("ggml_vulkan: failed to allocate", "stderr");
    log.file.close();
    const lines = readFileSync(log.file.path, "utf8").trim().split("\n");
    expect(lines.map((l) => l.replace(/^\S+ /, ""))).toEqual([
      "[main] error: engine crashed: The engine stopped",
      "[main] error: stt: no words were recognised",
      "[engine] error: ggml_vulkan: failed to allocate",
    ]);
  });
});
