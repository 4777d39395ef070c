/**
 * The update check against a local HTTP server laid out like GitHub releases (the releases feed,
 * the latest release's tag, and latest-linux.yml), through electron-updater itself with a
 * Node HTTP client in place of Electron's.
 */
import { createHash } from "node:crypto";
import { request as httpRequest, type ClientRequest, type RequestOptions } from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  configureRequestOptions,
  configureRequestUrl,
  HttpExecutor,
  type DownloadOptions,
} from "builder-util-runtime";
import updaterModule from "electron-updater";
import { afterAll, describe, expect, it } from "vitest";
import { startUpdateService, type AutoUpdaterLike } from "../../src/main/updates/autoUpdate.js";
import {
  checkForUpdate,
  describeUpdateError,
  githubRepository,
  type UpdateStatus,
} from "../../src/main/updates/updateCheck.js";
import { startFileServer, type Route, type TestServer } from "../helpers/fileServer.js";

const { owner, repo } = githubRepository(
  (JSON.parse(readFileSync("package.json", "utf8")) as { homepage: string }).homepage,
);

/** Node's HTTP client where electron-updater would use Electron's (which needs Electron). */
class NodeHttpExecutor extends HttpExecutor<ClientRequest> {
  createRequest(options: RequestOptions, callback: (response: unknown) => void): ClientRequest {
    return httpRequest(options, callback);
  }

  /** What Electron's executor adds to the base: a download into a file. */
  download(url: URL, destination: string, options: DownloadOptions): Promise<string> {
    return options.cancellationToken.createPromise<string>((resolve, reject, onCancel) => {
      const requestOptions: RequestOptions = { headers: options.headers ?? undefined };
      configureRequestUrl(url, requestOptions);
      configureRequestOptions(requestOptions);
      this.doDownload(
        requestOptions,
        {
          destination,
          options,
          onCancel,
          callback: (error) => (error ? reject(error) : resolve(destination)),
          responseHandler: null,
        },
        0,
      );
    });
  }
}

/** electron-updater's Linux updater with a fake Electron app (version 0.1.0, packaged). */
function updater(host: string) {
  // What electron-builder writes into a packaged app's resources (from `publish`).
  const appUpdateConfigPath = join(mkdtempSync(join(tmpdir(), "duet-resources-")), "app-update.yml");
  writeFileSync(
    appUpdateConfigPath,
    `provider: github\nowner: ${owner}\nrepo: ${repo}\nupdaterCacheDirName: duet-updater\n`,
  );
  const appAdapter = {
    version: "0.1.0",
    name: "Duet",
    isPackaged: true,
    appUpdateConfigPath,
    userDataPath: mkdtempSync(join(tmpdir(), "duet-updater-")),
    baseCachePath: mkdtempSync(join(tmpdir(), "duet-updater-cache-")),
    whenReady: () => Promise.resolve(),
    relaunch: () => {},
    quit: () => {},
    onQuit: () => {},
  };
  const u = new updaterModule.DebUpdater(null, appAdapter);
  Object.assign(u, { httpExecutor: new NodeHttpExecutor() });
  u.autoDownload = false;
  u.logger = null;
  u.setFeedURL({ provider: "github", owner, repo, host, protocol: "http" });
  return u;
}

const channelFile = `latest-linux${process.arch === "x64" ? "" : `-${process.arch}`}.yml`;

/** A release on the fake GitHub: its feed entry, its tag, its update file and (maybe) its package. */
function release(version: string, yml?: Route, deb?: Buffer): Record<string, Route> {
  const tag = `v${version}`;
  const feed = `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <entry>
    <id>tag:github.com,2008:Repository/1/${tag}</id>
    <updated>2026-11-01T00:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://github.com/${owner}/${repo}/releases/tag/${tag}"/>
    <title>${version}</title>
    <content type="html">Better listening.</content>
  </entry>
</feed>`;
  const body = deb ?? Buffer.from("a Debian package");
  const sha512 = createHash("sha512").update(body).digest("base64");
  const info = `version: ${version}
files:
  - url: Duet-${version}.deb
    sha512: ${sha512}
    size: ${body.length}
path: Duet-${version}.deb
sha512: ${sha512}
releaseDate: '2026-11-01T00:00:00.000Z'
`;
  return {
    [`/${owner}/${repo}/releases.atom`]: { body: Buffer.from(feed) },
    [`/api/v3/repos/${owner}/${repo}/releases/latest`]: {
      body: Buffer.from(JSON.stringify({ tag_name: tag })),
    },
    [`/${owner}/${repo}/releases/download/${tag}/${channelFile}`]: yml ?? { body: Buffer.from(info) },
    ...(deb ? { [`/${owner}/${repo}/releases/download/${tag}/Duet-${version}.deb`]: { body: deb } } : {}),
  };
}

const servers: TestServer[] = [];
async function serve(routes: Record<string, Route>): Promise<string> {
  const server = await startFileServer(routes);
  servers.push(server);
  return new URL(server.url).host;
}
afterAll(async () => {
  for (const s of servers) await s.close();
});

