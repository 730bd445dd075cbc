// attacks-inherit13.test.mjs: main 67c36c5 (a bearer token's user is
// inherited only at a place of the same OAuth2BearerAudience and
// OAuth2BearerAllowUntyped) attacked through the real apache2: every way
// httpd hands a request's user to another request (ErrorDocument, per-dir
// mod_rewrite, DirectoryIndex and MultiViews subrequests, SSI include
// virtual, chains of them), every spelling of the audience and the type
// rule, and named providers. A CGI script answers with what it was given
// (REMOTE_USER is r->user, HTTP_X_FORWARDED_USER the module's header).
//
//   finding I1  (fixed) with several providers a place checks a bearer
//               token against the first provider of its OAuth2Use only
//               (README, "Bearer tokens at a place with several
//               providers"), but an internal redirect from a place of the
//               second provider inherited that provider's token user: a
//               token the target place refuses got in by an ErrorDocument
//               (oauth2_access_inherits now asks for the very provider
//               the place checks bearer tokens against).
//   finding I2  (fixed) a subrequest or internal redirect that checks the
//               request itself read into the connection's memo, where the
//               request before it kept its user and session (r->user and
//               the identity point into the memo's copy): a MultiViews
//               variant at a place of sessions only (refused there) read
//               the browser's session of bob, and the request of a bearer
//               token became bob: its ErrorDocument, and its access log
//               line, said bob. With two providers a partner session's
//               user so reached a place of staff only. 67c36c5 made it
//               reachable with one provider (a bearer request's subrequest
//               into another audience checks itself). The glue now gives a
//               nested request's view no connection memo (src/apache.c,
//               conn.h): it reads into one of its own.
// What held is kept as tests: the audience compared byte for byte
// (a trailing slash, another case, a trailing blank are other audiences),
// AllowUntyped unset and Off alike on both sides, a merged audience, the
// other ways in, and what must still work (the same audience, a cookie
// session into a bearer place, a DirectoryIndex at a bearer place).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack } from './lib/stack.mjs';
import { createApache } from './lib/apache.mjs';
import { startBackend } from './lib/backend.mjs';
import { startProvider } from './lib/provider.mjs';
import { freePort } from './lib/ports.mjs';
import { newBrowser, login } from './lib/http.mjs';

const AUD = 'https://api.example';
const WHO = { content: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\necho "user=[$REMOTE_USER]"\necho "fwd=[$HTTP_X_FORWARDED_USER]"\necho "script=[$SCRIPT_NAME]"\n', mode: 0o755 };

/* A place of the bearer rule given, whose script says who it sees. */
const place = (name, rule) => `
<Location /cgi-bin/${name}.cgi>
    AuthType oauth2
    ${rule}
    OAuth2UnauthAction 401
    Require valid-user
</Location>`;

function get(url, headers = {}, agent = undefined) {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent, headers: { Accept: 'application/json', ...headers } }, (res) => {
            let body = '';
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve({ status: res.statusCode, body, reused: req.reusedSocket }));
        });
        req.on('error', reject);
    });
}

const seen = (r) => ({
    user: /user=\[([^\]]*)\]/.exec(r.body)?.[1],
    fwd: /fwd=\[([^\]]*)\]/.exec(r.body)?.[1],
});

