// attacks-multi.test.mjs: attacks on several providers per server (issue
// 14) that found something, with the real apache2 and one oidc-provider
// serving two named providers of one virtual host (the same issuer, two
// clients: staff and partner), started once for the file:
//   - an internal redirect (ErrorDocument) from a place of staff to a place
//     that uses only partner does not carry staff's user there;
//   - an <AuthzProviderAlias oauth2-provider ...> with a directive inside
//     is a provider rule, not a group rule (alice, a user of staff, is in
//     a group called partner);
// and what held, kept as tests (also run under ASan by tests/sanitize.sh):
//   - a "hub" (named providers only, no provider of its own): the status
//     page, userinfo, logout, start, the absent callbacks, a bearer token at
//     a place of several, .htaccess with OAuth2Use and Require
//     oauth2-provider, Require not oauth2-provider.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createApache } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { startProvider } from './lib/provider.mjs';
import { freePort } from './lib/ports.mjs';
import { newBrowser, login, request } from './lib/http.mjs';

const SECRET = 'attacks-multi-secret-0123456789abcdefghijklmnopq';
const ACCOUNTS = [
    { id: 'alice', email: 'alice@example.com', email_verified: true, preferred_username: 'alice', groups: ['staff', 'partner'] },
];

const env = {};
const href = (p) => `http://127.0.0.1:${env.port}${p}`;

function config() {
    return `
OAuth2Secret ${SECRET}
<OAuth2Provider staff>
    OAuth2Provider ${env.op.issuer}
    OAuth2ClientID staff-app
    OAuth2ClientSecret staff-secret
</OAuth2Provider>
<OAuth2Provider partner>
    OAuth2Provider ${env.op.issuer}
    OAuth2ClientID partner-app
    OAuth2ClientSecret partner-secret
</OAuth2Provider>
<Location /staff>
    AuthType oauth2
    OAuth2Use staff
    Require valid-user
    ErrorDocument 404 /partner/oops
</Location>
<Location /partner>
    AuthType oauth2
    OAuth2Use partner
    Require valid-user
    ProxyPass ${env.backend.url}/partner
</Location>
<Location /not-partner>
    AuthType oauth2
    <RequireAll>
        Require valid-user
        Require not oauth2-provider partner
    </RequireAll>
    ProxyPass ${env.backend.url}/not-partner
</Location>
<Location /api>
    AuthType oauth2
    OAuth2Use staff partner
    OAuth2AcceptBearer On
    OAuth2BearerAudience api
    Require valid-user
    ProxyPass ${env.backend.url}/api
</Location>
<Location /status>
    SetHandler oauth2-status
</Location>
<AuthzProviderAlias oauth2-provider partner-only partner>
    OAuth2Use partner
</AuthzProviderAlias>
<Location /alias>
    AuthType oauth2
    OAuth2Use staff partner
    Require partner-only
    ProxyPass ${env.backend.url}/alias
</Location>
`;
}

before(async () => {
    env.port = await freePort();
    const cb = (name) => `http://127.0.0.1:${env.port}/oauth2/${name}/callback`;
    env.backend = await startBackend();
    env.op = await startProvider({
        accounts: ACCOUNTS,
        clients: [
            { client_id: 'staff-app', client_secret: 'staff-secret', redirect_uris: [cb('staff')] },
            { client_id: 'partner-app', client_secret: 'partner-secret', redirect_uris: [cb('partner')] },
        ],
    });
    env.apache = await createApache({
        withModule: true,
        port: env.port,
        logLevel: 'info auth_oauth2:debug',
        config,
        files: {
            'htdocs/ht/.htaccess': 'AuthType oauth2\nOAuth2Use staff\nRequire oauth2-provider staff\n',
            'htdocs/ht/index.html': 'staff only',
            'htdocs/ht-nope/.htaccess': 'AuthType oauth2\nOAuth2Use nope\nRequire valid-user\n',
            'htdocs/ht-nope/index.html': 'never',
            'htdocs/ht-section/.htaccess': '<OAuth2Provider x>\nOAuth2Provider https://x.example\n</OAuth2Provider>\n',
            'htdocs/ht-section/index.html': 'never',
            'htdocs/pub/.htaccess': 'Options +Indexes\nDirectoryIndex none.html\n',
            'htdocs/pub/readme.txt': 'public',
            'htdocs/pub/multi/.htaccess': 'AuthType oauth2\nRequire valid-user\n',
            'htdocs/pub/multi/secret.txt': 'secret',
        },
        modules: ['autoindex'],
    });
    await env.apache.start();
});

after(async () => {
    await env.apache?.stop();
    await env.op?.stop();
    await env.backend?.stop();
});

