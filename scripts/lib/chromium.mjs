// How every browser test here starts Debian's Chromium: headless, and with the background services off
// (this machine's network is closed, and they would only fail and retry).

/** The Chromium binary: `$CHROMIUM`, else Debian's. */
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Launch flags for `launchPersistentContext` with a fresh profile folder. */
export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
