/** The repository's root folder (with a trailing separator). */
export declare const root: string;
/** Runs a command, echoing it unless `quiet`; throws with its output when it fails. Returns its standard output. */
export declare function run(
  command: string,
  args: readonly string[],
  options?: { quiet?: boolean; cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number },
): string;
/** Builds the library and packs it as users receive it; returns the tarball's path. */
export declare function packTarball(options?: { quiet?: boolean }): string;
/** A fresh project in a temporary folder with `files` written and the tarball installed, offline. */
export declare function freshProject(
  name: string,
  tarball: string,
  files: Record<string, string | object>,
  extra?: readonly string[],
): string;
