/** Defaults shown in `auditor --help`: a module that imports nothing, so help loads no SDK. */

/** Default of `auditor upload --wait-seconds`. */
export const DEFAULT_UPLOAD_WAIT_SECONDS = 600;
