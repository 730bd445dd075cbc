// installed.test.mjs: a login through the module as the Debian package
// installed and enabled it. tests/package/package-test.sh runs it between
// dpkg -i and dpkg --purge (./build.sh package-test); ./build.sh test does
// not, since it needs the package installed. The real apache2 starts with a
// generated config (tests/integration/lib/apache.mjs) that Includes the
// .load and .conf that a2enmod linked into /etc/apache2/mods-enabled: the
// LoadModule line and the module path are the package's own.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startProvider } from '../integration/lib/provider.mjs';
import { startBackend } from '../integration/lib/backend.mjs';
import { createApache } from '../integration/lib/apache.mjs';
import { freePort } from '../integration/lib/ports.mjs';
import { moduleConfig } from '../integration/lib/stack.mjs';
import { newBrowser, login } from '../integration/lib/http.mjs';

const PACKAGE = 'libapache2-mod-auth-oauth2';
const ENABLED = '/etc/apache2/mods-enabled';
const SO = '/usr/lib/apache2/modules/mod_auth_oauth2.so';

function dpkgQuery(field) {
    return execFileSync('dpkg-query', ['-W', `-f=\${${field}}`, PACKAGE], { encoding: 'utf8' });
}

describe('the installed package', () => {
    const s = { clientId: 'app', clientSecret: 'app-secret', secret: 'package-test-secret-0123456789abcdefghij' };
    before(async () => {
        assert.equal(dpkgQuery('Status'), 'install ok installed', `${PACKAGE} is installed`);
        const port = await freePort();
        s.backend = await startBackend();
        s.op = await startProvider({
            clients: [{
                client_id: s.clientId,
                client_secret: s.clientSecret,
                redirect_uris: [`http://127.0.0.1:${port}/oauth2/callback`],
            }],
        });
        s.apache = await createApache({
            port,
            withModule: false,
            logLevel: 'info auth_oauth2:debug',
            config: () => `
Include ${ENABLED}/auth_oauth2.load
Include ${ENABLED}/auth_oauth2.conf
${moduleConfig(s)}
<Location /app>
    AuthType oauth2
    Require valid-user
    ProxyPass ${s.backend.url}/app
</Location>
`,
        });
        await s.apache.start();
    });
    after(async () => {
        await s.apache?.stop();
        await s.op?.stop();
        await s.backend?.stop();
    });

    it('enabled the module with the LoadModule line of its .load, naming the file it installed', () => {
        const load = fs.readFileSync(`${ENABLED}/auth_oauth2.load`, 'utf8');
        assert.match(load, new RegExp(`^LoadModule auth_oauth2_module ${SO}$`, 'm'));
        const owner = execFileSync('dpkg', ['-S', SO], { encoding: 'utf8' });
        assert.equal(owner.trim(), `${PACKAGE}: ${SO}`);
    });

    it('logs a user in through Apache and hands the user to the backend', async () => {
        const b = newBrowser();
        const res = await login(b, s.apache.href('/app/page?x=1'));
        assert.equal(res.callback.status, 302);
        assert.equal(res.callback.headers.location, '/app/page?x=1');
        assert.equal(res.final.status, 200);
        const seen = res.final.json();
        assert.equal(seen.url, '/app/page?x=1');
        assert.equal(seen.headers['x-forwarded-user'], 'alice');
        await s.apache.waitForLog(/ - alice \[[^\]]+\] "GET \/app\/page\?x=1/, { log: 'access' });
    });

    it("speaks to the provider as the package's version (configure.ac's AC_INIT)", () => {
        const upstream = dpkgQuery('Version').replace(/-[^-]+$/, '');
        const token = s.op.requests.find((r) => r.endpoint === 'token');
        assert.ok(token, 'the module called the token endpoint');
        assert.equal(token.headers['user-agent'], `mod_auth_oauth2/${upstream}`);
    });
});
