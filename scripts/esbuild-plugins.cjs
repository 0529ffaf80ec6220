// esbuild plugins for serverless-esbuild (`custom.esbuild.plugins`); CommonJS because it is require()d.

/**
 * zod's classic and core entries re-export every locale (~260 KB minified) although only English, which it
 * imports directly, is ever configured: an empty locale index keeps them out of each bundle.
 */
const dropZodLocales = {
  name: 'drop-zod-locales',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir) ? { path: 'zod-locales', namespace: 'rackless-empty' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'rackless-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

module.exports = [dropZodLocales];
