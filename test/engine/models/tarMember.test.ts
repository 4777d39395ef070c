import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { extractTarMember } from "../../../src/engine/models/tarMember.js";
import { bytes, sha256 } from "../../helpers/fileServer.js";

const MODEL = bytes(70_000, 4);
const folder = () => mkdtempSync(join(tmpdir(), "duet-tar-"));

/** A .tgz of `files` made by the system's tar in the given format. */
function systemTarball(files: Record<string, Buffer>, format: "gnu" | "pax" | "ustar"): string {
  const dir = folder();
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, "in", name)), { recursive: true });
    writeFileSync(join(dir, "in", name), body);
  }
  const archive = join(dir, "archive.tgz");
  execFileSync("tar", [`--format=${format}`, "-czf", archive, "-C", join(dir, "in"), ...Object.keys(files)]);
  return archive;
}

/** One ustar header block, written by hand (for the cases a real tar never writes). */
function header(
  name: string,
  size: number,
  options: { type?: string; base256?: boolean; prefix?: string; sizeText?: string } = {},
) {
  const block = Buffer.alloc(512);
  block.write(name, 0, "utf8");
  block.write("0000644\0", 100);
  if (options.base256) {
    block[124] = 0x80;
    block.writeUIntBE(size, 12 + 124 - 6, 6);
  } else block.write(options.sizeText ?? `${size.toString(8).padStart(11, "0")}\0`, 124);
  block.write(options.type ?? "0", 156);
  block.write("ustar\0", 257);
  block.write("00", 263);
  if (options.prefix) block.write(options.prefix, 345);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return block;
}
/** A PAX record: "LENGTH key=value\n", LENGTH counting the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length++;
  return `${length}${body}`;
}
const padded = (body: Buffer) => Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
const END = Buffer.alloc(1024);

function handmade(...parts: Buffer[]): string {
  const archive = join(folder(), "archive.tgz");
  writeFileSync(archive, gzipSync(Buffer.concat(parts)));
  return archive;
}

describe("taking one file out of a .tgz", () => {
  it("finds the member among others and returns its size and sha256", async () => {
    for (const format of ["gnu", "pax", "ustar"] as const) {
      const archive = systemTarball(
        {
          "package/README.md": Buffer.from("readme"),
          "package/dist/silero_vad_legacy.onnx": bytes(1000, 2),
          "package/dist/silero_vad_v5.onnx": MODEL,
        },
        format,
      );
      const out = join(folder(), "silero_vad.onnx");
      expect(await extractTarMember(archive, "package/dist/silero_vad_v5.onnx", out)).toEqual({
        bytes: MODEL.length,
        sha256: sha256(MODEL),
      });
      expect(readFileSync(out).equals(MODEL)).toBe(true);
    }
  });

  it("reads long member names (GNU long-name and PAX records) and the ustar prefix", async () => {
    const long = `package/${"deep/".repeat(30)}model.onnx`;
    for (const format of ["gnu", "pax"] as const) {
      const archive = systemTarball({ "package/a.txt": Buffer.from("a"), [long]: MODEL }, format);
      const out = join(folder(), "out");
      expect((await extractTarMember(archive, long, out)).sha256).toBe(sha256(MODEL));
    }
    const prefixed = handmade(
      header("model.onnx", MODEL.length, { prefix: "package/dist" }),
      padded(MODEL),
      END,
    );
    expect((await extractTarMember(prefixed, "package/dist/model.onnx", join(folder(), "o"))).bytes).toBe(
      MODEL.length,
    );
  });

  it("reads a size in base-256 and skips members that are not files", async () => {
    const archive = handmade(
      header("package/dist/", 0, { type: "5" }),
      header("package/dist/model.onnx", 0, { type: "1" }),
      header("package/dist/model.onnx", MODEL.length, { base256: true }),
      padded(MODEL),
      END,
    );
    const out = join(folder(), "o");
    expect(await extractTarMember(archive, "package/dist/model.onnx", out)).toEqual({
      bytes: MODEL.length,
      sha256: sha256(MODEL),
    });
  });

  it("reads an old-style regular file (type NUL) and skips malformed PAX records", async () => {
    const oldStyle = handmade(header("package/m.onnx", MODEL.length, { type: "\0" }), padded(MODEL), END);
    expect((await extractTarMember(oldStyle, "package/m.onnx", join(folder(), "o"))).sha256).toBe(
      sha256(MODEL),
    );
    for (const records of ["garbage", "5 x\n", " 9 path=x\n", "3 path=x\n"]) {
      const pax = Buffer.from(records);
      const archive = handmade(
        header("PaxHeader", pax.length, { type: "x" }),
        padded(pax),
        header("package/m.onnx", MODEL.length),
        padded(MODEL),
        END,
      );
      expect((await extractTarMember(archive, "package/m.onnx", join(folder(), "o"))).bytes).toBe(
        MODEL.length,
      );
    }
    const withOthers = Buffer.from(paxRecord("mtime", "123") + paxRecord("path", "package/a.onnx"));
    const named = handmade(
      header("PaxHeader", withOthers.length, { type: "x" }),
      padded(withOthers),
      header("ignored-name", MODEL.length),
      padded(MODEL),
      END,
    );
    expect((await extractTarMember(named, "package/a.onnx", join(folder(), "o"))).bytes).toBe(MODEL.length);
  });

  it("says which member is missing", async () => {
    const archive = systemTarball({ "package/README.md": Buffer.from("x") }, "ustar");
    await expect(
      extractTarMember(archive, "package/dist/silero_vad_v5.onnx", join(folder(), "o")),
    ).rejects.toThrow(`${archive} does not contain package/dist/silero_vad_v5.onnx.`);
  });

  it("refuses damaged archives in words", async () => {
    const notGzip = join(folder(), "a.tgz");
    writeFileSync(notGzip, "<html>captive portal</html>");
    await expect(extractTarMember(notGzip, "m", join(folder(), "o"))).rejects.toThrow(
      new RegExp(`^${notGzip} is not a readable \\.tgz archive: `),
    );
    const bad = header("m", 10);
    bad[0] = bad[0]! ^ 1;
    await expect(
      extractTarMember(handmade(bad, padded(Buffer.alloc(10)), END), "m", join(folder(), "o")),
    ).rejects.toThrow(/^\S+ is not a readable \.tgz archive: a header's checksum is wrong\.$/);
    const unreadableSize = header("m", 10, { sizeText: "12z\0" });
    await expect(extractTarMember(handmade(unreadableSize, END), "m", join(folder(), "o"))).rejects.toThrow(
      /a header has an unreadable size/,
    );
    await expect(
      extractTarMember(handmade(header("m", 100_000), MODEL), "m", join(folder(), "o")),
    ).rejects.toThrow(/ends in the middle of m/);
    await expect(
      extractTarMember(handmade(header("other", 100_000), MODEL), "m", join(folder(), "o")),
    ).rejects.toThrow(/ends in the middle of a file/);
    await expect(extractTarMember(handmade(Buffer.alloc(300, 1)), "m", join(folder(), "o"))).rejects.toThrow(
      /ends in the middle of a header/,
    );
    await expect(
      extractTarMember(handmade(header("././@LongLink", 1 << 20, { type: "L" })), "m", join(folder(), "o")),
    ).rejects.toThrow(/long-name record is implausibly large/);
  });
});