/** A browser with a session of staff only. */
async function staffSession() {
    const b = newBrowser();
    const res = await login(b, href('/oauth2/staff/start?rd=%2Fstaff%2F'), { username: 'alice' });
    assert.ok(b.cookie('oauth2_session_staff', href('/')), res.hops.map((h) => `${h.status} ${h.url}`).join('\n'));
    assert.equal(b.cookie('oauth2_session_partner', href('/')), undefined);
    return `oauth2_session_staff=${b.cookie('oauth2_session_staff', href('/'))}`;
}

describe('internal redirects and subrequests', () => {
    it('an ErrorDocument of a place of staff, at a place of partner only, does not get staff\'s user', async () => {
        const cookie = await staffSession();
        const direct = await request(href('/partner/x'), { headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest', Cookie: cookie } });
        assert.equal(direct.status, 401, 'staff\'s session is nobody at /partner');
        env.backend.reset();
        const r = await request(href('/staff/missing'), { headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest', Cookie: cookie } });
        const leaked = env.backend.requests.filter((q) => q.url.startsWith('/partner/oops'));
        assert.deepEqual(leaked.map((q) => q.headers['x-forwarded-user']), [], `the backend of /partner saw staff's user (status ${r.status})`);
        assert.notEqual(r.status, 200);
    });
});

const API = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };

describe('a host with named providers only (a hub): what held', () => {
    it('its endpoints answer without a provider of its own', async () => {
        const cookie = await staffSession();
        assert.equal((await request(href('/status'))).status, 200);
        assert.equal((await request(href('/oauth2/userinfo'), { headers: API })).status, 401);
        const ui = await request(href('/oauth2/userinfo'), { headers: { ...API, Cookie: cookie } });
        assert.equal(ui.status, 200);
        assert.equal(ui.json().sub ?? ui.json().user, 'alice');
        const start = await request(href('/oauth2/start?rd=%2Fstaff%2F'), { headers: { Accept: 'text/html' } });
        assert.equal(start.status, 200);
        assert.match(start.body, /\/oauth2\/staff\/start\?rd=%2Fstaff%2F/);
        for (const p of ['/oauth2/callback?state=x&code=y', '/oauth2/frontchannel-logout?iss=x&sid=y']) {
            assert.equal((await request(href(p))).status, 404, p);
        }
        assert.equal((await request(href('/oauth2/backchannel-logout'), { method: 'POST', body: 'logout_token=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })).status, 404);
        const out = await request(href('/oauth2/logout'), { headers: { Cookie: cookie } });
        assert.equal(out.status, 302);
        assert.ok(out.setCookie.some((c) => c.startsWith('oauth2_session_staff=;')), out.setCookie.join('\n'));
    });

    it('a bearer token at a place of several providers is refused cleanly', async () => {
        const r = await request(href('/api/x'), { headers: { ...API, Authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' } });
        assert.equal(r.status, 401);
    });

    it('.htaccess: OAuth2Use and Require oauth2-provider work, an unknown provider is a 500, a section is refused', async () => {
        const cookie = await staffSession();
        const ok = await request(href('/ht/'), { headers: { ...API, Cookie: cookie } });
        assert.equal(ok.status, 200);
        assert.equal(ok.body, 'staff only');
        assert.equal((await request(href('/ht/'), { headers: API })).status, 401);
        assert.equal((await request(href('/ht-nope/'), { headers: { ...API, Cookie: cookie } })).status, 500);
        assert.equal((await request(href('/ht-section/'))).status, 500);
    });

    it('Require not oauth2-provider partner admits staff\'s user', async () => {
        const cookie = await staffSession();
        const r = await request(href('/not-partner/x'), { headers: { ...API, Cookie: cookie } });
        assert.equal(r.status, 200);
        assert.equal(r.json().headers['x-forwarded-user'], 'alice');
    });
});

describe('lookups (subrequests that are never run)', () => {
    it('a directory listing that looks up a place of several providers does not get its sign-in page', async () => {
        const r = await request(href('/pub/'), { headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' } });
        assert.equal(r.status, 200);
        assert.match(r.body, /readme\.txt/);
        assert.doesNotMatch(r.body, /Choose how to sign in/);
    });
});

describe('Require rules', () => {
    it('an AuthzProviderAlias of oauth2-provider with a directive inside stays a provider rule', async () => {
        const cookie = await staffSession();
        const r = await request(href('/alias/x'), { headers: { ...API, Cookie: cookie } });
        assert.equal(r.status, 403, `staff's alice, in a group called partner, at Require partner-only: ${r.status} ${r.body.slice(0, 200)}`);
    });
});
