// attacks-speed13.test.mjs: the speed changes of main f4dc9d7 (one SHA-256
// context per thread behind a pthread key; the session id's alphabet by
// SSE2; the connection memo cleared in part) attacked. See
// /work/notes/attack13-report.md for the whole campaign.
//
//   finding S1  every configuration pass after a graceful restart loaded
//               the module anew (mod_so unloads it with pconf) and made a
//               new pthread key, never deleting the old one: a process has
//               1024 keys (glibc), so after about a thousand graceful
//               restarts (logrotate, certbot, config management) post_config
//               fails with OA2005 and Apache exits. The old key also kept a
//               destructor in the unloaded module's code. Here a preloaded
//               library takes all keys but a few, so that a few graceful
//               restarts are enough; the fix deletes the key when pconf is
//               cleared (oauth2_crypto_shutdown).
//   finding S2  an internal redirect from a place that accepted a bearer
//               token carried its user into a place of another audience,
//               or of sessions only (oauth2_access_inherits now compares).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { newBrowser, login, request } from './lib/http.mjs';

/* A library whose constructor takes every pthread key but OA2_KEYS_FREE. */
const KEYS_C = `
#include <pthread.h>
#include <stdlib.h>
static void __attribute__((constructor)) eat(void)
{
    static pthread_key_t k[2048];
    const char *e = getenv("OA2_KEYS_FREE");
    int n = 0, keep;

    if (e == NULL) {
        return;
    }
    keep = atoi(e);
    while (n < 2048 && pthread_key_create(&k[n], NULL) == 0) {
        n++;
    }
    while (keep-- > 0 && n > 0) {
        pthread_key_delete(k[--n]);
    }
}
`;

function buildKeyEater() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oa2-keys-'));
    fs.chmodSync(dir, 0o755);
    const src = path.join(dir, 'keys.c');
    const so = path.join(dir, 'libkeys.so');
    fs.writeFileSync(src, KEYS_C);
    const r = spawnSync('cc', ['-shared', '-fPIC', '-o', so, src, '-lpthread'], { encoding: 'utf8' });
    if (r.status !== 0) return { dir, so: null, why: `cc failed: ${r.error ?? r.stderr}` };
    fs.chmodSync(so, 0o755);
    return { dir, so };
}

/* The preload list of every apache2 of the run ($MOD_AUTH_OAUTH2_ENV: the
 * ASan runtime first), then the key eater. */
function preload(so) {
    const extra = process.env.MOD_AUTH_OAUTH2_ENV ? JSON.parse(process.env.MOD_AUTH_OAUTH2_ENV) : {};
    return [extra.LD_PRELOAD, so].filter(Boolean).join(':');
}

const eater = buildKeyEater();
const RESTARTS = 16;
const FREE = 12;

for (const mpm of ['event', 'prefork']) {
    describe(`finding S1 (${mpm}): graceful restarts do not use up the process's pthread keys`, {
        skip: eater.so ? false : eater.why,
    }, () => {
        let s;

        before(async () => {
            s = await startStack({
                apache: { mpm, env: { LD_PRELOAD: preload(eater.so), OA2_KEYS_FREE: String(FREE) } },
            });
        });
        after(async () => {
            await s?.stop();
        });

        it(`${RESTARTS} graceful restarts with ${FREE} keys free: each configures, a session still reads`, async () => {
            const b = newBrowser();
            let r = await login(b, s.url('/app/'));
            assert.equal(r.final.status, 200);
            r = await b.get(s.url('/app/'));
            assert.equal(r.status, 200);
            for (let i = 0; i < RESTARTS; i++) {
                const mark = s.apache.mark();
                await assert.doesNotReject(s.apache.graceful(), `graceful restart ${i + 1}`);
                assert.doesNotMatch(s.apache.errorLog({ since: mark }), /OA2005/);
            }
            /* The children of the last generation hash the session id with
             * the key made in its configuration pass. */
            r = await b.get(s.url('/app/'));
            assert.equal(r.status, 200, 'the session still reads after the restarts');
        });
    });
}

/* The header memo (kept from a connection's second lookup on) and the
 * session memo on a connection a proxy shares between users: each request
 * is its own cookie's user, and the backend gets its own request's Cookie
 * header without ours, never the one the memo kept from another. Held. */
describe('a keep-alive connection shared by two users (header memo from the second lookup)', () => {
    let s;
    const sids = {};

    before(async () => {
        s = await startStack();
        for (const user of ['alice', 'bob']) {
            const b = newBrowser();
            await login(b, s.url('/app/'), { username: user });
            sids[user] = b.cookie('oauth2_session', s.url('/'));
        }
    });
    after(async () => {
        await s?.stop();
    });

    it('answers each request as its own header says, whatever the last one was', async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const get = (cookie) => request(s.url('/app/shared'), { agent, headers: { Accept: 'application/json', Cookie: cookie } });
        const header = (user, extra) => `theme=${extra}; oauth2_session=${sids[user]}; lang=${user}`;
        const steps = [
            ['alice', 'a1'], ['alice', 'a1'], ['alice', 'a1'], ['bob', 'a1'], ['bob', 'a1'],
            ['alice', 'a1'], ['alice', 'a2'], ['bob', 'b1'], ['alice', 'a2'], ['bob', 'b1'],
        ];
        try {
            for (const [i, [user, extra]] of steps.entries()) {
                const r = await get(header(user, extra));
                if (i > 0) assert.ok(r.reused, `request ${i + 1} on the same connection`);
                assert.equal(r.status, 200, `request ${i + 1}`);
                const seen = JSON.parse(r.body).headers;
                assert.equal(seen['x-forwarded-user'], user, `request ${i + 1}: ${user}`);
                assert.equal(seen.cookie, `theme=${extra}; lang=${user}`, `request ${i + 1}: its own header without ours`);
            }
            /* A header the memo kept, then one with the session cookie
             * gone: nobody. */
            const none = await get(`theme=a1; lang=alice`);
            assert.equal(none.status, 401);
            const again = await get(header('alice', 'a1'));
            assert.equal(JSON.parse(again.body).headers['x-forwarded-user'], 'alice');
        }
        finally {
            agent.destroy();
        }
    });
});

