// attacks-multi.test.mjs: attacks on several providers per server (issue
// 14) that found something, with the real apache2 and one oidc-provider
// serving two named providers of one virtual host (the same issuer, two
// clients: staff and partner), started once for the file:
//   - an internal redirect (ErrorDocument) from a place of staff to a place
//     that uses only partner does not carry staff's user there.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createApache } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { startProvider } from './lib/provider.mjs';
import { freePort } from './lib/ports.mjs';
import { newBrowser, login, request } from './lib/http.mjs';

const SECRET = 'attacks-multi-secret-0123456789abcdefghijklmnopq';
const ACCOUNTS = [
    { id: 'alice', email: 'alice@example.com', email_verified: true, preferred_username: 'alice', groups: ['staff'] },
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
