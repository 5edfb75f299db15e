/** The Chromium binary: `$CHROMIUM`, else Debian's. */
export declare const chromiumPath: string;
/** Launch flags for `launchPersistentContext` with a fresh profile folder. */
export declare const chromiumFlags: readonly string[];
