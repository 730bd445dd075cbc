// attacks-store.test.mjs: the shared-memory session table under pressure,
// through the real Apache with a table of 64 entries (shm:64, 256 overflow
// chunks): callbacks from clients that never log in (issue 12 item 8), one
// account with a huge claim (issue 12 item 9), and more logins than the
// table holds (issue 15 item 5). Logins are driven without a browser (the
// harness's login()); /oauth2/start gives anyone a valid state and its
// cookie, which is all an anonymous client needs for a callback.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { newBrowser, login } from './lib/http.mjs';
import { countLog } from './lib/attacks.mjs';

const API = { headers: { Accept: 'application/json' } };
const STATUS = `
<Location /store-status>
    SetHandler oauth2-status
</Location>`;

/* The oauth2-status page as numbers. */
async function metrics(s) {
    const r = await newBrowser().get(s.url('/store-status'));
    assert.equal(r.status, 200);
    const out = {};
    for (const m of r.body.matchAll(/^(oauth2_[a-z_]+) (\d+)$/gm)) out[m[1]] = Number(m[2]);
    return out;
}

/* The user a browser's session answers as, or the HTTP status. */
async function userOf(s, b) {
    const r = await b.get(s.url('/app/who'), API);
    return r.status === 200 ? r.json().headers['x-forwarded-user'] : r.status;
}

/* n fresh browsers logged in as username, in parallel batches. */
async function loginMany(s, n, username = 'alice', batch = 4) {
    const out = [];
    for (let i = 0; i < n; i += batch) {
        const part = Array.from({ length: Math.min(batch, n - i) }, () => newBrowser());
        const res = await Promise.all(part.map((b) => login(b, s.url('/app/in'), { username })));
        res.forEach((x, j) => assert.equal(x.final.status, 200, `login ${i + j + 1} of ${username}`));
        out.push(...part);
    }
    return out;
}

/* /oauth2/start in a fresh browser: the browser (holding the state
 * cookie) and the state value the provider would send back. */
async function started(s) {
    const b = newBrowser();
    const r = await b.get(s.url('/oauth2/start?rd=/app/x'));
    assert.equal(r.status, 302);
    const state = new URL(r.headers.location).searchParams.get('state');
    assert.ok(state);
    return { b, state };
}

describe('attacks: callbacks that prove nothing cannot evict sessions (issue 12 item 8)', () => {
    let s;
    let users;
    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2SessionStore shm:64\nOAuth2SessionTimeout 300',
            locations: () => STATUS,
        });
        users = await loginMany(s, 10);
    });
    after(async () => s?.stop());

    it('serves every logged-in user after 400 start + callback pairs from clients that never log in', async () => {
        const mark = s.apache.mark();
        const pair = async (i) => {
            const { b, state } = await started(s);
            // Half answer error= (no code at all), half a made-up code (the
            // provider refuses it at the token endpoint: invalid_grant, so
            // the browser is sent to log in afresh, OA2220).
            const q = i % 2 ? 'error=access_denied' : `code=made-up-${i}`;
            return (await b.get(s.url(`/oauth2/callback?state=${state}&${q}`))).status;
        };
        const statuses = [];
        for (let i = 0; i < 400; i += 8) {
            statuses.push(...await Promise.all(Array.from({ length: 8 }, (_, j) => pair(i + j))));
        }
        assert.deepEqual([...new Set(statuses)].sort(), [302, 403], 'error= answers 403; made-up codes a fresh login (the provider refuses them)');
        assert.equal(countLog(s.apache, /OA2206: the provider ended the login with error=access_denied/, mark), 200);
        const seen = await Promise.all(users.map((b) => userOf(s, b)));
        assert.deepEqual(seen, users.map(() => 'alice'), 'all 10 users still served');
        const m = await metrics(s);
        assert.equal(m.oauth2_sessions_evicted_total, 0, 'no session evicted');
        assert.equal(m.oauth2_sessions_live, 10, 'one-time markers take no session slot');
        assert.ok(m.oauth2_markers_evicted_total > 0, 'the marker pool is bounded: markers made room for markers');
        assert.equal(countLog(s.apache, /OA2130/, mark), 0);
    });

    it('writes no one-time marker for an error= answer: its state still works once', async () => {
        const { b, state } = await started(s);
        const cookies = b.cookies(s.url('/oauth2/callback'));
        const r = await b.get(s.url(`/oauth2/callback?state=${state}&error=access_denied`));
        assert.equal(r.status, 403);
        // The same state again, its cookie put back: had the error answer
        // marked the state used, this would be a replay (400, OA2204).
        for (const c of cookies) b.setCookie(s.url('/oauth2/callback'), `${c.name}=${c.value}; Path=${c.path}`);
        const mark = s.apache.mark();
        const again = await b.get(s.url(`/oauth2/callback?state=${state}&code=made-up`));
        assert.equal(again.status, 302, 'the code is tried (refused by the provider: a fresh login), not refused as a replay');
        await s.apache.waitForLog(/OA2220: the provider refused the code/, { since: mark });
        assert.equal(countLog(s.apache, /OA2204/, mark), 0);
        for (const c of cookies) b.setCookie(s.url('/oauth2/callback'), `${c.name}=${c.value}; Path=${c.path}`);
        const third = await b.get(s.url(`/oauth2/callback?state=${state}&code=made-up`));
        assert.equal(third.status, 400, 'a state whose code was tried is used');
        await s.apache.waitForLog(/OA2204: replayed login state refused/, { since: mark });
    });
});

