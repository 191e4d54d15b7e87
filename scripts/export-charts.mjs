// Writes each chart of a parrot report.html as a standalone SVG file (for docs/results/ and
// papers), rendered by the same vega and vega-lite the page inlines.
// Usage: node scripts/export-charts.mjs REPORT_HTML OUT_DIR [NODE_MODULES]
// NODE_MODULES: where the build's npm ci put the libraries (default build/web-report/node_modules).
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {join, resolve} from 'node:path';
import {pathToFileURL} from 'node:url';

const [html, out, modules = 'build/web-report/node_modules'] = process.argv.slice(2);
if (!html || !out) {
  console.error('usage: node scripts/export-charts.mjs REPORT_HTML OUT_DIR [NODE_MODULES]');
  process.exit(2);
}

// vega and vega-lite are ES modules installed outside this script's folder: resolve them there.
const requireThere = createRequire(join(resolve(modules), 'resolve-from-here.js'));
async function load(name) {
  try {
    return await import(pathToFileURL(requireThere.resolve(name)).href);
  } catch (error) {
    console.error(`${name} not found under ${modules} (run the build, whose npm ci installs it): ` +
                  error.message);
    process.exit(2);
  }
}
const vega = await load('vega');
const vegaLite = await load('vega-lite');

const page = readFileSync(html, 'utf8');
const embedded = page.match(/<script type="application\/json" id="parrot-charts">([\s\S]*?)<\/script>/);
if (!embedded) {
  console.error(`${html}: no charts found (is it a report.html written by suite report?)`);
  process.exit(2);
}

const fileName = (title) => title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
mkdirSync(out, {recursive: true});
for (const chart of JSON.parse(embedded[1])) {
  const view = new vega.View(vega.parse(vegaLite.compile(chart.spec).spec), {renderer: 'none'});
  const file = join(out, `${fileName(chart.title ?? chart.id)}.svg`);
  writeFileSync(file, await view.toSVG());
  view.finalize();
  console.log(file);
}
