// A Vue app built with Vite from npm packages, using <dots-flow> as an app would use the npm
// package: `import "dots-flow-element"` (here resolved to the built pkg/element/). Written with
// render functions, so no template compiler or Vue plugin is needed.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  logLevel: "warn",
  resolve: {
    alias: { "dots-flow-element": path.resolve(here, "../../../pkg/element/dots-flow.js") },
  },
});
