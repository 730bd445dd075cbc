// debuglog.test.mjs: at `LogLevel auth_oauth2:debug` one login tells its
// story in the error log (issue 17 §3): the decision for the unauthenticated
// request and why, the discovery document and the JWKS (fetched with their
// timing, then cached), the token exchange (status, timing, which tokens
// came back), the ID token's checks, the claims' names, the user and groups
// chosen, each Require decision with its rule and outcome, a bearer token,
// a refresh and a logout. And no secret ever reaches the log, at debug nor
// at trace8: the client secret, the module's secret, the access, ID and
// refresh tokens, the authorization code, the PKCE verifier, the state and
// nonce, every cookie value the module set, a bearer token.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { waitFor } from './lib/ports.mjs';

const AUDIENCE = 'https://api.example.com';

/* Every substring of `len` characters of text, for the scan below. */
function windows(text, len) {
    const out = new Set();
    for (let i = 0; i + len <= text.length; i++) out.add(text.slice(i, i + len));
    return out;
}

/*
 * The secrets' parts that must not be in the log: a secret as a whole
 * when it is short, else each run of 16 of its characters (a truncated
 * or partly quoted token counts too). A JWT's first part (its header:
 * alg, kid) is no secret, and its other two are looked for separately.
 */
function leaks(log, secrets) {
    const LEN = 16;
    const seen = windows(log, LEN);
    const found = [];
    for (const [what, value] of secrets) {
        if (!value) continue;
        const parts = /^[\w-]+\.[\w-]+\.[\w-]*$/.test(value) ? value.split('.').slice(1) : [value];
        for (const part of parts) {
            if (part.length < LEN) {
                if (part.length >= 6 && log.includes(part)) found.push(`${what}: "${part}"`);
                continue;
            }
            for (let i = 0; i + LEN <= part.length; i++) {
                const w = part.slice(i, i + LEN);
                if (seen.has(w)) {
                    const at = log.indexOf(w);
                    found.push(`${what} (…${w}…) in: ${log.slice(log.lastIndexOf('\n', at) + 1, log.indexOf('\n', at))}`);
                    break;
                }
            }
        }
    }
    return found;
}

const LOCATIONS = (st) => `
<Location /admin>
    AuthType oauth2
    Require oauth2-group nobody-is-in-this
    ProxyPass ${st.backend.url}/admin
</Location>
<Location /staff>
    AuthType oauth2
    Require oauth2-group staff
    ProxyPass ${st.backend.url}/staff
</Location>
<Location /token>
    AuthType oauth2
    Require valid-user
    OAuth2PassAccessToken On
    ProxyPass ${st.backend.url}/token
</Location>
<Location /api>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUDIENCE}
    Require valid-user
    ProxyPass ${st.backend.url}/api
</Location>
`;

/*
 * A day in the life, with every secret it meets collected: a login
 * (state, nonce, code, PKCE verifier, tokens, cookies), a second login
 * (cached documents), a refusal and a grant, a refresh, a bearer token,
 * a logout (its id_token_hint).
 */
