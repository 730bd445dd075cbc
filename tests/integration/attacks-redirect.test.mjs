// attacks-redirect.test.mjs: open redirects (issue 6, attack catalog) through
// every target the module follows: `rd` of /oauth2/logout (without a session
// the Location itself; with one, the post_logout_redirect_uri handed to the
// provider's end_session endpoint) and of /oauth2/start, and the original
// URL of a protected request (a raw request target, stored in the login
// state and followed by the callback). Each Location is resolved
// as a browser does (WHATWG URL: '\' is '/', tabs and newlines vanish), and
// its host must be this one, or the allow-listed good.com exactly.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { newBrowser, login, request, rawRequest } from './lib/http.mjs';
import { REPO_ROOT } from './lib/apache.mjs';
import {
    assertNoBackendBody, assertServing, countLog, readPayloads, sample, setCookies,
    corporaAvailable, CORPORA, CORPORA_DIR,
} from './lib/attacks.mjs';

// Host used inside the payload lists (ours and the public corpora).
const LIST_HOST = 'www.whitelisteddomain.tld';

// [payload (the decoded rd value; taken raw as a request target), what
// Apache itself does with it as a raw request target: 'login' (the module
// starts a login, whose state must return to "/"), or the status Apache
// answers before any module runs].
const NAMED = [
    ['//evil.com', 'login'],
    ['///evil.com', 'login'],
    ['/\\evil.com', 'login'],
    ['\\\\evil.com', 400],
    ['/%2F%2Fevil.com', 404], // AllowEncodedSlashes Off
    ['/%5Cevil.com', 'login'],
    ['/\t/evil.com', 400],
    ['//\tevil.com', 400],
    ['/ /evil.com', 400],
    ['// evil.com', 400],
    ['/\r/evil.com', 400],
    ['/\n/evil.com', 400],
    ['//\revil.com', 400],
    ['//\nevil.com', 400],
    ['//evil.com\t', 400],
    ['\t//evil.com', 400],
    [' //evil.com', 400],
    ['/%09/evil.com', 'login'],
    ['//%09evil.com', 'login'],
    ['/%20/evil.com', 'login'],
    ['//%20evil.com', 'login'],
    ['/%0d/evil.com', 'login'],
    ['/%0a/evil.com', 'login'],
    ['//%0devil.com', 'login'],
    ['//%0aevil.com', 'login'],
    ['//evil.com%09', 'login'],
    ['/%0d%0aSet-Cookie:%20injected=1', 'login'],
    ['/./\\evil.com', 'login'],
    ['/app/../\\evil.com', 'login'],
    ['https:evil.com', 400],
    ['HTTPS://evil.com', 'login'],
    ['javascript:alert(1)', 400],
    ['JaVaScRiPt:alert(1)', 400],
    ['data:text/html,<script>alert(1)</script>', 400],
    ['https://good@evil.com', 400],
    ['https://good.com@evil.com', 400],
    ['https://evil.com\\@good.com', 400],
    ['https://evil.com#@good.com', 400],
    ['https://evil.com?@good.com', 'login'],
    ['https://good.com.evil.com', 'login'],
    ['https://good.evil.com', 'login'],
    ['https://evilgood.com', 'login'],
    ['http://good.com%2eevil.com', 400],
    ['//good.com', 'login'],
];

// Accepted as they are: this host's paths, and the allow-listed good.com.
// Where a logout without a valid rd ends (issue 17): never '/', which
// would send the user straight back into the provider's login form.
const SIGNED_OUT = '/oauth2/signed-out';

const ALLOWED = ['/app/ok?x=1&y=%2F', 'https://good.com/x?y=1', 'https://GOOD.com/', 'http://good.com:8443/a#b'];

