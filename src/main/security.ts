/** The window's content security policy: only the app's own scripts, styles and media. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; " +
  "connect-src 'self'; worker-src 'self' blob:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The policy under `npm run dev` only: Vite's dev server injects styles inline and talks to the
 * page over a WebSocket for hot reload. A packaged app never uses it.
 */
export function devContentSecurityPolicy(devServerUrl: string): string {
  const { host } = new URL(devServerUrl);
  return CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
    "connect-src 'self'",
    `connect-src 'self' ws://${host}`,
  );
}
