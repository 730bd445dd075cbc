#!/usr/bin/env node
// demo.mjs: what `./build.sh demo` runs.
//
//   node tests/demo/demo.mjs [--module PATH] [--port 8080] [--provider-port 9090]
//                            [--log-level 'warn auth_oauth2:debug'] [--keep]
//
// Starts, all on 127.0.0.1:
//   - a local OpenID Provider (oidc-provider, the integration tests' peer) on
//     port 9090 if free, else on a free port, with one account: `demo`, any
//     password (name, email demo@example.com verified, groups staff, admins),
//     and a client for http://127.0.0.1:8080/oauth2/callback;
//   - a backend page that shows the identity headers it receives;
//   - Apache on port 8080 with mod_auth_oauth2 and conf/examples/demo.conf,
//     whose ${DEMO_*} placeholders are filled from the environment given to
//     Apache.
// Prints the URL and the login, and stops everything on Ctrl-C (SIGINT) or
// SIGTERM. Exits non-zero if something cannot start or Apache dies.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { createApache, MODULE_PATH, REPO_ROOT } from '../integration/lib/apache.mjs';
import { startBackend } from '../integration/lib/backend.mjs';
import { startProvider } from '../integration/lib/provider.mjs';
import { isPortFree, LOOPBACK } from '../integration/lib/ports.mjs';

const DEMO_CONF = path.join(REPO_ROOT, 'conf', 'examples', 'demo.conf');
const CLIENT_ID = 'mod-auth-oauth2-demo';

const DEMO_ACCOUNT = {
    id: 'demo',
    name: 'Demo User',
    given_name: 'Demo',
    family_name: 'User',
    preferred_username: 'demo',
    email: 'demo@example.com',
    email_verified: true,
    groups: ['staff', 'admins'],
};

function options() {
    const { values } = parseArgs({
        options: {
            module: { type: 'string', default: MODULE_PATH },
            port: { type: 'string', default: '8080' },
            'provider-port': { type: 'string', default: '9090' },
            'log-level': { type: 'string', default: 'warn auth_oauth2:info' },
            keep: { type: 'boolean', default: false },
            help: { type: 'boolean', short: 'h', default: false },
        },
    });
    if (values.help) {
        console.log('usage: node tests/demo/demo.mjs [--module PATH] [--port 8080] [--provider-port 9090] [--log-level LEVEL] [--keep]');
        process.exit(0);
    }
    return { ...values, module: path.resolve(values.module), port: Number(values.port), providerPort: Number(values['provider-port']) };
}

function fail(msg) {
    console.error(`demo: ${msg}`);
    process.exit(1);
}

/* ------------------------------------------------------- backend page */

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const IDENTITY_HEADERS = ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-preferred-username', 'x-forwarded-groups'];

function rows(pairs) {
    return pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(v)}</code></td></tr>`).join('\n');
}

// The raw header names as the backend received them, with their values.
function headerPairs(info, test) {
    const out = [];
    for (let i = 0; i < info.rawHeaders.length; i += 2) {
        if (test(info.rawHeaders[i].toLowerCase())) out.push([info.rawHeaders[i], info.rawHeaders[i + 1]]);
    }
    return out;
}

function demoPage(info) {
    const identity = headerPairs(info, (n) => IDENTITY_HEADERS.includes(n));
    const claims = headerPairs(info, (n) => n.startsWith('oauth2-claim-'));
    const other = headerPairs(info, (n) => !IDENTITY_HEADERS.includes(n) && !n.startsWith('oauth2-claim-'));
    const user = info.headers['x-forwarded-user'];
    const greeting = user
        ? `<p class="ok">Logged in as <strong>${esc(user)}</strong>.</p>`
        : '<p class="warn">No X-Forwarded-User header arrived: the request was not authenticated by mod_auth_oauth2.</p>';
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mod_auth_oauth2 demo backend</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{width:18rem;font-weight:600} code{word-break:break-all}
.ok{background:#e7f6e7;padding:.6rem} .warn{background:#fdecea;padding:.6rem} nav a{margin-right:1rem}
</style></head><body>
<h1>mod_auth_oauth2 demo: the backend</h1>
${greeting}
<nav><a href="/">this page</a><a href="/oauth2/userinfo">/oauth2/userinfo</a><a href="/oauth2-status">/oauth2-status</a><a href="/oauth2/logout">log out</a></nav>
<h2>Identity headers (REMOTE_USER and friends)</h2>
<table>${rows(identity.length ? identity : [['(none)', '']])}</table>
<h2>Claims (OAuth2-Claim-*)</h2>
<table>${rows(claims.length ? claims : [['(none)', 'set OAuth2PassClaims headers']])}</table>
<h2>The request as proxied</h2>
<table>${rows([['request', `${info.method} ${info.url}`], ...other])}</table>
</body></html>
`;
}

