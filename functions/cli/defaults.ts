/** Defaults shown in `auditor --help`; kept apart so that help loads no SDK (see main.ts). */

/** Default of `auditor upload --wait-seconds`. */
export const DEFAULT_UPLOAD_WAIT_SECONDS = 600;