async function day(s) {
    const secrets = [
        ['client secret', s.clientSecret],
        ['OAuth2Secret', s.secret],
    ];
    const cookies = (b) => b.cookies().forEach((c) => secrets.push([`cookie ${c.name}`, c.value]));
    const query = (url, what) => {
        const u = new URL(url);
        for (const name of what) secrets.push([`${name} (${u.pathname})`, u.searchParams.get(name)]);
    };
    const alice = newBrowser();
    const r = await login(alice, s.url('/app/one'), {
        onRedirect: (url, hop) => {
            (hop.setCookie ?? []).forEach((line) => secrets.push(['a Set-Cookie', line.split(';')[0].split('=').slice(1).join('=')]));
            return url;
        },
    });
    assert.equal(r.final.status, 200);
    query(r.authorization.url, ['state', 'nonce']);
    query(r.callback.url, ['code', 'state']);
    cookies(alice);
    const bob = newBrowser();
    const rb = await login(bob, s.url('/app/two'), { username: 'bob' });
    query(rb.authorization.url, ['state', 'nonce']);
    query(rb.callback.url, ['code', 'state']);
    cookies(bob);

    assert.equal((await alice.get(s.url('/admin/x'))).status, 403);
    assert.equal((await alice.get(s.url('/staff/x'))).status, 200);
    // The access token lives 4 s: /token refreshes it 2 s before it expires.
    const first = JSON.parse((await alice.get(s.url('/token/x'))).body).headers['x-forwarded-access-token'];
    secrets.push(['access token', first]);
    let second;
    await waitFor(async () => {
        const t = await alice.get(s.url('/token/x'));
        second = JSON.parse(t.body).headers['x-forwarded-access-token'];
        return second !== first;
    }, { timeout: 15000, interval: 250, what: 'a refresh of the access token' });
    secrets.push(['refreshed access token', second]);
    cookies(alice);

    const bearer = await s.op.accessToken({ aud: AUDIENCE, sub: 'svc' });
    secrets.push(['bearer token', bearer]);
    const api = await request(s.url('/api/x'), { headers: { Authorization: `Bearer ${bearer}`, Accept: 'application/json' } });
    assert.equal(api.status, 200);

    const out = await alice.get(s.url('/oauth2/logout?rd=/public/bye'));
    assert.equal(out.status, 302);
    query(out.location, ['id_token_hint']);
    assert.ok(new URL(out.location).searchParams.get('id_token_hint'), 'the logout names the ID token');

    // What the module sent the provider: the code, the PKCE verifiers, the
    // refresh token, the client's credentials.
    for (const q of s.op.requests.filter((x) => x.endpoint === 'token')) {
        const form = new URLSearchParams(typeof q.body === 'string' ? q.body : '');
        for (const name of ['code', 'code_verifier', 'refresh_token', 'client_secret']) {
            if (form.get(name)) secrets.push([`${name} (token request)`, form.get(name)]);
        }
        const auth = q.headers?.authorization;
        if (auth) secrets.push(['Authorization to the token endpoint', auth.replace(/^Basic /, '')]);
    }
    for (const q of s.op.requests.filter((x) => x.endpoint === 'userinfo')) {
        const auth = q.headers?.authorization;
        if (auth) secrets.push(['Authorization to userinfo', auth.replace(/^Bearer /, '')]);
    }
    const kinds = new Set(secrets.filter(([, v]) => v).map(([w]) => w.replace(/ \(.*$/, '')));
    for (const k of ['code', 'code_verifier', 'refresh_token', 'state', 'nonce', 'id_token_hint', 'access token']) {
        assert.ok(kinds.has(k), `the scan has the ${k} to look for`);
    }
    return secrets;
}

function stack(level) {
    return startStack({
        provider: { refreshTokens: true, ttl: { AccessToken: 4 } },
        client: { grant_types: ['authorization_code', 'refresh_token'] },
        apache: { logLevel: `info auth_oauth2:${level}` },
        locations: LOCATIONS,
    });
}

describe('LogLevel auth_oauth2:debug tells the story of a login', () => {
    let s;
    let log;
    let secrets;
    before(async () => {
        s = await stack('debug');
        secrets = await day(s);
        await s.apache.waitForLog(/OA2410: logout/);
        log = s.apache.errorLog();
    });
    after(async () => s?.stop());

    it('tells each step of the login, the session and the Require decisions', () => {
        const line = (re) => {
            const l = log.split('\n').find((x) => re.test(x));
            assert.ok(l, `${re} in the log:\n${log}`);
            assert.match(l, /\[auth_oauth2:debug\]/);
            return l;
        };
        line(/OA2401: GET \/app\/one: no valid session cookie; OAuth2UnauthAction auto, a browser navigation: log in/);
        line(/OA2402: provider http:\/\/127\.0\.0\.1:\d+: discovery document fetched from http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration in \d+ ms/);
        // Another process's fetch, or this one's copy: not fetched again.
        line(/OA2402: provider .*: discovery document (cached, fetched|fetched by another process) \d+ s ago/);
        line(/OA2413: authorization request to http:\/\/127\.0\.0\.1:\d+\/auth: scope "openid[^"]*", PKCE S256, nonce/);
        line(/OA2108: sent to log in, returning to \/app\/one/);
        line(/OA2409: callback with a valid state: the login began \d+ s ago and returns to \/app\/one; parameters: code, state, iss/);
        line(/OA2403: token endpoint http:\/\/127\.0\.0\.1:\d+\/token answered HTTP 200 in \d+ ms \(authorization code\): access_token \(expires in \d+ s\), id_token, refresh_token/);
        line(/OA2404: ID token verified: RS256 signature \(kid [\w-]+\) with the provider's JWKS \(fetched from http:\/\/127\.0\.0\.1:\d+\/jwks in \d+ ms\); iss, aud, azp, exp \(in \d+ s\), iat, nbf, nonce and typ checked/);
        line(/OA2404: ID token verified: .*JWKS \((cached, fetched|fetched by another process) \d+ s ago\)/);
        line(/OA2406: claims received: sub, (?=.*\bemail\b)(?=.*\bgroups\b)/);
        line(/OA2407: user alice \(claim sub\), email alice@example\.com \(verified\), groups \(claim groups\) staff, admins/);
        line(/OA2407: user bob \(claim sub\), email bob@other\.example, groups \(claim groups\) users/);
        line(/OA2408: session stored in the shm store \(\d+ bytes\), ends after \d+ s without requests or \d+ s after the login/);
        line(/OA2420: Require oauth2-group nobody-is-in-this: denied to alice/);
        line(/OA2420: Require oauth2-group staff: granted to alice/);
        line(/OA2403: token endpoint .* answered HTTP 200 in \d+ ms \(refresh token\): access_token/);
        line(/OA2430: bearer token verified for svc \(aud https:\/\/api\.example\.com\), kept until it expires in \d+ s/);
        line(/OA2410: logout: the session and its cookies removed; on to http:\/\/127\.0\.0\.1:\d+\/session\/end/);
    });

    it('holds no secret: tokens, code, PKCE verifier, state, nonce, cookies, client secret', () => {
        assert.deepEqual(leaks(log, secrets), [], 'secrets in the debug log');
    });
});

describe('LogLevel auth_oauth2:trace8: more detail, still no secret', () => {
    let s;
    let log;
    let secrets;
    before(async () => {
        s = await stack('trace8');
        secrets = await day(s);
        await s.apache.waitForLog(/OA2410: logout/);
        log = s.apache.errorLog();
    });
    after(async () => s?.stop());

    it('adds trace lines: parameter names, endpoints, token response members', () => {
        assert.match(log, /\[auth_oauth2:trace1\] .*OA2412: authorization request parameters: (?=.*\bstate\b)(?=.*\bnonce\b)(?=.*\bcode_challenge\b)/);
        assert.match(log, /\[auth_oauth2:trace2\] .*OA2411: endpoints: authorization http:\/\/127\.0\.0\.1:\d+\/auth, token http:\/\/127\.0\.0\.1:\d+\/token, .*ID tokens expected/);
        assert.match(log, /\[auth_oauth2:trace2\] .*OA2403: token response members: (?=.*access_token)(?=.*id_token)(?=.*refresh_token)/);
    });

    it('holds no secret', () => {
        assert.match(log, /OA2407: user alice/);
        assert.deepEqual(leaks(log, secrets), [], 'secrets in the trace8 log');
    });
});
