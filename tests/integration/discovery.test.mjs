// discovery.test.mjs: providers whose discovery document is not at
// ISSUER/.well-known/openid-configuration (issue 17: Glewlwyd with its
// issuer at the root serves it under /api/oidc/), through the real Apache
// and oidc-provider, whose own well-known URL answers 404 in this file:
//   A  OAuth2ProviderMetadataURL URL the document where it is published
//   B  every endpoint configured     no discovery at all (a manual provider)
//   C  OAuth2Endpoint metadata URL   a document naming another issuer: 502
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startProvider } from './lib/provider.mjs';
import { createApache } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { freePort } from './lib/ports.mjs';
import { SECRET } from './lib/stack.mjs';

const env = {};
const href = (site, p) => `http://127.0.0.1:${env.ports[site]}${p}`;

/* A server publishing the provider's document elsewhere; /foreign/ names
 * another issuer. */
async function startPublisher(op) {
    const server = http.createServer((req, res) => {
        env.published.push(req.url);
        const body = req.url === '/api/oidc/.well-known/openid-configuration' ? op.metadata
            : req.url === '/foreign/.well-known/openid-configuration' ? { ...op.metadata, issuer: 'https://other.example' }
                : null;
        res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body ?? { error: 'not found' }));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${server.address().port}`,
        stop: () => new Promise((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
        }),
    };
}

function site(name, client, provider) {
    return `
Listen 127.0.0.1:${env.ports[name]}
<VirtualHost 127.0.0.1:${env.ports[name]}>
    ServerName 127.0.0.1
    OAuth2Provider ${env.op.issuer}
    OAuth2ClientID ${client}
    OAuth2ClientSecret ${client}-secret
    OAuth2Secret ${SECRET}
    ${provider}
    <Location /app>
        AuthType oauth2
        Require valid-user
        ProxyPass ${env.backend.url}/app
    </Location>
</VirtualHost>`;
}

before(async () => {
    env.ports = { A: await freePort(), B: await freePort(), C: await freePort() };
    env.published = [];
    env.backend = await startBackend();
    env.op = await startProvider({
        clients: ['A', 'B', 'C'].map((n) => ({
            client_id: `app-${n}`,
            client_secret: `app-${n}-secret`,
            redirect_uris: [href(n, '/oauth2/callback')],
        })),
    });
    env.pub = await startPublisher(env.op);
    // The provider's own well-known URL is gone, as on such a provider.
    env.op.fail('discovery', { mode: 'status', status: 404 });
    const m = env.op.metadata;
    env.apache = await createApache({
        withModule: true,
        logLevel: 'info auth_oauth2:debug',
        config: () => [
            site('A', 'app-A', `OAuth2ProviderMetadataURL ${env.pub.url}/api/oidc/.well-known/openid-configuration`),
            site('B', 'app-B', ['authorization', 'token', 'userinfo', 'jwks', 'end_session']
                .map((k) => `OAuth2Endpoint ${k} ${m[k === 'jwks' ? 'jwks_uri' : `${k}_endpoint`]}`).join('\n    ')),
            site('C', 'app-C', `OAuth2Endpoint metadata ${env.pub.url}/foreign/.well-known/openid-configuration`),
        ].join('\n'),
    });
    await env.apache.start();
});

after(async () => {
    await env.apache?.stop();
    await env.pub?.stop();
    await env.op?.stop();
    await env.backend?.stop();
});

describe('a discovery document elsewhere, or none', () => {
    it('logs in with the document from OAuth2ProviderMetadataURL', async () => {
        env.op.resetCounts();
        const b = newBrowser();
        const res = await login(b, href('A', '/app/a'));
        assert.equal(res.final.status, 200);
        assert.equal(res.final.json().headers['x-forwarded-user'], 'alice');
        assert.ok(env.published.includes('/api/oidc/.well-known/openid-configuration'));
        assert.equal(env.op.counts.discovery ?? 0, 0, 'the provider\'s own well-known URL was not asked');
    });

    it('logs in with every endpoint configured and no discovery document at all', async () => {
        env.op.resetCounts();
        const before = env.published.length;
        const b = newBrowser();
        const res = await login(b, href('B', '/app/b'));
        assert.equal(res.final.status, 200);
        assert.equal(res.final.json().headers['x-forwarded-user'], 'alice');
        assert.equal(env.op.counts.discovery ?? 0, 0);
        assert.equal(env.published.length, before);
        assert.ok(env.op.counts.jwks >= 1, 'the ID token was checked with the configured keys');
    });

    it('refuses a document that names another issuer (502, OA2106)', async () => {
        const mark = env.apache.mark();
        const r = await request(href('C', '/app/c'), { headers: { Accept: 'text/html' } });
        assert.equal(r.status, 502);
        assert.match(r.body, /Sign-in is unavailable/);
        const line = await env.apache.waitForLog(/OA2106: cannot start a login/, { since: mark });
        assert.match(line, /issuer/);
    });
});