describe('attacks: open redirects', () => {
    let s;
    let user; // logged in at the provider and here: logins are quick
    let base; // http://127.0.0.1:port

    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2AllowedRedirectHosts good.com',
            // Everything is protected, so any raw request target is an
            // "original URL" the module stores; /public stays open.
            locations: () => `
<Location />
    AuthType oauth2
    Require valid-user
</Location>
<Location /public>
    AuthType None
    Require all granted
</Location>`,
        });
        base = s.url('/');
        user = newBrowser();
        await login(user, s.url('/app/first'));
    });
    after(async () => s?.stop());

    /* GET /oauth2/logout?rd=P: the Location header as sent. */
    async function viaLogout(payload, host) {
        const r = await request(s.url(`/oauth2/logout?rd=${encodeURIComponent(payload)}`), {
            headers: host ? { Host: host } : {},
        });
        assert.equal(r.status, 302, `logout rd=${JSON.stringify(payload)}`);
        assertNoBackendBody(r);
        return r.headers.location;
    }

    /* With a session, logout continues at the provider's end_session
     * endpoint (RP-Initiated Logout): the post-logout target is its
     * post_logout_redirect_uri. */
    async function viaLogoutWithSession(payload) {
        const b = newBrowser();
        b.jar = new Map([...user.jar].filter(([, c]) => !c.name.startsWith('oauth2_')));
        await throughLogin(s.url('/oauth2/start?rd=/'), b).then(() => null);
        const cb = await b.get(s.url('/app/logged-in'));
        assert.equal(cb.status, 200, 'logged in');
        const r = await b.get(s.url(`/oauth2/logout?rd=${encodeURIComponent(payload)}`));
        assert.equal(r.status, 302);
        assertNoBackendBody(r);
        const end = new URL(r.headers.location);
        assert.equal(end.origin, s.op.issuer, 'continues at the provider');
        assert.equal(end.pathname, new URL(s.op.metadata.end_session_endpoint).pathname);
        assert.equal(b.cookie('oauth2_session', s.url('/')), undefined, 'the session cookie is gone');
        return end.searchParams.get('post_logout_redirect_uri');
    }

    /* Follows a login from url (on Apache) to the callback; the callback's
     * Location as sent. The provider already knows the user. */
    async function throughLogin(url, browser = user) {
        const res = await login(browser, url, {
            onRedirect: (u, hop) => (new URL(hop.url).pathname === '/oauth2/callback' ? false : u),
        });
        assert.ok(res.callback, `the login of ${url} reached the callback`);
        assert.equal(res.callback.status, 302);
        return res.callback.headers.location;
    }

    async function viaStart(payload) {
        const r = await request(s.url(`/oauth2/start?rd=${encodeURIComponent(payload)}`), { browser: user });
        assert.equal(r.status, 302);
        assert.equal(new URL(r.headers.location).origin, s.op.issuer, 'start goes to the provider');
        assertNoBackendBody(r);
        return throughLogin(r.location);
    }

    /* The payload as the raw request target of a protected request:
     * {status} when Apache refuses it itself, else {status: 302, back}:
     * where the completed login returns to. An absolute-form target
     * (RFC 9112 §3.2.2) names the request's host itself, so the callback
     * would be on that host: there the return URL the module logged
     * (OA2108) must stay on it. */
    async function viaOriginalUrl(payload, host = `127.0.0.1:${s.apache.port}`) {
        const mark = s.apache.mark();
        const r = await rawRequest(s.apache.port, Buffer.from(
            `GET ${payload} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/html\r\nConnection: close\r\n\r\n`, 'utf8'));
        assert.ok(r.complete, `a complete answer to ${JSON.stringify(payload)}`);
        assertNoBackendBody(r);
        if (r.status !== 302) return { status: r.status };
        const auth = new URL(r.headers.location);
        assert.equal(auth.origin, s.op.issuer, 'sent to the provider');
        // Apache takes any syntactically valid authority (even 472.314.470.462).
        const hostname = (u) => /^https?:\/\/([^/:?#]*)/i.exec(u)?.[1].toLowerCase();
        const callback = auth.searchParams.get('redirect_uri');
        if (hostname(callback) !== '127.0.0.1') {
            const line = await s.apache.waitForLog(/OA2108: sent to log in, returning to /, { since: mark });
            const target = line.replace(/^.*OA2108: sent to log in, returning to /, '');
            assert.ok(target.startsWith('/') || hostname(target) === hostname(callback),
                `absolute-form ${JSON.stringify(payload)}: returns to ${target}, not the request's host`);
            return { status: 302, back: '/', absolute: true };
        }
        const b = newBrowser();
        b.jar = new Map(user.jar); // the provider's session, not ours
        b.deleteCookie('oauth2_session');
        setCookies(b, base, r);
        return { status: 302, back: await throughLogin(r.headers.location, b) };
    }

    for (const [payload, raw] of NAMED) {
        it(`refuses ${JSON.stringify(payload)} as logout rd (post-logout target), start rd and original URL`, async () => {
            let mark = s.apache.mark();
            assert.equal(await viaLogout(payload), SIGNED_OUT);
            assert.equal(countLog(s.apache, /OA2213: refused redirect target/, mark), 1, 'OA2213 logged');

            mark = s.apache.mark();
            assert.equal(await viaLogoutWithSession(payload), new URL(SIGNED_OUT, base).href, 'the provider is told to come back to the signed-out page');
            assert.equal(countLog(s.apache, /OA2213: refused redirect target/, mark), 1, 'OA2213 logged');

            mark = s.apache.mark();
            const back = await viaStart(payload);
            assert.equal(back, '/');
            assert.equal(new URL(back, base).host, new URL(base).host);
            assert.equal(countLog(s.apache, /OA2105: refused return URL/, mark), 1, 'OA2105 logged');

            mark = s.apache.mark();
            const orig = await viaOriginalUrl(payload);
            if (raw === 'login') {
                assert.equal(orig.status, 302);
                assert.equal(orig.back, '/');
                assert.equal(countLog(s.apache, /OA2105: refused return URL/, mark), 1, 'OA2105 logged');
            }
            else {
                assert.equal(orig.status, raw, 'Apache refuses the request target itself');
            }
            await assertServing(s, user);
        });
    }

    for (const target of ALLOWED) {
        it(`follows the allowed target ${target}`, async () => {
            const mark = s.apache.mark();
            assert.equal(await viaLogout(target), target);
            // Relative targets are made absolute on this host; others are kept as they are.
            assert.equal(await viaLogoutWithSession(target), target.startsWith('/') ? new URL(target, base).href : target);
            assert.equal(await viaStart(target), target);
            assert.equal(countLog(s.apache, /OA2213|OA2105/, mark), 0);
        });
    }

    it('keeps the original URL of a protected request, query included', async () => {
        const orig = await viaOriginalUrl('/deep/page?q=1&r=%2F%2Fevil.com');
        assert.equal(orig.status, 302);
        assert.equal(orig.back, '/deep/page?q=1&r=%2F%2Fevil.com');
    });

    it('never splits the Location header (CR/LF in rd)', async () => {
        for (const rd of ['/\r\nSet-Cookie: injected=1', '/%0d%0aSet-Cookie:%20injected=1', '/\u2028x', '/a\u0001b']) {
            const r = await request(s.url(`/oauth2/logout?rd=${encodeURIComponent(rd)}`));
            assert.equal(r.status, 302);
            assert.equal(r.headers.location, SIGNED_OUT);
            assert.ok(!r.setCookie.some((c) => c.startsWith('injected')), 'no injected cookie');
        }
    });

    it('answers 400 to a NUL byte in rd (start and logout)', async () => {
        for (const ep of ['logout', 'start']) {
            const r = await request(s.url(`/oauth2/${ep}?rd=${encodeURIComponent('/\u0000//evil.com')}`));
            assert.equal(r.status, 400, ep);
            assert.equal(r.headers.location, undefined);
            assert.equal(r.setCookie.length, 0);
        }
        await assertServing(s, user);
    });

    it('refuses a very long rd (over 4096 bytes) and still answers', async () => {
        const mark = s.apache.mark();
        assert.equal(await viaLogout(`/${'a'.repeat(6000)}`), SIGNED_OUT);
        assert.equal(countLog(s.apache, /OA2213/, mark), 1);
        assert.equal(await viaLogout(`/${'a'.repeat(4000)}`), `/${'a'.repeat(4000)}`);
    });

    it('refuses every payload of tests/data/open-redirects.txt at logout, start and as the original URL', async () => {
        const payloads = readPayloads(path.join(REPO_ROOT, 'tests/data/open-redirects.txt'), { comments: true });
        assert.ok(payloads.length > 100, `${payloads.length} payloads`);
        let mark = s.apache.mark();
        for (const p of payloads) {
            assert.equal(await viaLogout(p, LIST_HOST), SIGNED_OUT, `logout rd=${JSON.stringify(p)}`);
        }
        assert.equal(countLog(s.apache, /OA2213/, mark), payloads.length, 'one OA2213 line each');
        mark = s.apache.mark();
        for (const p of payloads) {
            assert.equal(await viaStart(p), '/', `start rd=${JSON.stringify(p)}`);
        }
        assert.equal(countLog(s.apache, /OA2105/, mark), payloads.length, 'one OA2105 line each');
        const statuses = {};
        for (const p of payloads) {
            const o = await viaOriginalUrl(p);
            statuses[o.status] = (statuses[o.status] ?? 0) + 1;
            if (o.status === 302) assert.equal(o.back, '/', `original URL ${JSON.stringify(p)}`);
            else assert.ok([400, 404].includes(o.status), `original URL ${JSON.stringify(p)}: ${o.status}`);
        }
        assert.ok(statuses[302] > 30, `many reach the module: ${JSON.stringify(statuses)}`);
        await assertServing(s, user);
    });

    it('keeps every public corpus payload on this host (all at logout, a sample of 100 at start and as the original URL, 50 of them as post-logout targets)', async (t) => {
        // The lists are part of the tree (tests/data/corpora): never skipped.
        assert.ok(corporaAvailable(), `the public corpora in ${CORPORA_DIR}`);
        const payloads = CORPORA.flatMap((f) => readPayloads(path.join(CORPORA_DIR, f)))
            .map((l) => l.replace(/\r$/, ''))
            .filter((l) => l !== '');
        assert.ok(payloads.length >= 1300, `${payloads.length} payloads`);
        const listBase = `http://${LIST_HOST}:${s.apache.port}/`;
        let kept = 0;
        for (const p of payloads) {
            const loc = await viaLogout(p, LIST_HOST);
            assert.equal(new URL(loc, listBase).hostname, LIST_HOST, `logout rd=${JSON.stringify(p)} -> ${loc}`);
            if (loc !== SIGNED_OUT) kept++;
        }
        t.diagnostic(`${payloads.length} payloads at logout: ${payloads.length - kept} refused, ${kept} kept as same-host targets`);
        const some = sample(payloads, 100);
        for (const p of some.slice(0, 50)) {
            const after = await viaLogoutWithSession(p);
            assert.equal(new URL(after).host, new URL(base).host, `post-logout target of ${JSON.stringify(p)}: ${after}`);
        }
        for (const p of some) {
            const back = await viaStart(p);
            assert.equal(new URL(back, base).host, new URL(base).host, `start rd=${JSON.stringify(p)} -> ${back}`);
            const o = await viaOriginalUrl(p);
            if (o.status === 302) {
                assert.equal(new URL(o.back, base).host, new URL(base).host, `original URL ${JSON.stringify(p)} -> ${o.back}`);
            }
            else {
                assert.ok([400, 404, 414].includes(o.status), `original URL ${JSON.stringify(p)}: ${o.status}`);
            }
        }
        await assertServing(s, user);
    });
});
