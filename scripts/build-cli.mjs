/**
 * Builds the `auditor` CLI to plain JavaScript: dist/cli/main.js (plus lazily loaded chunks), so
 * bin/auditor.js starts without compiling TypeScript. Run by `npm install` / `npm ci` (the
 * `prepare` script) and by `npm run build:cli`; dist/ is not committed.
 *
 * - Packages under node_modules stay external (packages: 'external'): they load from
 *   node_modules as they do under tsx, so s3rver, dynalite and the AWS SDK work unchanged and the
 *   bundle holds only this project's code.
 * - splitting: a dynamic import() in the sources (the local stack's handlers, --stack's remote
 *   runtime) becomes a chunk of its own, loaded only by the commands that need it.
 * - `import.meta.url` in a source file means that file's own URL (demo.ts finds its YAML files
 *   next to it), so it is rewritten to the source file's URL, relative to the bundle.
 * - dist/cli/inputs.json lists the source files bundled; bin/auditor.js runs the sources through
 *   tsx instead of the bundle when one of them is newer than the bundle (or missing).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'dist', 'cli');

/** Rewrites `import.meta.url` in project sources to the URL of the source file itself. */
const sourceUrlPlugin = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
      const rel = relative(OUT_DIR, args.path).split('\\').join('/');
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
        loader: 'ts',
      };
    });
  },
};

export async function buildCli() {
  const { build } = await import('esbuild');
  await rm(OUT_DIR, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: 'functions/cli/main.ts' },
    outdir: OUT_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrlPlugin],
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  await writeFile(join(OUT_DIR, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
  return { outDir: OUT_DIR, inputs };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await import('esbuild');
  } catch {
    // An install without devDependencies: bin/auditor.js runs the sources through tsx.
    process.stdout.write('esbuild is not installed: the auditor CLI will run from its TypeScript sources\n');
    process.exit(0);
  }
  const { inputs } = await buildCli();
  process.stdout.write(`built dist/cli/main.js from ${inputs.length} source files\n`);
}
