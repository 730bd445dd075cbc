// attacks-bearer-memo.test.mjs: attacks on the bearer memo consulted before
// the token's syntax check (commit d3120df). A keep-alive connection
// remembers the id "bearer:<audience>\n[u\n]<raw bytes after 'Bearer '>" of
// the last token it verified; on a hit the RFC 6750 syntax check is skipped.
// The claim under attack: the memo only ever holds bytes that passed the
// check, so every request is answered on a kept connection exactly as on a
// fresh one. Each test sends what an attacker controls (raw bytes through
// node:net where an HTTP client would refuse them) once the connection's
// memo holds a good token (from its second request with it: the first
// verifies it into the store, the second copies the store's record into
// the memo), and compares with a fresh connection.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { MODULES_DIR } from './lib/apache.mjs';
import { startProvider } from './lib/provider.mjs';
import { newBrowser, login, request } from './lib/http.mjs';

const AUD = 'https://api.example';
const MAX_JWT = 64 * 1024; /* OAUTH2_MAX_JWT, src/bounds.h */

/* One raw HTTP/1.1 connection: send(bytes) resolves with the next
 * response ({status, headers, body}); closed when Apache closed it. */
function rawConn(port) {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let closed = false;
    let waiter = null;
    const chunked = (rest) => {
        const parts = [];
        let at = 0;
        for (;;) {
            const eol = rest.indexOf('\r\n', at);
            if (eol < 0) return null;
            const n = parseInt(rest.subarray(at, eol).toString(), 16);
            if (rest.length < eol + 2 + n + 2) return null;
            if (n === 0) return { body: Buffer.concat(parts), used: eol + 4 };
            parts.push(rest.subarray(eol + 2, eol + 2 + n));
            at = eol + 2 + n + 2;
        }
    };
    const parse = () => {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return null;
        const lines = buf.subarray(0, i).toString('latin1').split('\r\n');
        const headers = {};
        for (const l of lines.slice(1)) {
            const k = l.indexOf(':');
            headers[l.slice(0, k).toLowerCase()] = l.slice(k + 1).trim();
        }
        const rest = buf.subarray(i + 4);
        let body;
        let used;
        if (headers['content-length'] !== undefined) {
            used = Number(headers['content-length']);
            if (rest.length < used) return null;
            body = rest.subarray(0, used);
        }
        else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
            const c = chunked(rest);
            if (c === null) return null;
            ({ body, used } = c);
        }
        else {
            if (!closed) return null;
            body = rest;
            used = rest.length;
        }
        buf = rest.subarray(used);
        return { status: Number(lines[0].split(' ')[1]), headers, body: body.toString() };
    };
    const pump = () => {
        if (waiter === null) return;
        const r = parse();
        if (r !== null) {
            const w = waiter;
            waiter = null;
            w.resolve(r);
        }
        else if (closed) {
            const w = waiter;
            waiter = null;
            w.reject(new Error('connection closed without a response'));
        }
    };
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
    sock.on('close', () => { closed = true; pump(); });
    sock.on('error', () => {});
    return {
        get closed() { return closed; },
        send(bytes) {
            return new Promise((resolve, reject) => {
                const t = setTimeout(() => { waiter = null; reject(new Error('no response in 10 s')); }, 10000);
                waiter = {
                    resolve: (r) => { clearTimeout(t); resolve(r); },
                    reject: (e) => { clearTimeout(t); reject(e); },
                };
                sock.write(bytes);
                pump();
            });
        },
        close() { sock.destroy(); },
    };
}

/* A GET of p with the raw header lines (a string or Buffer, each line
 * ending in CRLF). */