describe('attacks: one account with a huge claim cannot pin the overflow chunks (issue 12 item 9)', () => {
    let s;
    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2SessionStore shm:64',
            locations: () => STATUS,
            provider: {
                accounts: [
                    { id: 'alice', email: 'alice@example.com', email_verified: true },
                    // 7 KB in a claim: in the ID token and in the claims,
                    // about 66 of the 256 chunks per session.
                    { id: 'heavy', email: 'heavy@example.com', email_verified: true, blob: 'x'.repeat(7000) },
                ],
            },
        });
    });
    after(async () => s?.stop());

    it('logs the account in again and again, and other users too, evicting its oldest sessions', async () => {
        const mark = s.apache.mark();
        const heavy = await loginMany(s, 6, 'heavy', 1);
        assert.equal(await userOf(s, heavy.at(-1)), 'heavy', 'the newest heavy session works');
        const alice = await loginMany(s, 3, 'alice', 1);
        for (const b of alice) assert.equal(await userOf(s, b), 'alice');
        // 256 chunks hold three such sessions, not four: older ones made
        // room (those closest to expiry among the ones sampled).
        const live = (await Promise.all(heavy.map((b) => userOf(s, b)))).filter((u) => u === 'heavy');
        assert.ok(live.length >= 1 && live.length <= 3, `${live.length} heavy sessions live`);
        const m = await metrics(s);
        assert.ok(m.oauth2_sessions_evicted_total >= 2, `evicted ${m.oauth2_sessions_evicted_total}`);
        assert.equal(m.oauth2_sessions_refused_total, 0);
        assert.equal(countLog(s.apache, /OA2208/, mark), 0, 'no login failed');
        await s.apache.waitForLog(/OA2130: the session table is full: \d+ live entries .* OAuth2SessionStore shm:64/, { since: mark });
    });
});

describe('login states take no session slot; evicting a live session is logged (issue 15 item 5)', () => {
    let s;
    before(async () => {
        s = await startStack({
            oauth2: 'OAuth2SessionStore shm:64',
            locations: () => STATUS,
        });
    });
    after(async () => s?.stop());

    it('holds 31 sessions in shm:64 with no eviction: the logins\' state markers are elsewhere', async () => {
        // Fewer entries than a probe window (32) can never evict anything.
        const users = await loginMany(s, 31);
        const m = await metrics(s);
        assert.equal(m.oauth2_sessions_live, 31, 'one entry per session, none per login state');
        assert.equal(m.oauth2_sessions_evicted_total, 0);
        const seen = await Promise.all(users.map((b) => userOf(s, b)));
        assert.deepEqual(seen, users.map(() => 'alice'));
    });

    it('warns once (rate-limited), naming OAuth2SessionStore shm:64, and counts when sessions are evicted', async () => {
        const mark = s.apache.mark();
        const first = newBrowser();
        await login(first, s.url('/app/first'));
        await loginMany(s, 80);
        assert.equal(await userOf(s, first), 401, 'the first user, closest to expiry, was evicted');
        const m = await metrics(s);
        assert.ok(m.oauth2_sessions_evicted_total >= 48, `evicted ${m.oauth2_sessions_evicted_total}`);
        const line = await s.apache.waitForLog(/OA2130:/, { since: mark });
        assert.match(line, /\[auth_oauth2:warn\]/);
        assert.match(line, /raise N in OAuth2SessionStore shm:64/);
        assert.equal(countLog(s.apache, /OA2130:/, mark), 1, 'one line per minute, however many evictions');
    });
});
