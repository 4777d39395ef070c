import { describe, expect, it } from "vitest";
import { AppHost } from "../../src/main/host/appHost.js";
import { handleRequest } from "../../src/main/ipc/requests.js";

/** No engine and no hardware probe are started by this request. */
const never = {
  launch: () => {
    throw new Error("no process in this test");
  },
};

function host(openLogsFolder?: () => Promise<{ path: string }>) {
  return new AppHost({
    dataDir: "/tmp/duet-unused",
    modelsDir: "/tmp/duet-unused/models",
    launcher: never,
    probeLauncher: never,
    emit: () => {},
    emitAudio: () => {},
    ...(openLogsFolder ? { openLogsFolder } : {}),
  });
}

describe('the window\'s "Open logs folder" request', () => {
  it("opens the folder through the desktop shell and answers its path", async () => {
    let opened = 0;
    const handlers = host(async () => (opened++, { path: "/data/duet/logs" })).handlers;
    expect(await handleRequest(handlers, "app:open-logs-folder", {})).toEqual({ path: "/data/duet/logs" });
    expect(opened).toBe(1);
  });

  it("refuses arguments, and says where it works when there is no desktop shell (the browser harness)", async () => {
    const handlers = host(async () => ({ path: "/x" })).handlers;
    await expect(handleRequest(handlers, "app:open-logs-folder", { path: "/etc" })).rejects.toThrow(
      /Invalid app:open-logs-folder request/,
    );
    await expect(handleRequest(host().handlers, "app:open-logs-folder", {})).rejects.toThrow(
      "Opening the logs folder works in the desktop app.",
    );
  });
});
