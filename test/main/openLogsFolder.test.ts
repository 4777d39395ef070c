import { describe, expect, it } from "vitest";
import { AppHost } from "../../src/main/host/appHost.js";
import type { WorkerLauncher } from "../../src/main/host/engineHost.js";

const noEngine: WorkerLauncher = {
  launch: () => {
    throw new Error("no engine in this test");
  },
};

function host(openLogsFolder?: () => Promise<{ path: string }>) {
  return new AppHost({
    dataDir: "/tmp/duet-unused",
    modelsDir: "/tmp/duet-unused/models",
    launcher: noEngine,
    emit: () => {},
    emitAudio: () => {},
    ...(openLogsFolder ? { openLogsFolder } : {}),
  });
}

describe('the window\'s "Open logs folder" request', () => {
  it("opens the folder through the desktop shell and answers its path", async () => {
    let opened = 0;
    const reply = await host(async () => (opened++, { path: "/data/duet/logs" })).request(
      "app:open-logs-folder",
      {},
    );
    expect(reply).toEqual({ path: "/data/duet/logs" });
    expect(opened).toBe(1);
  });

  it("refuses arguments, and says where it works when there is no desktop shell (the browser harness)", async () => {
    await expect(
      host(async () => ({ path: "/x" })).request("app:open-logs-folder", { path: "/etc" }),
    ).rejects.toThrow(/Invalid app:open-logs-folder request/);
    await expect(host().request("app:open-logs-folder", {})).rejects.toThrow(
      "Opening the logs folder works in the desktop app.",
    );
  });
});
