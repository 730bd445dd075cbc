// node-compat-hooks.mjs: module resolution hook of node-compat.mjs (loaded
// with module.register only on a Node.js without crypto.hash): imports of
// node:crypto from oidc-provider's modules get node-compat-crypto.mjs.
const SHIM = new URL('./node-compat-crypto.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
    if ((specifier === 'node:crypto' || specifier === 'crypto')
        && context.parentURL?.includes('/node_modules/oidc-provider/')) {
        return { url: SHIM, shortCircuit: true };
    }
    return next(specifier, context);
}
