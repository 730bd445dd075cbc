// browser.mjs: Debian's chromium, headless, driven by playwright-core (no
// browser is ever downloaded).
//
//   const { browser, context, page, close } = await launchBrowser({
//       executablePath: CHROMIUM,  // $CHROMIUM_PATH or /usr/bin/chromium
//       timeout: 15000,            // launch, and the default for page actions
//       args: [],                  // extra chromium switches
//       contextOptions: {},        // for browser.newContext (viewport, locale, ...)
//   });
//   ... page.goto(url), page.fill(...), context.cookies() ...
//   await close();                 // closes context and browser; idempotent
//
//   chromiumAvailable() -> true when the executable exists
//
// Chromium runs as root here, so it gets --no-sandbox, plus --disable-gpu and
// no background networking, component updates or first-run UI. Playwright
// gives every launch a fresh temporary --user-data-dir and deletes it on close.
import fs from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-dev-shm-usage',
    '--disable-breakpad',
    '--disable-crash-reporter',
];

export function chromiumAvailable(p = CHROMIUM) {
    return fs.existsSync(p);
}

/** Launches chromium; see the top of this file. */
export async function launchBrowser({ executablePath = CHROMIUM, timeout = 15000, args = [], contextOptions = {} } = {}) {
    const browser = await chromium.launch({
        executablePath,
        headless: true,
        timeout,
        args: [...ARGS, ...args],
    });
    let closed = false;
    try {
        const context = await browser.newContext(contextOptions);
        context.setDefaultTimeout(timeout);
        const page = await context.newPage();
        return {
            browser,
            context,
            page,
            async close() {
                if (closed) return;
                closed = true;
                await context.close().catch(() => {});
                await browser.close();
            },
        };
    } catch (e) {
        await browser.close().catch(() => {});
        throw e;
    }
}