function renderBackend(info, req) {
    if (info.url === '/favicon.ico') return { status: 404, body: '' };
    if (/application\/json/.test(req.headers.accept ?? '')) return null; // the JSON echo
    return {
        headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
        body: demoPage(info),
    };
}

/* --------------------------------------------------------------- main */

async function main() {
    const opt = options();
    if (!fs.existsSync(opt.module)) fail(`no module at ${opt.module}: build it first (./build.sh build)`);
    if (!fs.existsSync(DEMO_CONF)) fail(`missing ${DEMO_CONF}`);
    if (!(await isPortFree(opt.port))) fail(`port ${opt.port} on ${LOOPBACK} is in use (try --port)`);

    const base = `http://${LOOPBACK}:${opt.port}`;
    const bases = [base, `http://localhost:${opt.port}`];
    const providerPort = (await isPortFree(opt.providerPort)) ? opt.providerPort : 0;
    const clientSecret = crypto.randomBytes(24).toString('base64url');

    const running = [];
    let stopping = false;
    const stopAll = async (code) => {
        if (stopping) return;
        stopping = true;
        console.log('\nstopping ...');
        for (const s of running.reverse()) await s.stop().catch((e) => console.error(`demo: ${e.message}`));
        process.exit(code);
    };
    process.on('SIGINT', () => stopAll(0));
    process.on('SIGTERM', () => stopAll(0));
    // The harness's servers do not keep node alive (so tests never hang): this does.
    setInterval(() => {}, 1 << 30);

    try {
        const backend = await startBackend({ render: renderBackend });
        running.push(backend);

        const op = await startProvider({
            port: providerPort,
            accounts: [DEMO_ACCOUNT],
            backchannelLogout: true,
            clients: [{
                client_id: CLIENT_ID,
                client_secret: clientSecret,
                redirect_uris: bases.map((b) => `${b}/oauth2/callback`),
                post_logout_redirect_uris: bases.map((b) => `${b}/`),
                backchannel_logout_uri: `${base}/oauth2/backchannel-logout`,
            }],
            // Whatever page the module returns to after logout, on this server.
            allowPostLogoutRedirect: (uri) => bases.some((b) => uri === b || uri.startsWith(`${b}/`)),
        });
        running.push(op);

        const apache = await createApache({
            port: opt.port,
            withModule: true,
            modulePath: opt.module,
            logLevel: opt['log-level'],
            keep: opt.keep,
            config: `Include "${DEMO_CONF}"\n`,
            env: {
                DEMO_ISSUER: op.issuer,
                DEMO_CLIENT_ID: CLIENT_ID,
                DEMO_CLIENT_SECRET: clientSecret,
                DEMO_SECRET: crypto.randomBytes(48).toString('base64url'),
                DEMO_BACKEND: backend.url,
            },
        });
        running.push({ stop: async () => { await apache.stop(); if (!opt.keep) apache.remove(); } });
        await apache.start();
        apache.child.once('exit', (code, signal) => {
            if (stopping) return;
            console.error(`demo: apache2 exited (${code ?? signal}); the end of its error log:\n${apache.errorLog().split('\n').slice(-20).join('\n')}`);
            stopAll(1);
        });

        console.log(`
mod_auth_oauth2 demo is running

  open       ${base}/
  log in as  demo (any password)
  provider   ${op.issuer}   (OpenID Provider, client ${CLIENT_ID})
  backend    ${backend.url}
  config     ${DEMO_CONF}
  logs       ${apache.errorLogPath}
             ${apache.accessLogPath}

Ctrl-C to stop`);
    } catch (e) {
        console.error(`demo: could not start: ${e.message}`);
        await stopAll(1);
    }
}

await main();
