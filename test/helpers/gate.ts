/** A door a fake's async work waits at: open until `hold()`, then shut until its release is called. */
export class Gate {
  private shut: Promise<void> | undefined;

  /** Shuts the gate; work that reaches it waits until the returned function is called. */
  hold(): () => void {
    let release = () => {};
    this.shut = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.shut = undefined;
      release();
    };
  }

  /** Resolves at once while open, otherwise when the gate is released. */
  async pass(): Promise<void> {
    await this.shut;
  }
}
