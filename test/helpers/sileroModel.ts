import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * The Silero VAD model for tests. Duet installs it through the catalog's `silero-vad` entry (a
 * published npm tarball with a checksum); the tests fetch the same tarball once from the npm
 * registry (which every machine that ran `npm ci` reaches) into .cache/test-models and check it.
 */
const TARBALL = "https://registry.npmjs.org/@ricky0123/vad-web/-/vad-web-0.0.31.tgz";
const TARBALL_SHA256 = "d1a211cf1a2ed26297da52cc08de79e75d79838a274bfc6de546feb1f828c940";
const MEMBER = "package/dist/silero_vad_v5.onnx";
const MEMBER_SHA256 = "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f";

const folder = resolve(".cache/test-models");
const modelPath = join(folder, "silero_vad.onnx");

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** The model's path, or the reason it could not be had (no registry access). */
export async function sileroModelForTests(): Promise<{ path: string } | { unavailable: string }> {
  if (existsSync(modelPath) && sha256(readFileSync(modelPath)) === MEMBER_SHA256) return { path: modelPath };
  mkdirSync(folder, { recursive: true });
  let body: Uint8Array;
  try {
    const response = await fetch(TARBALL, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) return { unavailable: `the npm registry answered ${response.status}` };
    body = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    return { unavailable: `the npm registry could not be reached (${(error as Error).message})` };
  }
  if (sha256(body) !== TARBALL_SHA256) throw new Error(`${TARBALL} does not match its published checksum`);
  const tarball = join(folder, "vad-web.tgz");
  writeFileSync(tarball, body);
  execFileSync("tar", ["-xzf", tarball, "-C", folder, MEMBER]);
  const extracted = join(folder, MEMBER);
  if (sha256(readFileSync(extracted)) !== MEMBER_SHA256)
    throw new Error(`${MEMBER} does not match its checksum`);
  renameSync(extracted, modelPath);
  return { path: modelPath };
}
