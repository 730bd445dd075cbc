// browser.mjs: Debian's chromium, headless, driven by playwright-core (no
// browser is ever downloaded).
//
//   const { browser, context, page, userDataDir, close } = await launchBrowser({
//       executablePath: CHROMIUM,  // $CHROMIUM_PATH or /usr/bin/chromium
//       timeout: 15000,            // the default for page actions
//       launchTimeout: 90000,      // chromium's start: seconds on a loaded
//                                  // machine (seen: > 15 s at load 20 on 2
//                                  // cores, under ASan); bounded all the same
//       args: [],                  // extra chromium switches
//       contextOptions: {},        // viewport, locale, ignoreHTTPSErrors, ...
//   });
//   ... page.goto(url), page.fill(...), context.cookies() ...
//   await close();                 // closes chromium, waits until all its
//                                  // processes are gone, deletes the profile;
//                                  // idempotent
//
//   chromiumAvailable() -> true when the executable exists
//
// Each launch gets a fresh --user-data-dir (a temporary directory), which is
// also its XDG_CONFIG_HOME, so that crash reports stay in it too. Chromium
// runs as root here, so it gets --no-sandbox, plus --disable-gpu, no
// background networking, component updates or first-run UI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { waitFor, killGroup } from './ports.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-dev-shm-usage',
];

export function chromiumAvailable(p = CHROMIUM) {
    return fs.existsSync(p);
}

function readProc(pid, file) {
    try {
        return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
        return '';
    }
}

function pgidOf(pid) {
    const stat = readProc(pid, 'stat');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) || null;
}

function procPids() {
    return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
}

/** Processes of the chromium that uses dir: the browser's group (its
 * helpers) plus the crash handlers, which start sessions of their own. */
function chromiumProcesses(dir) {
    const flag = `--user-data-dir=${dir}`;
    const mine = procPids().filter((p) => readProc(p, 'cmdline').includes(dir));
    const browser = mine.find((p) => readProc(p, 'cmdline').split('\0').includes(flag));
    const pgid = browser ? pgidOf(browser) : null;
    // Playwright starts chromium in a group of its own; never signal ours.
    return { pgid: pgid && pgid !== pgidOf(process.pid) ? pgid : null, pids: mine };
}

/** True once none of them exists any more, zombies included. */
function allGone({ pgid, pids }) {
    const alive = new Set(procPids());
    return !pids.some((p) => alive.has(p)) && !(pgid && [...alive].some((p) => pgidOf(p) === pgid));
}

// Profiles of browsers not closed: removed when this process exits (chromium
// itself goes with playwright's pipe).
const profiles = new Set();
process.on('exit', () => {
    for (const d of profiles) fs.rmSync(d, { recursive: true, force: true });
});

/** Launches chromium; see the top of this file. */
export async function launchBrowser({
    executablePath = CHROMIUM,
    timeout = 15000,
    launchTimeout = 90000,
    args = [],
    contextOptions = {},
} = {}) {
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mao2-chromium-'));
    profiles.add(userDataDir);
    let context;
    try {
        context = await chromium.launchPersistentContext(userDataDir, {
            executablePath,
            headless: true,
            timeout: launchTimeout,
            args: [...ARGS, ...args],
            env: { ...process.env, XDG_CONFIG_HOME: userDataDir },
            ...contextOptions,
        });
    } catch (e) {
        fs.rmSync(userDataDir, { recursive: true, force: true });
        throw e;
    }
    const procs = chromiumProcesses(userDataDir);
    context.setDefaultTimeout(timeout);
    const page = context.pages()[0] ?? (await context.newPage());
    let closed = false;
    return {
        browser: context.browser(),
        context,
        page,
        userDataDir,
        async close() {
            if (closed) return;
            closed = true;
            await context.close().catch(() => {});
            if (procs.pgid) killGroup(procs.pgid, 'SIGKILL');
            // Orphaned helpers exit by themselves and are reaped by init.
            await waitFor(() => allGone(procs), { timeout: 5000, interval: 50, what: 'chromium processes to go' }).catch(() => {});
            fs.rmSync(userDataDir, { recursive: true, force: true });
            profiles.delete(userDataDir);
        },
    };
}