describe('one provider: who an internal redirect or a subrequest carries', () => {
    let s;
    const bearer = (t) => ({ Authorization: `Bearer ${t}` });

    before(async () => {
        const targets = {
            same: `OAuth2AcceptBearer On\n    OAuth2BearerAudience ${AUD}`,
            slash: `OAuth2AcceptBearer On\n    OAuth2BearerAudience ${AUD}/`,
            case: 'OAuth2AcceptBearer On\n    OAuth2BearerAudience https://API.example',
            blank: `OAuth2AcceptBearer On\n    OAuth2BearerAudience "${AUD} "`,
            untyped: `OAuth2AcceptBearer On\n    OAuth2BearerAudience ${AUD}\n    OAuth2BearerAllowUntyped On`,
            typedoff: `OAuth2AcceptBearer On\n    OAuth2BearerAudience ${AUD}\n    OAuth2BearerAllowUntyped Off`,
            bearoff: `OAuth2AcceptBearer Off\n    OAuth2BearerAudience ${AUD}`,
            nobearer: '',
        };
        const files = {
            'htdocs/di/index.html': 'secret index of another audience',
            'htdocs/di2/index.html': 'index of the same audience',
            'htdocs/mv/doc.html': 'secret variant of another audience',
            'htdocs/ssi/same.shtml': 'S:<!--#include virtual="/cgi-bin/same.cgi" -->',
            'htdocs/ssi/slash.shtml': 'S:<!--#include virtual="/cgi-bin/slash.cgi" -->',
            'htdocs/ssi/nobearer.shtml': 'S:<!--#include virtual="/cgi-bin/nobearer.cgi" -->',
            'htdocs/rw/.keep': '',
            'htdocs/mv2/doc.cgi': WHO,
            'cgi-bin/m/who.cgi': WHO,
        };
        for (const t of Object.keys(targets)) files[`cgi-bin/${t}.cgi`] = WHO;
        s = await startStack({
            apache: { files, modules: ['include', 'negotiation'] },
            locations: (st) => `
${Object.entries(targets).map(([n, rule]) => place(n, rule)).join('\n')}
<Location /cgi-bin/m>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
</Location>
<Location /cgi-bin/m/who.cgi>
    Require valid-user
</Location>
<Location /src>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
</Location>
${Object.keys(targets).map((n) => `<Location /src/${n}>\n    ErrorDocument 404 /cgi-bin/${n}.cgi\n</Location>`).join('\n')}
<Location /src/merged>
    ErrorDocument 404 /cgi-bin/m/who.cgi
</Location>
<Location /src/chain-slash>
    ErrorDocument 404 /rw/go-slash
</Location>
<Location /src/chain-same>
    ErrorDocument 404 /rw/go-same
</Location>
<Location /srcu>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2BearerAllowUntyped On
    OAuth2UnauthAction 401
    Require valid-user
</Location>
<Location /srcu/same>
    ErrorDocument 404 /cgi-bin/same.cgi
</Location>
<Location /srcu/typedoff>
    ErrorDocument 404 /cgi-bin/typedoff.cgi
</Location>
<Location /srcu/untyped>
    ErrorDocument 404 /cgi-bin/untyped.cgi
</Location>
<Location /cookie-src>
    AuthType oauth2
    OAuth2UnauthAction 401
    Require valid-user
    ErrorDocument 404 /cgi-bin/same.cgi
</Location>
<Directory "${st.apache.docroot}/rw">
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
    RewriteEngine On
    RewriteRule ^go-(.*)$ /cgi-bin/$1.cgi [PT]
</Directory>
<Location /di>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
</Location>
<Location /di/index.html>
    OAuth2BearerAudience https://other.example
</Location>
<Location /di2>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
</Location>
<Directory "${st.apache.docroot}/mv">
    Options +MultiViews
</Directory>
<Location /mv>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
</Location>
<Location /mv/doc.html>
    OAuth2BearerAudience https://other.example
</Location>
<Directory "${st.apache.docroot}/mv2">
    Options +MultiViews +ExecCGI
    MultiviewsMatch Any
    AddHandler cgi-script .cgi
</Directory>
<Location /mv2>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
    ErrorDocument 404 /cgi-bin/same.cgi
</Location>
<Location /mv2/doc.cgi>
    OAuth2AcceptBearer Off
    Require user nobody
</Location>
<Directory "${st.apache.docroot}/ssi">
    Options +Includes
    AddOutputFilter INCLUDES .shtml
</Directory>
<Location /ssi>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
</Location>
`,
        });
    });
    after(async () => {
        await s?.stop();
    });

    it('the audience is compared byte for byte: a trailing slash, another case, a trailing blank are other places', async () => {
        const alice = await s.op.accessToken({ aud: AUD, sub: 'alice' });
        for (const t of ['slash', 'case', 'blank', 'bearoff', 'nobearer']) {
            const r = await get(s.url(`/src/${t}/nothing`), bearer(alice));
            assert.equal(r.status, 404, t);
            assert.doesNotMatch(r.body, /alice/, `${t}: the script never saw the token's user`);
        }
    });

    it('the same audience, set again or merged from a parent Location, and AllowUntyped unset or Off, inherit', async () => {
        const alice = await s.op.accessToken({ aud: AUD, sub: 'alice' });
        for (const t of ['same', 'typedoff', 'merged']) {
            const r = await get(s.url(`/src/${t}/nothing`), bearer(alice));
            assert.equal(r.status, 404, t);
            assert.deepEqual(seen(r), { user: 'alice', fwd: 'alice' }, t);
        }
        /* AllowUntyped On at the target: not inherited, checked again;
         * a typed token is good there too. */
        const r = await get(s.url('/src/untyped/nothing'), bearer(alice));
        assert.deepEqual(seen(r), { user: 'alice', fwd: 'alice' });
    });

    it('an untyped token accepted where AllowUntyped is On is not inherited where it is unset or Off', async () => {
        const untyped = await s.op.accessToken({ aud: AUD, sub: 'alice' }, { header: { typ: 'JWT' } });
        assert.equal((await get(s.url('/cgi-bin/same.cgi'), bearer(untyped))).status, 401, 'the target refuses it itself');
        for (const t of ['same', 'typedoff']) {
            const r = await get(s.url(`/srcu/${t}/nothing`), bearer(untyped));
            assert.equal(r.status, 404, t);
            assert.doesNotMatch(r.body, /alice/, `${t}: the script never saw the token's user`);
        }
        const r = await get(s.url('/srcu/untyped/nothing'), bearer(untyped));
        assert.deepEqual(seen(r), { user: 'alice', fwd: 'alice' }, 'the same rule inherits');
    });

    it('mod_rewrite in a <Directory> (an internal redirect), and an ErrorDocument into it (a chain of two)', async () => {
        const alice = await s.op.accessToken({ aud: AUD, sub: 'alice' });
        let r = await get(s.url('/rw/go-same'), bearer(alice));
        assert.deepEqual(seen(r), { user: 'alice', fwd: 'alice' });
        for (const p of ['/rw/go-slash', '/rw/go-nobearer', '/src/chain-slash/nothing']) {
            r = await get(s.url(p), bearer(alice));
            assert.notEqual(r.status, 200, p);
            assert.doesNotMatch(r.body, /alice/, p);
        }
        r = await get(s.url('/src/chain-same/nothing'), bearer(alice));
        assert.deepEqual(seen(r), { user: 'alice', fwd: 'alice' }, 'a chain through places of the same audience');
    });

    it('a DirectoryIndex or MultiViews subrequest into another audience is checked; at the same audience it works', async () => {
        const alice = await s.op.accessToken({ aud: AUD, sub: 'alice' });
        const any = { Accept: '*/*' }; /* MultiViews: the variant is text/html */
        for (const p of ['/di/', '/mv/doc']) {
            const r = await get(s.url(p), { ...any, ...bearer(alice) });
            assert.notEqual(r.status, 200, p);
            assert.doesNotMatch(r.body, /secret/, p);
        }
        const other = await s.op.accessToken({ aud: [AUD, 'https://other.example'], sub: 'alice' });
        for (const [p, body] of [['/di/', 'secret index of another audience'], ['/mv/doc', 'secret variant of another audience']]) {
            assert.equal((await get(s.url(p), { ...any, ...bearer(other) })).body, body, `${p}: a token of both audiences`);
        }
        const r = await get(s.url('/di2/'), bearer(alice));
        assert.equal(r.status, 200);
        assert.equal(r.body, 'index of the same audience');
    });

    it('SSI <!--#include virtual--> of a place of another audience or of sessions only does not carry the token\'s user', async () => {
        const alice = await s.op.accessToken({ aud: AUD, sub: 'alice' });
        let r = await get(s.url('/ssi/same.shtml'), bearer(alice));
        assert.equal(r.status, 200);
        assert.match(r.body, /user=\[alice\]/, 'the same audience');
        for (const p of ['/ssi/slash.shtml', '/ssi/nobearer.shtml']) {
            r = await get(s.url(p), bearer(alice));
            assert.match(r.body, /^S:/, p);
            assert.doesNotMatch(r.body, /alice/, p);
        }
    });

    /* Finding I2: a subrequest that checks the request itself read
     * another session into the connection's memo, where the request
     * before it still kept its user: a MultiViews variant at a place of
     * sessions only (refused there) read bob's cookie session, and the
     * main request, a token's, became bob: its ErrorDocument answered as
     * bob (its access log line too), at a place where this request's
     * token decides. */
    it('a subrequest that reads another session leaves its main request\'s user alone (finding I2)', async () => {
        const b = newBrowser();
        await login(b, s.url('/app/'), { username: 'bob' });
        const tokyo = await s.op.accessToken({ aud: AUD, sub: 'tokyo' });
        for (let i = 0; i < 3; i++) {
            const mark = s.apache.mark();
            const r = await b.get(s.url('/mv2/doc'), { headers: { Accept: '*/*', ...bearer(tokyo) } });
            assert.equal(r.status, 404, `request ${i + 1}`);
            assert.deepEqual(seen(r), { user: 'tokyo', fwd: 'tokyo' }, `request ${i + 1}: the token's user, never bob`);
            assert.match(await s.apache.waitForLog(/"GET \/mv2\/doc HTTP\/1\.1" 404/, { since: mark, log: 'access' }), / tokyo \[/);
        }
    });

    it('a cookie session\'s ErrorDocument into a bearer place keeps its user', async () => {
        const b = newBrowser();
        await login(b, s.url('/app/'), { username: 'alice' });
        const r = await b.get(s.url('/cookie-src/nothing'), { headers: { Accept: 'application/json' } });
        assert.equal(r.status, 404);
        assert.deepEqual(seen(r), { user: 'alice', fwd: 'alice' });
    });
});

/* Two named providers, each its own issuer and keys: staff and partner.
 * A place of several checks a bearer token against the first of its
 * OAuth2Use only (README); finding I1: an ErrorDocument from a place of
 * partner carried a partner token's user into a place of "staff partner"
 * (or of all named providers, staff first) that refuses that token. */
describe('named providers: a bearer token\'s user goes only where its provider checks tokens', () => {
    const env = {};
    const href = (p) => `http://127.0.0.1:${env.port}${p}`;
    const target = (name, use) => `
<Location /cgi-bin/${name}.cgi>
    AuthType oauth2
    ${use ? `OAuth2Use ${use}` : ''}
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
</Location>
<Location /p-src/${name}>
    ErrorDocument 404 /cgi-bin/${name}.cgi
</Location>
<Location /s-src/${name}>
    ErrorDocument 404 /cgi-bin/${name}.cgi
</Location>`;
    const config = () => `
OAuth2Secret attacks-inherit13-secret-0123456789abcdefghijkl
<OAuth2Provider staff>
    OAuth2Provider ${env.staff.issuer}
    OAuth2ClientID staff-app
    OAuth2ClientSecret staff-secret
</OAuth2Provider>
<OAuth2Provider partner>
    OAuth2Provider ${env.partner.issuer}
    OAuth2ClientID partner-app
    OAuth2ClientSecret partner-secret
</OAuth2Provider>
<Location /p-src>
    AuthType oauth2
    OAuth2Use partner
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
</Location>
<Location /s-src>
    AuthType oauth2
    OAuth2Use staff
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
</Location>
<Directory "${env.apache.docroot}/ms">
    Options +MultiViews +ExecCGI
    MultiviewsMatch Any
    AddHandler cgi-script .cgi
</Directory>
<Location /ms>
    AuthType oauth2
    OAuth2Use staff
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    OAuth2UnauthAction 401
    Require valid-user
    ErrorDocument 404 /cgi-bin/staff.cgi
</Location>
<Location /ms/doc.cgi>
    OAuth2Use partner
    OAuth2AcceptBearer Off
    Require user nobody
</Location>
${target('both', 'staff partner')}
${target('hub', '')}
${target('partner', 'partner')}
${target('staff', 'staff')}
`;

    before(async () => {
        env.port = await freePort();
        env.backend = await startBackend();
        const cb = (name) => `http://127.0.0.1:${env.port}/oauth2/${name}/callback`;
        env.staff = await startProvider({ clients: [{ client_id: 'staff-app', client_secret: 'staff-secret', redirect_uris: [cb('staff')] }] });
        env.partner = await startProvider({ clients: [{ client_id: 'partner-app', client_secret: 'partner-secret', redirect_uris: [cb('partner')] }] });
        env.apache = await createApache({
            withModule: true,
            port: env.port,
            logLevel: 'info auth_oauth2:debug',
            modules: ['negotiation'],
            config,
            files: {
                ...Object.fromEntries(['both', 'hub', 'partner', 'staff'].map((n) => [`cgi-bin/${n}.cgi`, WHO])),
                'htdocs/ms/doc.cgi': WHO,
            },
        });
        await env.apache.start();
    });
    after(async () => {
        await env.apache?.stop();
        await env.staff?.stop();
        await env.partner?.stop();
        await env.backend?.stop();
    });

    it('a partner token: refused at a place whose first provider is staff, and not inherited there', async () => {
        const pat = await env.partner.accessToken({ aud: AUD, sub: 'pat' });
        const auth = { Authorization: `Bearer ${pat}` };
        for (const t of ['both', 'hub', 'staff']) {
            assert.equal((await get(href(`/cgi-bin/${t}.cgi`), auth)).status, 401, `${t} refuses it itself`);
            const r = await get(href(`/p-src/${t}/nothing`), auth);
            assert.equal(r.status, 404, t);
            assert.doesNotMatch(r.body, /pat/, `${t}: the script never saw the partner token's user`);
        }
        const r = await get(href('/p-src/partner/nothing'), auth);
        assert.deepEqual(seen(r), { user: 'pat', fwd: 'pat' }, 'a place of partner inherits it');
    });

    it('a staff token is inherited where staff checks the tokens, not where only partner does', async () => {
        const sam = await env.staff.accessToken({ aud: AUD, sub: 'sam' });
        const auth = { Authorization: `Bearer ${sam}` };
        for (const t of ['both', 'hub', 'staff']) {
            const r = await get(href(`/s-src/${t}/nothing`), auth);
            assert.deepEqual(seen(r), { user: 'sam', fwd: 'sam' }, t);
        }
        const r = await get(href('/s-src/partner/nothing'), auth);
        assert.equal(r.status, 404);
        assert.doesNotMatch(r.body, /sam/);
    });

    /* Finding I2 across providers: a staff token's request whose
     * MultiViews subrequest read a partner session (bob) became bob, and
     * its ErrorDocument at a place of staff only answered as partner's
     * bob, whom no request can be there. */
    it('a partner session read by a subrequest does not become the staff request\'s user (finding I2)', async () => {
        const b = newBrowser();
        await login(b, href('/oauth2/partner/start?rd=%2F'), { username: 'bob' });
        assert.ok(b.cookie('oauth2_session_partner', href('/')), 'a partner session');
        const sam = await env.staff.accessToken({ aud: AUD, sub: 'sam' });
        /* From the second on, the token's record comes from the store
         * through the connection's memo. */
        for (let i = 0; i < 3; i++) {
            const r = await b.get(href('/ms/doc'), { headers: { Accept: '*/*', Authorization: `Bearer ${sam}` } });
            assert.equal(r.status, 404, `request ${i + 1}`);
            assert.deepEqual(seen(r), { user: 'sam', fwd: 'sam' }, `request ${i + 1}: staff's sam, never partner's bob`);
        }
        /* bob's partner session alone is nobody at a place of staff */
        assert.equal((await b.get(href('/cgi-bin/staff.cgi'), { headers: { Accept: 'application/json' } })).status, 401);
    });
});
