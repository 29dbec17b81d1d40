/**
 * Which object keys the tool writes (issue 8 #12). S3 itself takes any key, but the embedded
 * stack's S3 emulator (s3rver) stores an object at a file path built from its key: a key with a
 * `..` segment, like `logs/../../x` from `auditor upload --prefix ../..`, lands outside the data
 * dir. `auditor upload` refuses such keys and prefixes (locally and against a deployed stack, so a
 * key means the same thing in both), and the local stack refuses them however they reach s3rver.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `key` is not a safe object key, or undefined: it must not be empty, start with `/`, hold a
 * backslash or a control character (NUL, C0, DEL, C1), or have an empty, `.` or `..` segment
 * (`a//b`, `a/./b`, `a/../b`, a trailing `/`).
 */
export function unsafeKeyReason(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (key.startsWith('/')) return 'starts with "/"';
  if (key.includes('\\')) return 'holds a backslash';
  if (CONTROL.test(key)) return 'holds a control character';
  for (const segment of key.split('/')) {
    if (segment === '') return 'has an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
  }
  return undefined;
}