describe("checking for updates (GitHub releases, served locally)", () => {
  it("finds a newer version, and says so in words", async () => {
    const status = await checkForUpdate(updater(await serve(release("0.2.0"))));
    expect(status).toEqual({
      state: "available",
      version: "0.2.0",
      message:
        "Duet 0.2.0 is available (you have 0.1.0); it is downloaded in the background and installed when you quit.",
    });
  });

  it("says Duet is up to date when the latest release is this version", async () => {
    expect(await checkForUpdate(updater(await serve(release("0.1.0"))))).toEqual({
      state: "up-to-date",
      version: "0.1.0",
      message: "Duet 0.1.0 is up to date.",
    });
  });

  it("explains a failing or damaged release in words", async () => {
    const failing = await serve(release("0.2.0", { body: Buffer.alloc(0), behave: () => "500" }));
    expect(await checkForUpdate(updater(failing))).toEqual({
      state: "error",
      message: "The update check failed: the update server answered 500.",
    });
    const damaged = await serve(release("0.2.0", { body: Buffer.from("version: [not, a, version\n") }));
    expect(await checkForUpdate(updater(damaged))).toMatchObject({
      state: "error",
      message: expect.stringMatching(/^The update check failed: .{10,}$/),
    });
    const missing = await serve({
      ...release("0.2.0"),
      [`/${owner}/${repo}/releases/download/v0.2.0/${channelFile}`]: {
        body: Buffer.alloc(0),
        behave: () => "404",
      },
    });
    expect(await checkForUpdate(updater(missing))).toEqual({
      state: "error",
      message: "The update check failed: the latest release has no update for this system.",
    });
  });

  it("says there is no connection when the server cannot be reached (closed port, unknown host)", async () => {
    const closed = await startFileServer({});
    const host = new URL(closed.url).host;
    await closed.close();
    for (const unreachable of [host, "updates.duet.invalid"]) {
      expect(await checkForUpdate(updater(unreachable))).toEqual({
        state: "offline",
        message:
          "Duet could not reach the update server: there seems to be no internet connection. It will check again later.",
      });
    }
    // Electron's network errors read the same.
    expect(describeUpdateError(new Error("net::ERR_INTERNET_DISCONNECTED")).state).toBe("offline");
  });
});

describe("the update service", () => {
  it("is off in development: electron-updater is not even loaded", async () => {
    const statuses: string[] = [];
    let loaded = false;
    const service = startUpdateService({
      packaged: false,
      loadUpdater: async () => ((loaded = true), {} as AutoUpdaterLike),
      log: () => {},
      onStatus: (s) => statuses.push(s.state),
    });
    expect(await service.checkNow()).toMatchObject({ state: "off" });
    expect(loaded).toBe(false);
    expect(statuses).toEqual(["off"]);
  });

  /** Runs the service on a packaged app against `host` until `until` is reported. */
  async function runService(host: string, until: UpdateStatus["state"]) {
    const u = updater(host);
    const statuses: UpdateStatus[] = [];
    const lines: string[] = [];
    let reached!: () => void;
    const done = new Promise<void>((r) => (reached = r));
    const service = startUpdateService({
      packaged: true,
      loadUpdater: async () => u as unknown as AutoUpdaterLike,
      log: (level, text) => lines.push(`${level}: ${text}`),
      onStatus: (s) => {
        statuses.push(s);
        if (s.state === until) reached();
      },
      intervalMs: 3_600_000,
    });
    await done;
    service.stop();
    return { u, statuses, lines };
  }

  it("in a packaged app, downloads the update in the background to install on quit, and says each step", async () => {
    const host = await serve(release("0.2.0", undefined, Buffer.from("the new Duet")));
    const { u, statuses, lines } = await runService(host, "downloaded");
    expect(u.autoDownload).toBe(true);
    expect(u.autoInstallOnAppQuit).toBe(true);
    expect(statuses.map((s) => s.state)).toEqual(["checking", "available", "downloaded"]);
    expect(statuses.at(-1)!.message).toBe("Duet 0.2.0 is ready: it will be installed when you quit.");
    expect(lines).toContain(
      "info: Duet 0.2.0 is available (you have 0.1.0); it is downloaded in the background and installed when you quit.",
    );
    expect(lines.some((l) => l.startsWith("info: updater: "))).toBe(true); // electron-updater's own log
  });

  it("says in words when the download fails", async () => {
    const routes = release("0.2.0", undefined, Buffer.from("the new Duet"));
    routes[`/${owner}/${repo}/releases/download/v0.2.0/Duet-0.2.0.deb`]!.behave = () => "404";
    const { statuses } = await runService(await serve(routes), "error");
    expect(statuses.map((s) => s.state)).toEqual(["checking", "available", "error"]);
    expect(statuses.at(-1)!.message).toBe(
      "Duet 0.2.0 could not be downloaded: the update server answered 404.",
    );
  });

  it("publishes to the GitHub repository named by package.json's homepage", () => {
    const config = readFileSync("electron-builder.yml", "utf8");
    const publish = /^publish:\n((?: {2}.*\n)+)/m.exec(config)?.[1] ?? "";
    expect(publish).toMatch(/^ {2}provider: github$/m);
    expect(publish).toMatch(new RegExp(`^ {2}owner: ${owner}$`, "m"));
    expect(publish).toMatch(new RegExp(`^ {2}repo: ${repo}$`, "m"));
  });
});
