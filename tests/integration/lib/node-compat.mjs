// node-compat.mjs: what the tests' dependencies use of Node.js 20.12+/22
// that Debian 12's own nodejs (18.20) lacks, provided the way those
// versions define it, so that `./build.sh test` and `./build.sh demo` run
// on a fresh Debian 12 with its own nodejs. provider.mjs imports this
// before it loads oidc-provider (with a dynamic import, so that the hook
// below is in place when oidc-provider's modules are resolved). On newer
// Node.js nothing here does anything.
import crypto from 'node:crypto';
import { register } from 'node:module';

// WHATWG URL.parse(input, base): the URL, or null where new URL throws
// (Node 22.1, 20.18). oidc-provider 9 validates client URLs with it.
if (typeof URL.parse !== 'function') {
    URL.parse = function parse(input, base) {
        try {
            return new URL(input, base);
        } catch {
            return null;
        }
    };
}

// The Web Crypto API as a global (Node 19; 18 has it as
// crypto.webcrypto). oidc-provider 9 makes random values with it.
if (typeof globalThis.crypto === 'undefined') {
    globalThis.crypto = crypto.webcrypto;
}

// crypto.hash(algorithm, data, outputEncoding) (Node 21.7, 20.12):
// oidc-provider 9 checks PKCE verifiers and token hashes with it, through
// `import * as crypto from 'node:crypto'`, whose names cannot be added to:
// a resolve hook gives oidc-provider's modules node-compat-crypto.mjs
// (node:crypto plus hash) instead.
if (typeof crypto.hash !== 'function') {
    register('./node-compat-hooks.mjs', import.meta.url);
}
