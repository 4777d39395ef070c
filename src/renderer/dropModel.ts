/** What a dropped file list means: the model file to import, or why nothing can be imported. */
export type DroppedModel = { path: string; name: string } | { error: string };

const MODEL_FILE = /\.(gguf|bin)$/i;

/**
 * The model among files dropped on the window. `pathForFile` is the bridge's (Electron's
 * webUtils.getPathForFile); a page in a browser has none, since browsers never reveal paths.
 */
export function modelFileFromDrop(
  files: readonly Pick<File, "name">[],
  pathForFile: ((file: File) => string) | undefined,
): DroppedModel {
  const first = files[0];
  if (!first) return { error: "Nothing was dropped: drop a .gguf model file." };
  if (files.length > 1) return { error: "Drop one model file at a time." };
  if (!MODEL_FILE.test(first.name))
    return {
      error: `${first.name} is not a model file: Duet takes GGUF models (.gguf) and whisper models (.bin).`,
    };
  const path = pathForFile?.(first as File) ?? "";
  if (path === "")
    return {
      error:
        "Dropping a file works in the desktop app. Here, type the file's path under Settings → Reasoning model.",
    };
  return { path, name: first.name };
}