/* The bearer memo: a keep-alive connection remembers the token it read
 * (with the place's audience) and answers the same bytes again without a
 * hash. On one connection a proxy shares: each token is its own user; a
 * token changed in one byte, signed by another key, expired, or meant for
 * another audience is refused, whatever the connection remembers. */
describe('bearer tokens on one keep-alive connection (the bearer memo)', () => {
    let s;

    before(async () => {
        s = await startStack({
            locations: (st) => `
<Location /api>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience https://api.example
    Require valid-user
    ProxyPass ${st.backend.url}/api
</Location>
<Location /other-api>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience https://other.example
    Require valid-user
    ProxyPass ${st.backend.url}/other-api
</Location>
<Location /docs-api>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience https://api.example
    Require valid-user
    ErrorDocument 404 /api/missing
</Location>
<Location /docs-other>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience https://api.example
    Require valid-user
    ErrorDocument 404 /other-api/missing
</Location>
<Location /docs-app>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience https://api.example
    Require valid-user
    ErrorDocument 404 /app/missing
</Location>
`,
        });
    });
    after(async () => {
        await s?.stop();
    });

    it('answers each request as its own token says, whatever the connection remembers', async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const get = (p, token) => request(s.url(p), { agent, headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } });
        const aud = 'https://api.example';
        const alice = await s.op.accessToken({ aud, sub: 'alice' });
        const bob = await s.op.accessToken({ aud, sub: 'bob' });
        const expired = await s.op.accessToken({ aud, sub: 'alice', iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 600 });
        // Signed by a key the provider does not publish, under its kid.
        const foreign = await s.op.accessToken({ aud, sub: 'alice' }, { foreign: true, kid: s.op.kid('RS256') });
        const user = (r) => JSON.parse(r.body).headers['x-forwarded-user'];
        try {
            const steps = ['alice', 'alice', 'alice', 'bob', 'bob', 'alice', 'bob', 'alice'];
            for (const [i, who] of steps.entries()) {
                const r = await get('/api/x', who === 'alice' ? alice : bob);
                if (i > 0) assert.ok(r.reused, `request ${i + 1} on the same connection`);
                assert.equal(r.status, 200, `request ${i + 1}`);
                assert.equal(user(r), who, `request ${i + 1}: ${who}`);
            }
            // One byte changed in the signature, the payload or the header,
            // right after the connection verified alice's token.
            for (const at of [alice.length - 5, alice.indexOf('.') + 10, 3]) {
                const c = alice[at] === 'A' ? 'B' : 'A';
                const forged = alice.slice(0, at) + c + alice.slice(at + 1);
                assert.equal((await get('/api/x', alice)).status, 200);
                const r = await get('/api/x', forged);
                assert.equal(r.status, 401, `a byte changed at ${at}`);
            }
            assert.equal((await get('/api/x', alice)).status, 200);
            assert.equal((await get('/api/x', expired)).status, 401, 'expired');
            assert.equal((await get('/api/x', alice)).status, 200);
            assert.equal((await get('/api/x', foreign)).status, 401, 'signed by another key');
            // alice's token is for https://api.example, not this place.
            assert.equal((await get('/api/x', alice)).status, 200);
            assert.equal((await get('/other-api/x', alice)).status, 401, 'another audience');
            const last = await get('/api/x', alice);
            assert.equal(user(last), 'alice');
            assert.ok(last.reused);
        }
        finally {
            agent.destroy();
        }
    });

    /* Found by attack13b: an internal redirect inherited the user of a
     * token checked for one audience into a place of another. An
     * ErrorDocument of a place of https://api.example (a 404 there) goes
     * to a place of the same audience (the backend answers as alice), of
     * another audience, and to a place that takes no bearer token: those
     * two check the request themselves, and the token is not theirs. */
    it('an ErrorDocument into a place of another audience, or of sessions only, does not inherit the token\'s user', async () => {
        const alice = await s.op.accessToken({ aud: 'https://api.example', sub: 'alice' });
        const get = (p) => request(s.url(p), { headers: { Accept: 'application/json', Authorization: `Bearer ${alice}` } });
        let r = await get('/docs-api/nothing-here');
        assert.match(r.body, /"x-forwarded-user":"alice"/, 'the same audience inherits');
        for (const p of ['/docs-other/nothing-here', '/docs-app/nothing-here']) {
            const mark = s.apache.mark();
            r = await get(p);
            assert.equal(r.status, 404, p);
            assert.doesNotMatch(r.body, /alice|x-forwarded/i, `${p}: the backend never saw the token's user`);
            await s.apache.waitForLog(p === '/docs-other/nothing-here'
                ? /OA2303: bearer token refused: claim aud does not contain the audience/
                : /OA2401: GET \/app\/missing: no valid session cookie/, { since: mark });
        }
    });
});

process.on('exit', () => fs.rmSync(eater.dir, { recursive: true, force: true }));