function rawGet(p, lines) {
    return Buffer.concat([
        Buffer.from(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n`, 'latin1'),
        Buffer.isBuffer(lines) ? lines : Buffer.from(lines, 'latin1'),
        Buffer.from('\r\n'),
    ]);
}

const userOf = (r) => {
    try {
        return JSON.parse(r.body).headers['x-forwarded-user'] ?? null;
    }
    catch {
        return null;
    }
};

/* What a response tells the client: the same on a kept connection as on
 * a fresh one. */
const outcome = (r) => ({ status: r.status, user: userOf(r), www: r.headers['www-authenticate'] ?? null });

/* A token of aud for sub whose compact form is exactly len bytes (a pad
 * claim sized for it; the payload's base64url grows 4 characters per 3
 * bytes, so a second claim takes up the last one or two). */
async function tokenOfLength(op, len, claims) {
    for (let h = 0; h < 4; h++) {
        const opts = { header: { typ: 'at+jwt', h: 'x'.repeat(h) } };
        const probe = await op.accessToken({ ...claims, pad: '' }, opts);
        const est = Math.floor(((len - probe.length) * 3) / 4);
        for (let k = Math.max(0, est - 4); k <= est + 4; k++) {
            const t = await op.accessToken({ ...claims, pad: 'p'.repeat(k) }, opts);
            if (t.length === len) return t;
        }
    }
    throw new Error(`no token of ${len} bytes`);
}

describe('a remembered token in a header that is not well formed (raw bytes)', () => {
    let s;
    let alice;

    before(async () => {
        s = await startStack({
            apache: { files: { 'htdocs/big/x': 'ok' } },
            locations: (st) => `
LimitRequestFieldSize 140000
KeepAliveTimeout 10
MaxKeepAliveRequests 0
<Location /api>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    Require valid-user
    ProxyPass ${st.backend.url}/api
</Location>
<Location /big>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    Require oauth2-claim sub:big
</Location>
`,
        });
        alice = await s.op.accessToken({ aud: AUD, sub: 'alice' });
    });
    after(async () => {
        await s?.stop();
    });

    /* The header on a fresh connection, then on a connection whose memo
     * holds alice's well-formed token: the same answer. A connection keeps
     * a token in its memo from its second request with it (the first
     * verifies it into the store, the second reads the store into the
     * memo), so three requests leave it there. */
    async function freshAndKept(lines) {
        const fresh = rawConn(s.apache.port);
        const kept = rawConn(s.apache.port);
        try {
            const a = outcome(await fresh.send(rawGet('/api/x', lines)));
            /* Verified (or read from the store), then kept in the memo,
             * then answered from it: the memo holds alice's id. */
            for (let i = 0; i < 3; i++) {
                const first = await kept.send(rawGet('/api/x', `Authorization: Bearer ${alice}\r\n`));
                assert.equal(userOf(first), 'alice', 'the connection answers alice');
            }
            const b = outcome(await kept.send(rawGet('/api/x', lines)));
            return { fresh: a, kept: b };
        }
        finally {
            fresh.close();
            kept.close();
        }
    }

    it('each spelling is answered on a kept connection as on a fresh one, malformed ones with 401 invalid_token and OA2303', async () => {
        const T = alice;
        /* [header lines, what must come of them]: 'alice' (Apache or the
         * syntax take it as the token), 401 (malformed), 'refused' (well
         * formed, not a good JWS), 400 (Apache). */
        const cases = [
            [`Authorization: Bearer ${T}\r\n`, 'alice'],
            [`Authorization: bearer    ${T}\r\n`, 'alice'],
            [`Authorization: BEARER ${T}\r\n`, 'alice'],
            /* Apache trims whitespace around a field value. */
            [`Authorization: Bearer ${T} \r\n`, 'alice'],
            [`Authorization: Bearer ${T}\t\r\n`, 'alice'],
            [`Authorization: Bearer${T}\r\n`, 401],
            [`Authorization: Bearer \r\n`, 401],
            [`Authorization: Bearer\r\n`, 401],
            [`Authorization: Bearer\t${T}\r\n`, 401],
            [`Authorization: Bearer \t${T}\r\n`, 401],
            [`Authorization: Bearer ${T},\r\n`, 401],
            [`Authorization: Bearer ${T} x\r\n`, 401],
            [`Authorization: Bearer ${T}\t x\r\n`, 401],
            /* Well formed (token68), a JWS of four segments: refused by
             * the verification. */
            [`Authorization: Bearer ${T}.\r\n`, 'refused'],
            [`Authorization: Bearer ${T}=\r\n`, 'refused'],
            /* Two headers: Apache merges them with ", ". */
            [`Authorization: Bearer ${T}\r\nAuthorization: Bearer ${T}\r\n`, 401],
            [`Authorization: Bearer ${T}\r\nAuthorization: \r\n`, 401],
            /* obs-fold: Apache joins the lines with a space; an empty
             * continuation is a 400 of Apache's. */
            [`Authorization: Bearer\r\n ${T}\r\n`, 'alice'],
            [`Authorization: Bearer ${T}\r\n x\r\n`, 401],
            [`Authorization: Bearer ${T}\r\n\t\r\n`, 400],
        ];
        for (const [lines, want] of cases) {
            const mark = s.apache.mark();
            const r = await freshAndKept(lines);
            const what = JSON.stringify(lines.replaceAll(T, 'T'));
            assert.deepEqual(r.kept, r.fresh, `${what}: the kept connection answers as a fresh one`);
            if (want === 'alice') {
                assert.equal(r.kept.user, 'alice', what);
            }
            else if (want === 401) {
                assert.equal(r.kept.status, 401, what);
                assert.equal(r.kept.user, null, what);
                assert.match(r.kept.www ?? '', /^Bearer .*error="invalid_token"/, what);
                /* Twice: the fresh request and the kept one. */
                await s.apache.waitForLines(/OA2303: bearer token refused: malformed Authorization header/, 2, { since: mark, log: 'error' }).catch((e) => {
                    throw new Error(`${what}: ${e.message}\n${s.apache.errorLog({ since: mark })}`);
                });
            }
            else if (want === 'refused') {
                assert.equal(r.kept.status, 401, what);
                assert.match(r.kept.www ?? '', /^Bearer .*error="invalid_token"/, what);
                await s.apache.waitForLines(/OA2303: bearer token refused: JWS/, 2, { since: mark, log: 'error' });
            }
            else {
                assert.equal(want, 400);
                assert.equal(r.kept.status, 400, what);
            }
        }
    });

    /* The memo holds a cookie session's id (43 base64url characters);
     * then the same id, and the bearer id of alice's token spelled as a
     * cookie, come as bearer tokens and cookies on that connection. */
    it('a memo filled by a cookie session: its id as a bearer token is refused, and the bearer memo does not open cookies', async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const b = newBrowser({ agents: { [s.apache.url]: agent } });
        try {
            await login(b, s.url('/app/'));
            const sid = b.cookie('oauth2_session');
            assert.ok(sid);
            for (let i = 0; i < 3; i++) {
                const r = await b.get(s.url('/app/x'), { headers: { Accept: 'application/json' } });
                assert.equal(userOf(r), 'alice', 'the cookie session');
            }
            for (const spelled of [sid, `${sid}=`, ` ${sid}`]) {
                const mark = s.apache.mark();
                const r = await request(s.url('/api/x'), { agent, headers: { Accept: 'application/json', Authorization: `Bearer ${spelled}` } });
                assert.equal(r.status, 401, JSON.stringify(spelled));
                assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
                await s.apache.waitForLog(/OA2303: bearer token refused/, { since: mark });
            }
            /* alice's token kept by the connection, then cookies that
             * spell its bytes (no cookie holds a newline, so none can be
             * its whole id): no session. */
            for (let i = 0; i < 3; i++) {
                const r = await request(s.url('/api/x'), { agent, headers: { Accept: 'application/json', Authorization: `Bearer ${alice}` } });
                assert.equal(userOf(r), 'alice');
            }
            for (const v of [alice, `bearer:${AUD}`, `bearer:${AUD}${alice}`]) {
                const r = await request(s.url('/app/x'), { agent, headers: { Accept: 'application/json', Cookie: `oauth2_session=${v}` } });
                assert.equal(r.status, 401, v.slice(0, 30));
                assert.equal(userOf(r), null);
            }
        }
        finally {
            agent.destroy();
        }
    });

    it('NUL, control and high bytes after the remembered token: refused on both, never alice', async () => {
        for (const tail of [Buffer.from([0]), Buffer.from([0x7f]), Buffer.from([0xff]), Buffer.from('\u00e9', 'utf8'), Buffer.from([0x0b])]) {
            for (const where of ['after', 'before']) {
                const tok = Buffer.from(alice, 'latin1');
                const value = where === 'after' ? Buffer.concat([tok, tail]) : Buffer.concat([tail, tok]);
                const lines = Buffer.concat([Buffer.from('Authorization: Bearer ', 'latin1'), value, Buffer.from('\r\n')]);
                const r = await freshAndKept(lines);
                const what = `${tail.toString('hex')} ${where}`;
                assert.deepEqual(r.kept, r.fresh, what);
                assert.ok(r.kept.status === 400 || r.kept.status === 401, `${what}: ${r.kept.status}`);
                assert.equal(r.kept.user, null, what);
            }
        }
    });

    it('a token of exactly OAUTH2_MAX_JWT bytes is remembered; one byte more is malformed, fresh or kept', async () => {
        const big = await tokenOfLength(s.op, MAX_JWT, { aud: AUD, sub: 'big' });
        const over = await tokenOfLength(s.op, MAX_JWT + 1, { aud: AUD, sub: 'over' });
        /* A place without a backend (which would refuse a 64 KB header):
         * 200 is the claim rule's sub:big. */
        const c = rawConn(s.apache.port);
        const bigOk = async () => (await c.send(rawGet('/big/x', `Authorization: Bearer ${big}\r\n`))).status;
        try {
            for (let i = 0; i < 3; i++) {
                assert.equal(await bigOk(), 200, `request ${i + 1}`);
            }
            for (const bad of [over, `${big}=`, `${big}A`]) {
                const mark = s.apache.mark();
                const r = await c.send(rawGet('/big/x', `Authorization: Bearer ${bad}\r\n`));
                assert.equal(r.status, 401);
                assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
                await s.apache.waitForLog(/OA2303: bearer token refused: malformed Authorization header/, { since: mark });
                assert.equal(await bigOk(), 200);
            }
            assert.equal(c.closed, false, 'all on one connection');
        }
        finally {
            c.close();
        }
        const fresh = rawConn(s.apache.port);
        try {
            const r = await fresh.send(rawGet('/big/x', `Authorization: Bearer ${over}\r\n`));
            assert.equal(r.status, 401);
            assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
        }
        finally {
            fresh.close();
        }
    });

    it('a header past LimitRequestFieldSize: Apache refuses it, fresh or kept, and the connection is not alice\'s', async () => {
        const huge = `Authorization: Bearer ${alice}${'A'.repeat(140000)}\r\n`;
        const fresh = rawConn(s.apache.port);
        const kept = rawConn(s.apache.port);
        try {
            const a = await fresh.send(rawGet('/api/x', huge));
            assert.equal(userOf(await kept.send(rawGet('/api/x', `Authorization: Bearer ${alice}\r\n`))), 'alice');
            const b = await kept.send(rawGet('/api/x', huge));
            assert.equal(a.status, 400);
            assert.equal(b.status, 400);
            assert.equal(userOf(b), null);
        }
        finally {
            fresh.close();
            kept.close();
        }
    });
});

describe('places of other audiences, type rules and token passing on one connection', () => {
    let s;

    before(async () => {
        let be;
        const place = (p, aud, extra = '') => `
<Location ${p}>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience "${aud}"
    ${extra}
    Require valid-user
    ProxyPass ${be}${p}
</Location>`;
        s = await startStack({
            oauth2: 'OAuth2ClockSkew 0',
            locations: (st) => {
                be = st.backend.url;
                return `
KeepAliveTimeout 10
MaxKeepAliveRequests 0
${place('/api', AUD)}
${place('/prefix', 'https://api')}
${place('/longer', `${AUD}/v2`)}
${place('/untyped', AUD, 'OAuth2BearerAllowUntyped On')}
${place('/escaped', `${AUD}\\nu`)}
${place('/pass', AUD, 'OAuth2PassAccessToken On')}
`;
            },
        });
    });
    after(async () => {
        await s?.stop();
    });

    it('a token remembered at one place is refused where its audience differs by a prefix, a suffix or an escape', async () => {
        const alice = await s.op.accessToken({ aud: AUD, sub: 'alice' });
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const get = (p, token, headers = {}) => request(s.url(p), { agent, headers: { Accept: 'application/json', Authorization: `Bearer ${token}`, ...headers } });
        try {
            for (const other of ['/prefix', '/longer', '/escaped']) {
                for (let i = 0; i < 3; i++) {
                    assert.equal(userOf(await get('/api/x', alice)), 'alice');
                }
                const r = await get(`${other}/x`, alice);
                assert.ok(r.reused, other);
                assert.equal(r.status, 401, other);
                assert.match(r.headers['www-authenticate'], /error="invalid_token"/, other);
            }
            /* And the other way: a token of https://api at /prefix, then /api. */
            const short = await s.op.accessToken({ aud: 'https://api', sub: 'shorty' });
            for (let i = 0; i < 3; i++) {
                assert.equal(userOf(await get('/prefix/x', short)), 'shorty');
            }
            assert.equal((await get('/api/x', short)).status, 401);
            assert.equal(userOf(await get('/prefix/x', short)), 'shorty');
        }
        finally {
            agent.destroy();
        }
    });

    it('an untyped token remembered where untyped tokens are allowed is refused at the typed place of the same audience', async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const get = (p, token) => request(s.url(p), { agent, headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } });
        const untyped = await s.op.accessToken({ aud: AUD, sub: 'carol' }, { header: { typ: 'JWT' } });
        const typed = await s.op.accessToken({ aud: AUD, sub: 'dave' });
        try {
            for (let i = 0; i < 3; i++) {
                for (let j = 0; j < 3; j++) {
                    assert.equal(userOf(await get('/untyped/x', untyped)), 'carol');
                }
                const r = await get('/api/x', untyped);
                assert.ok(r.reused);
                assert.equal(r.status, 401, 'typ JWT at a place that wants at+jwt');
                assert.equal(userOf(await get('/untyped/x', typed)), 'dave');
                assert.equal(userOf(await get('/api/x', typed)), 'dave');
            }
        }
        finally {
            agent.destroy();
        }
    });

    /* The memo filled where the tokens are not needed (its hot part only)
     * then read where they are (OAuth2PassAccessToken On), and back: what
     * each place passes is what it passes on a fresh connection. */
    it('OAuth2PassAccessToken On and Off on one connection: each place passes what it passes on a fresh connection', async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const get = (p, token, a = agent) => request(s.url(p), { agent: a, headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } });
        /* Claims big enough that the record does not fit the memo's first
         * read (2 KB). */
        const alice = await s.op.accessToken({ aud: AUD, sub: 'alice', pad: 'q'.repeat(3000) });
        const passed = (r) => JSON.parse(r.body).headers['x-forwarded-access-token'] ?? null;
        const fresh = {};
        for (const p of ['/api/x', '/pass/x']) {
            const one = new http.Agent({ keepAlive: false });
            fresh[p] = passed(await get(p, alice, one));
            one.destroy();
        }
        /* README: X-Forwarded-Access-Token is for session users; the
         * backend of a token's request has its Authorization header. */
        assert.equal(fresh['/pass/x'], null);
        try {
            for (const p of ['/api/x', '/pass/x', '/api/x', '/api/x', '/pass/x', '/pass/x', '/api/x']) {
                const r = await get(p, alice);
                assert.equal(r.status, 200, p);
                assert.equal(userOf(r), 'alice', p);
                assert.equal(passed(r), fresh[p], p);
            }
        }
        finally {
            agent.destroy();
        }
    });

    it('a token that expires between two requests on one connection is refused on the second', async () => {
        const c = rawConn(s.apache.port);
        /* Time enough for three requests under the sanitizers on a busy
         * machine; the wait below is for the clock, not a guess. */
        const exp = Math.floor(Date.now() / 1000) + 5;
        const brief = await s.op.accessToken({ aud: AUD, sub: 'brief', iat: exp - 60, exp });
        try {
            /* Three: the memo holds it (see freshAndKept). */
            for (let i = 0; i < 3; i++) {
                const first = await c.send(rawGet('/api/x', `Authorization: Bearer ${brief}\r\n`));
                assert.equal(userOf(first), 'brief');
            }
            /* The clock itself, not a guess: until a second past exp. */
            while (Date.now() < exp * 1000 + 1000) {
                await new Promise((r) => setTimeout(r, Math.max(10, exp * 1000 + 1000 - Date.now())));
            }
            const mark = s.apache.mark();
            const second = await c.send(rawGet('/api/x', `Authorization: Bearer ${brief}\r\n`));
            assert.equal(c.closed, false, 'the same connection');
            assert.equal(second.status, 401);
            assert.equal(userOf(second), null);
            await s.apache.waitForLog(/OA2303: bearer token refused/, { since: mark });
        }
        finally {
            c.close();
        }
    });
});

describe('the store entry of a remembered token evicted and its slot reused (shm:64)', () => {
    let s;

    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2SessionStore shm:64',
            locations: (st) => `
KeepAliveTimeout 10
MaxKeepAliveRequests 0
<Location /api>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    Require valid-user
    ProxyPass ${st.backend.url}/api
</Location>
`,
        });
    });
    after(async () => {
        await s?.stop();
    });

    it('the kept connection answers as its token says after 200 other tokens filled the store', async () => {
        /* The record closest to expiry is the one a full probe window
         * evicts (src/store_shm.c): alice's expires first, and about half
         * of the fillers' windows (32 of 64 slots) hold its slot. */
        const alice = await s.op.accessToken({ aud: AUD, sub: 'evicted-alice', exp: Math.floor(Date.now() / 1000) + 120 });
        const c = rawConn(s.apache.port);
        const other = rawConn(s.apache.port);
        try {
            /* Three: the memo holds it (see freshAndKept). */
            for (let i = 0; i < 3; i++) {
                assert.equal(userOf(await c.send(rawGet('/api/x', `Authorization: Bearer ${alice}\r\n`))), 'evicted-alice');
            }
            for (let i = 0; i < 200; i++) {
                const t = await s.op.accessToken({ aud: AUD, sub: `filler${i}` });
                assert.equal(userOf(await other.send(rawGet('/api/x', `Authorization: Bearer ${t}\r\n`))), `filler${i}`);
            }
            const mark = s.apache.mark();
            const r = await c.send(rawGet('/api/x', `Authorization: Bearer ${alice}\r\n`));
            assert.equal(c.closed, false);
            assert.equal(userOf(r), 'evicted-alice');
            /* Verified again: the memo's copy went with its slot. */
            await s.apache.waitForLog(/OA2430: bearer token verified for evicted-alice/, { since: mark });
            /* A malformed header right after: still refused. */
            const bad = await c.send(rawGet('/api/x', `Authorization: Bearer ${alice},\r\n`));
            assert.equal(bad.status, 401);
        }
        finally {
            c.close();
            other.close();
        }
    });
});

describe('named providers sharing one connection', () => {
    let s;
    let opB;

    before(async () => {
        opB = await startProvider({ clients: [{ client_id: 'partner-app', client_secret: 'partner-secret', redirect_uris: ['http://127.0.0.1/cb'] }] });
        let be;
        const place = (p, use) => `
<Location ${p}>
    AuthType oauth2
    OAuth2Use ${use}
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    Require valid-user
    ProxyPass ${be}${p}
</Location>`;
        s = await startStack({
            oauth2: (st) => `
<OAuth2Provider staff>
    OAuth2Provider ${st.op.issuer}
    OAuth2ClientID ${st.clientId}
    OAuth2ClientSecret ${st.clientSecret}
</OAuth2Provider>
<OAuth2Provider partner>
    OAuth2Provider ${opB.issuer}
    OAuth2ClientID partner-app
    OAuth2ClientSecret partner-secret
</OAuth2Provider>`,
            locations: (st) => {
                be = st.backend.url;
                return `
KeepAliveTimeout 10
${place('/staff', 'staff')}
${place('/partner', 'partner')}
`;
            },
        });
    });
    after(async () => {
        await s?.stop();
        await opB?.stop();
    });

    it('a token of one provider remembered at its place is refused at the other provider\'s place of the same audience', async () => {
        const a = await s.op.accessToken({ aud: AUD, sub: 'staffer' });
        const b = await opB.accessToken({ aud: AUD, sub: 'partnerer' });
        const c = rawConn(s.apache.port);
        try {
            for (let i = 0; i < 3; i++) {
                assert.equal(userOf(await c.send(rawGet('/staff/x', `Authorization: Bearer ${a}\r\n`))), 'staffer');
                assert.equal(userOf(await c.send(rawGet('/staff/x', `Authorization: Bearer ${a}\r\n`))), 'staffer');
                assert.equal((await c.send(rawGet('/partner/x', `Authorization: Bearer ${a}\r\n`))).status, 401);
                assert.equal(userOf(await c.send(rawGet('/partner/x', `Authorization: Bearer ${b}\r\n`))), 'partnerer');
                assert.equal(userOf(await c.send(rawGet('/partner/x', `Authorization: Bearer ${b}\r\n`))), 'partnerer');
                assert.equal((await c.send(rawGet('/staff/x', `Authorization: Bearer ${b}\r\n`))).status, 401);
            }
            assert.equal(c.closed, false);
        }
        finally {
            c.close();
        }
    });
});

const H2 = fs.existsSync(path.join(MODULES_DIR, 'mod_http2.so'));

describe('HTTP/2 (h2c): streams of one connection', { skip: !H2 && 'no mod_http2' }, () => {
    let s;

    before(async () => {
        s = await startStack({
            apache: { modules: ['http2'] },
            locations: (st) => `
Protocols h2c http/1.1
H2MaxSessionStreams 64
<Location /api>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUD}
    Require valid-user
    ProxyPass ${st.backend.url}/api
</Location>
`,
        });
    });
    after(async () => {
        await s?.stop();
    });

    it('concurrent streams with different tokens and malformed spellings: each its own answer', async () => {
        const users = ['alice', 'bob', 'carol', 'dave'];
        const tokens = Object.fromEntries(await Promise.all(users.map(async (u) => [u, await s.op.accessToken({ aud: AUD, sub: u })])));
        const client = http2.connect(s.url('/'));
        client.on('error', () => {});
        const get = (auth) => new Promise((resolve, reject) => {
            const req = client.request({ ':path': '/api/x', accept: 'application/json', authorization: auth });
            let status;
            let www;
            let body = '';
            req.on('response', (h) => { status = h[':status']; www = h['www-authenticate']; });
            req.on('data', (d) => { body += d; });
            req.on('end', () => resolve({ status, body, headers: { 'www-authenticate': www } }));
            req.on('error', reject);
            req.end();
        });
        try {
            for (let round = 0; round < 5; round++) {
                const sent = [];
                for (let i = 0; i < 40; i++) {
                    const u = users[(i * 7 + round) % users.length];
                    const bad = i % 5 === 4;
                    sent.push({ u, bad, p: get(bad ? `Bearer ${tokens[u]},` : `Bearer ${tokens[u]}`) });
                }
                for (const { u, bad, p } of sent) {
                    const r = await p;
                    if (bad) {
                        assert.equal(r.status, 401, `round ${round}: malformed ${u}`);
                        assert.match(r.headers['www-authenticate'] ?? '', /error="invalid_token"/);
                    }
                    else {
                        assert.equal(r.status, 200, `round ${round}: ${u}`);
                        assert.equal(userOf(r), u, `round ${round}: ${u}`);
                    }
                }
            }
            await s.apache.waitForLog(/"GET \/api\/x HTTP\/2\.0" 200/, { log: 'access' });
        }
        finally {
            client.close();
        }
    });

    /* Cookie sessions the same way: each stream is its own cookie's user
     * and the backend gets that stream's Cookie header without ours.
     * mod_http2 runs each stream on a secondary connection, and the memo
     * is that connection's: this test and the one above fail (another
     * stream's user) with the memo kept on the HTTP/2 connection itself,
     * which concurrent streams would share (checked with apache.c's
     * conn_memo taking r->connection->master). */
    it('concurrent streams with different session cookies: each its own user and its own Cookie header', async () => {
        const users = ['alice', 'bob']; /* the test provider's two accounts */
        const sids = {};
        for (const u of users) {
            const b = newBrowser();
            await login(b, s.url('/app/'), { username: u });
            sids[u] = b.cookie('oauth2_session', s.url('/'));
        }
        const client = http2.connect(s.url('/'));
        client.on('error', () => {});
        const get = (cookie) => new Promise((resolve, reject) => {
            const req = client.request({ ':path': '/app/x', accept: 'application/json', cookie });
            let status;
            let body = '';
            req.on('response', (h) => { status = h[':status']; });
            req.on('data', (d) => { body += d; });
            req.on('end', () => resolve({ status, body }));
            req.on('error', reject);
            req.end();
        });
        try {
            for (let round = 0; round < 5; round++) {
                const sent = [];
                for (let i = 0; i < 30; i++) {
                    const u = users[(i * 3 + round + (i >> 2)) % users.length];
                    const none = i % 7 === 6;
                    /* Headers of one length that differ only in the
                     * session's value: the memo must compare it all. */
                    const rest = `theme=${i % 10}`;
                    const tag = `lang=${users.indexOf(u)}`;
                    const cookie = none ? `${rest}; ${tag}` : `${rest}; oauth2_session=${sids[u]}; ${tag}`;
                    sent.push({ u, i, none, want: `${rest}; ${tag}`, p: get(cookie) });
                }
                for (const { u, i, none, want, p } of sent) {
                    const r = await p;
                    if (none) {
                        assert.equal(r.status, 401, `round ${round}, stream ${i}: no session cookie`);
                        continue;
                    }
                    assert.equal(r.status, 200, `round ${round}, stream ${i}: ${u}`);
                    const seen = JSON.parse(r.body).headers;
                    assert.equal(seen['x-forwarded-user'], u, `round ${round}, stream ${i}: ${u}`);
                    assert.equal(seen.cookie, want, `round ${round}, stream ${i}: its own header without ours`);
                }
            }
            await s.apache.waitForLog(/"GET \/app\/x HTTP\/2\.0" 200/, { log: 'access' });
        }
        finally {
            client.close();
        }
    });
});
