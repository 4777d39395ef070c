/**
 * Hold-to-talk on a global key combination. Electron's globalShortcut only reports key-down, so
 * Duet listens to raw key-down and key-up (uiohook-napi in the Electron entry). This module is the
 * pure part: parsing the accelerator and the press/release state machine.
 */

export type Modifier = "Control" | "Alt" | "Shift" | "Meta";
const MODIFIERS: readonly Modifier[] = ["Control", "Alt", "Shift", "Meta"];
const ALIASES: Record<string, Modifier> = {
  control: "Control",
  ctrl: "Control",
  commandorcontrol: "Control",
  cmdorctrl: "Control",
  alt: "Alt",
  option: "Alt",
  shift: "Shift",
  meta: "Meta",
  super: "Meta",
  command: "Meta",
  cmd: "Meta",
};

export interface Hotkey {
  modifiers: ReadonlySet<Modifier>;
  /** The main key's name as uiohook spells it: "Space", "A", "F9"… */
  key: string;
}

/** Parses "Control+Alt+Space" (Electron accelerator syntax); throws a readable error. */
export function parseAccelerator(accelerator: string, platform: NodeJS.Platform = process.platform): Hotkey {
  const parts = accelerator
    .split("+")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error("The hotkey is empty.");
  const modifiers = new Set<Modifier>();
  let key: string | undefined;
  for (const part of parts) {
    const lower = part.toLowerCase();
    let modifier = ALIASES[lower];
    if (modifier === "Control" && lower.startsWith("c") && lower.includes("or") && platform === "darwin")
      modifier = "Meta";
    if (modifier) {
      modifiers.add(modifier);
    } else {
      if (key)
        throw new Error(
          `"${accelerator}" has two main keys (${key} and ${part}); use one key with modifiers.`,
        );
      key = part.length === 1 ? part.toUpperCase() : part[0]!.toUpperCase() + part.slice(1);
    }
  }
  if (!key) throw new Error(`"${accelerator}" has only modifiers; add a key, e.g. ${accelerator}+Space.`);
  return { modifiers, key };
}

/** uiohook's names for the left and right variants of each modifier. */
const MODIFIER_KEYS: Record<string, Modifier> = {
  Ctrl: "Control",
  CtrlRight: "Control",
  Alt: "Alt",
  AltRight: "Alt",
  Shift: "Shift",
  ShiftRight: "Shift",
  Meta: "Meta",
  MetaRight: "Meta",
};

/**
 * Tracks held keys and reports push-to-talk down once when the combination is complete, and up
 * when the main key or any of its modifiers is released. Key repeat never sends a second down.
 */
export class HoldToTalk {
  private readonly held = new Set<string>();
  private active = false;

  constructor(
    private hotkey: Hotkey,
    private readonly onChange: (down: boolean) => void,
  ) {}

  setHotkey(hotkey: Hotkey): void {
    if (this.active) this.release();
    this.hotkey = hotkey;
  }

  private heldModifiers(): Set<Modifier> {
    const out = new Set<Modifier>();
    for (const key of this.held) {
      const modifier = MODIFIER_KEYS[key];
      if (modifier) out.add(modifier);
    }
    return out;
  }

  keyDown(key: string): void {
    this.held.add(key);
    if (this.active || key !== this.hotkey.key) return;
    const mods = this.heldModifiers();
    const exact = MODIFIERS.every((m) => mods.has(m) === this.hotkey.modifiers.has(m));
    if (exact) {
      this.active = true;
      this.onChange(true);
    }
  }

  keyUp(key: string): void {
    this.held.delete(key);
    if (!this.active) return;
    const modifier = MODIFIER_KEYS[key];
    if (
      key === this.hotkey.key ||
      (modifier && this.hotkey.modifiers.has(modifier) && !this.heldModifiers().has(modifier))
    )
      this.release();
  }

  /** The window lost focus or the hook restarted: anything held is released. */
  reset(): void {
    this.held.clear();
    if (this.active) this.release();
  }

  private release(): void {
    this.active = false;
    this.onChange(false);
  }

  get isDown(): boolean {
    return this.active;
  }
}
