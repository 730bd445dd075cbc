// browser.test.mjs: a real browser (Debian's chromium, driven by
// playwright-core) logs in through Apache and the provider's login form and
// lands on the backend page with its identity.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { launchBrowser, chromiumAvailable } from './lib/browser.mjs';

describe('browser login', { skip: !chromiumAvailable() && 'chromium is not installed' }, () => {
    let s;
    let chrome;
    before(async () => {
        s = await startStack();
        chrome = await launchBrowser();
    });
    after(async () => {
        await chrome?.close();
        await s?.stop();
    });

    it('logs in through the login form and sees the backend page', async () => {
        const { page, context } = chrome;
        await page.goto(s.url('/app/dashboard?tab=2'));
        assert.ok(page.url().startsWith(s.op.issuer), `at the provider: ${page.url()}`);
        await page.fill('input[name=login]', 'alice');
        await page.fill('input[name=password]', 'any');
        await Promise.all([
            page.waitForURL((u) => u.href === s.url('/app/dashboard?tab=2')),
            page.click('button[type=submit]'),
        ]);
        const seen = JSON.parse(await page.textContent('body'));
        assert.equal(seen.url, '/app/dashboard?tab=2');
        assert.equal(seen.headers['x-forwarded-user'], 'alice');
        assert.equal(seen.headers['x-forwarded-email'], 'alice@example.com');
        const session = (await context.cookies(s.url('/'))).find((c) => c.name === 'oauth2_session');
        assert.ok(session, 'the browser holds the session cookie');
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, 'Lax');

        await page.goto(s.url('/app/second'));
        assert.equal(JSON.parse(await page.textContent('body')).headers['x-forwarded-user'], 'alice');

        // Logout ends the local session, then at the provider (RP-initiated
        // logout), which asks for confirmation and returns to rd.
        await page.goto(s.url('/oauth2/logout?rd=/public/bye'));
        assert.ok(page.url().startsWith(s.op.issuer), `at the provider's logout: ${page.url()}`);
        const after = (await context.cookies(s.url('/'))).find((c) => c.name === 'oauth2_session');
        assert.equal(after, undefined, 'logout removed the cookie');
        await Promise.all([
            page.waitForURL((u) => u.href === s.url('/public/bye')),
            page.click('button[value=yes]'),
        ]);
        await page.goto(s.url('/app/again'));
        assert.ok(page.url().startsWith(s.op.issuer), 'logged out at the provider too: asked to log in again');
        assert.ok(await page.$('input[name=login]'), 'the login form is shown');
    });
});
