import { describe, expect, it } from "vitest";
import { HoldToTalk, parseAccelerator } from "../../src/main/host/hotkey.js";

describe("hold-to-talk hotkey", () => {
  it("parses Electron accelerators and refuses unusable ones", () => {
    const k = parseAccelerator("Control+Alt+Space", "linux");
    expect([...k.modifiers].sort()).toEqual(["Alt", "Control"]);
    expect(k.key).toBe("Space");
    expect(parseAccelerator("CmdOrCtrl+j", "darwin")).toMatchObject({ key: "J" });
    expect([...parseAccelerator("CmdOrCtrl+j", "darwin").modifiers]).toEqual(["Meta"]);
    expect([...parseAccelerator("CmdOrCtrl+j", "win32").modifiers]).toEqual(["Control"]);
    expect(parseAccelerator("F9").key).toBe("F9");
    expect(() => parseAccelerator("Control+Alt")).toThrow(/only modifiers/);
    expect(() => parseAccelerator("A+B")).toThrow(/two main keys/);
    expect(() => parseAccelerator("")).toThrow(/empty/);
  });

  it("reports down once when the combination is complete and up on any release, ignoring key repeat", () => {
    const changes: boolean[] = [];
    const hold = new HoldToTalk(parseAccelerator("Control+Alt+Space"), (down) => changes.push(down));
    hold.keyDown("Space"); // without modifiers: nothing
    hold.keyUp("Space");
    hold.keyDown("Ctrl");
    hold.keyDown("Alt");
    hold.keyDown("Space");
    hold.keyDown("Space"); // auto-repeat
    hold.keyDown("Space");
    expect(changes).toEqual([true]);
    hold.keyUp("Alt"); // releasing a modifier ends it
    expect(changes).toEqual([true, false]);
    hold.keyUp("Space");
    hold.keyDown("Alt");
    hold.keyDown("Space");
    expect(changes).toEqual([true, false, true]);
    hold.keyUp("Space");
    expect(changes).toEqual([true, false, true, false]);
  });

  it("needs the exact modifiers, accepts right-hand ones, and resets cleanly", () => {
    const changes: boolean[] = [];
    const hold = new HoldToTalk(parseAccelerator("Control+Space"), (down) => changes.push(down));
    hold.keyDown("Ctrl");
    hold.keyDown("Shift");
    hold.keyDown("Space"); // an extra modifier: not our hotkey
    expect(changes).toEqual([]);
    hold.reset();
    hold.keyDown("CtrlRight");
    hold.keyDown("Space");
    expect(hold.isDown).toBe(true);
    hold.reset();
    expect(changes).toEqual([true, false]);
    hold.keyDown("Ctrl");
    hold.keyDown("Space");
    hold.setHotkey(parseAccelerator("F8"));
    expect(changes).toEqual([true, false, true, false]);
  });
});
