// config.test.mjs: `apache2 -t` refuses every bad configuration with the
// directive's name in the message, and accepts the documented examples.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configtest } from './lib/apache.mjs';

const OK_SECRET = 'OAuth2Secret 0123456789abcdef0123456789abcdef-secret';
const BASE = `
OAuth2Provider https://accounts.example.com
OAuth2ClientID app
OAuth2ClientSecret s3cret
`;

async function check(text) {
    return configtest(text, { withModule: true });
}

describe('configuration test (apache2 -t)', () => {
    it('accepts a minimal provider configuration', async () => {
        const r = await check(`${BASE}${OK_SECRET}\n<Location /app>\nAuthType oauth2\nRequire valid-user\n</Location>\n`);
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /Syntax OK/);
    });

    const bad = [
        ['a missing OAuth2Secret', BASE, /OAuth2Secret: required/],
        ['a short OAuth2Secret', `${BASE}OAuth2Secret tooshort`, /OAuth2Secret: a secret needs at least 32/],
        ['a missing OAuth2ClientID', `OAuth2Provider https://a.example\n${OK_SECRET}`, /OAuth2ClientID: required/],
        ['a malformed issuer URL', `OAuth2Provider https://\nOAuth2ClientID a\n${OK_SECRET}`, /OAuth2Provider: 'https:\/\/' is not an absolute URL/],
        ['a non-http issuer URL', `OAuth2Provider ftp://a.example\nOAuth2ClientID a\n${OK_SECRET}`, /OAuth2Provider: .*is not an http or https URL/],
        ['a mistyped issuer URL', `OAuth2Provider htp:/nowhere\nOAuth2ClientID a\n${OK_SECRET}`, /OAuth2Provider: 'htp:\/nowhere' is neither an issuer URL nor a preset/],
        ['an issuer with a query', `OAuth2Provider https://a.example/?x=1\nOAuth2ClientID a\n${OK_SECRET}`, /OAuth2Provider: .*query/],
        ['an unknown preset', `OAuth2Provider facebook\nOAuth2ClientID a\n${OK_SECRET}`, /OAuth2Provider: 'facebook' is neither/],
        ['keycloak without its realm URL', `OAuth2Provider keycloak\nOAuth2ClientID a\n${OK_SECRET}`, /OAuth2Provider: keycloak needs the realm URL/],
        ['a non-numeric timeout', `${BASE}${OK_SECRET}\nOAuth2SessionTimeout 1h`, /OAuth2SessionTimeout: '1h' is not a whole number/],
        ['a negative clock skew', `${BASE}${OK_SECRET}\nOAuth2ClockSkew -5`, /OAuth2ClockSkew: '-5' is not a whole number/],
        ['an out-of-range HTTP timeout', `${BASE}${OK_SECRET}\nOAuth2HTTPTimeout 100000`, /OAuth2HTTPTimeout: .*outside/],
        ['an unknown endpoint kind', `${BASE}${OK_SECRET}\nOAuth2Endpoint tokens https://a.example/t`, /OAuth2Endpoint: unknown endpoint 'tokens'/],
        ['a bad client auth', `${BASE}${OK_SECRET}\nOAuth2ClientAuth jwt`, /OAuth2ClientAuth: must be basic or post/],
        ['a bad SameSite', `${BASE}${OK_SECRET}\nOAuth2CookieSameSite Sometimes`, /OAuth2CookieSameSite: must be Lax, Strict or None/],
        ['SameSite None without Secure', `${BASE}${OK_SECRET}\nOAuth2CookieSameSite None\nOAuth2CookieSecure Off`, /OAuth2CookieSameSite: None requires/],
        ['a bad cookie name', `${BASE}${OK_SECRET}\nOAuth2Cookie "a b"`, /OAuth2Cookie: a cookie name/],
        ['a bad prefix', `${BASE}${OK_SECRET}\nOAuth2Prefix oauth2/`, /OAuth2Prefix: must be a path/],
        ['a bad session store', `${BASE}${OK_SECRET}\nOAuth2SessionStore disk`, /OAuth2SessionStore: 'disk' is not/],
        ['a bad shm capacity', `${BASE}${OK_SECRET}\nOAuth2SessionStore shm:12`, /OAuth2SessionStore: '12' is outside/],
        ['an unset env: secret', `${BASE}OAuth2Secret env:OAUTH2_TEST_UNSET_VARIABLE`, /OAuth2Secret: environment variable OAUTH2_TEST_UNSET_VARIABLE is not set/],
        ['a missing file: secret', `${BASE}OAuth2Secret file:/nonexistent/secret`, /OAuth2Secret: cannot read \/nonexistent\/secret/],
        ['a reserved auth param', `${BASE}${OK_SECRET}\nOAuth2AuthParams "prompt=login state=x"`, /OAuth2AuthParams: 'state' is set by the module/],
        ['a bad unauth action', `${BASE}${OK_SECRET}\n<Location /x>\nOAuth2UnauthAction maybe\n</Location>`, /OAuth2UnauthAction: must be auto, login, 401, 403 or pass/],
        ['a bad PassClaims', `${BASE}${OK_SECRET}\n<Location /x>\nOAuth2PassClaims cookies\n</Location>`, /OAuth2PassClaims: must be headers, env, both or none/],
        ['a server directive in a Location', `${BASE}${OK_SECRET}\n<Location /x>\nOAuth2ClientID other\n</Location>`, /OAuth2ClientID not allowed in <Location> context/],
        ['two providers in one scope', `${BASE}${OK_SECRET}\nOAuth2Provider google`, /OAuth2Provider: is set twice/],
    ];
    // Apache has no end-of-line comments (issue 15): a pasted "# ..." after
    // a rule would have made "#", "admins" and "only" group names.
    const EOL = /no end-of-line comments/;
    const loc = (rule) => `${BASE}${OK_SECRET}\n<Location /x>\nAuthType oauth2\n${rule}\n</Location>`;
    bad.push(
        ['a comment after a group rule', loc('Require oauth2-group finance   # admins only'), EOL],
        ['a comment after quoted groups', loc('Require oauth2-group admins "site reliability"    # any of these groups'), EOL],
        ['a comment after a claim rule', loc('Require oauth2-claim hd:example.com # Workspace'), EOL],
        ['a comment after an email-domain rule', loc('Require oauth2-email-domain example.com #staff'), EOL],
        ['a comment after the issuer', `OAuth2Provider https://accounts.example.com #the-issuer\nOAuth2ClientID a\n${OK_SECRET}`, EOL],
        ['a comment after a secret', `${BASE}${OK_SECRET} # made with openssl`, EOL],
        ['a comment after allowed hosts', `${BASE}${OK_SECRET}\nOAuth2AllowedRedirectHosts a.example.com # and b`, EOL],
        ['a quoted argument starting with #', `${BASE}${OK_SECRET}\nOAuth2Scope "#openid"`, EOL],
    );
    // What would stop a start or fail every request fails `apache2 -t`
    // (issue 15): configtest runs check_config, never post_config.
    const vhost = (inside) => `Listen 127.0.0.1:1\n<VirtualHost 127.0.0.1:1>\nServerName v.example\n${inside}\n</VirtualHost>`;
    bad.push(
        ['a redis store without mod_socache_redis', `${BASE}${OK_SECRET}\nOAuth2SessionStore redis:127.0.0.1:6379`, /OA2006: OAuth2SessionStore redis:127.0.0.1:6379: no socache provider 'redis'/],
        ['a memcache store without mod_socache_memcache', `${BASE}${OK_SECRET}\nOAuth2SessionStore memcache:127.0.0.1:11211`, /OA2006: .*no socache provider 'memcache'/],
        ['OAuth2AcceptBearer On without OAuth2BearerAudience', loc('Require valid-user\nOAuth2AcceptBearer On'), /OA2302: OAuth2AcceptBearer on line \d+ .*needs OAuth2BearerAudience/],
        ['OAuth2AcceptBearer On with the audience in another Location', `${loc('Require valid-user\nOAuth2AcceptBearer On')}\n<Location /y>\nOAuth2BearerAudience a\n</Location>`, /OA2302/],
        ['AuthType oauth2 in a virtual host without a provider', `${OK_SECRET}\n${vhost('<Location /x>\nAuthType oauth2\nRequire valid-user\n</Location>')}`, /OA2009: AuthType on line \d+ .*has no OAuth2Provider/],
        ['AuthType oauth2 at server scope where no provider is', `${OK_SECRET}\n<Directory /srv>\nAuthType OAuth2\nRequire valid-user\n</Directory>`, /OA2009/],
    );
    for (const [what, text, want] of bad) {
        it(`refuses ${what}`, async () => {
            const r = await check(text);
            assert.notEqual(r.code, 0, `accepted: ${r.output}`);
            assert.match(r.output, want);
            if (want === EOL) assert.match(r.output, /line \d+/, 'the message names the line');
        });
    }

    const good = [
        ['a redis store with mod_socache_redis', `${BASE}${OK_SECRET}\nOAuth2SessionStore redis:127.0.0.1:6379`, ['socache_redis']],
        ['the bearer audience in the same Location', loc('Require valid-user\nOAuth2AcceptBearer On\nOAuth2BearerAudience api')],
        ['the bearer audience in an enclosing section', `${BASE}${OK_SECRET}\n<Directory /srv>\nOAuth2BearerAudience api\n<Files api.cgi>\nAuthType oauth2\nRequire valid-user\nOAuth2AcceptBearer On\n</Files>\n</Directory>`],
        ['AuthType oauth2 in a virtual host with its own provider', `${OK_SECRET}\n${vhost(`${BASE}<Location /x>\nAuthType oauth2\nRequire valid-user\n</Location>`)}`],
        ['AuthType oauth2 in a virtual host inheriting the provider', `${BASE}${OK_SECRET}\n${vhost('<Location /x>\nAuthType oauth2\nRequire valid-user\n</Location>')}`],
        ['OAuth2AcceptBearer Off without an audience', loc('Require valid-user\nOAuth2AcceptBearer Off')],
    ];
    for (const [what, text, modules = []] of good) {
        it(`accepts ${what}`, async () => {
            const r = await configtest(text, { withModule: true, modules });
            assert.equal(r.code, 0, r.output);
        });
    }

    it('warns (OA2012) about an OAuth2RedirectURI on a host that is not the virtual host\'s', async () => {
        const r = await check(`${OK_SECRET}\n${vhost(`${BASE}ServerAlias alias.example\nOAuth2RedirectURI https://elsewhere.example/oauth2/callback`)}`);
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /OA2012: OAuth2RedirectURI https:\/\/elsewhere.example\/oauth2\/callback is on host elsewhere.example/);
        for (const host of ['v.example', 'alias.example', 'V.EXAMPLE']) {
            const ok = await check(`${OK_SECRET}\n${vhost(`${BASE}ServerAlias alias.example\nOAuth2RedirectURI https://${host}/oauth2/callback`)}`);
            assert.equal(ok.code, 0, ok.output);
            assert.doesNotMatch(ok.output, /OA2012/, host);
        }
    });

    it('reads secrets from files and the environment', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oauth2-secret-'));
        const f = path.join(dir, 'secret');
        fs.writeFileSync(f, 'file-secret-0123456789abcdefghijklmnopqrstuvwxyz\n');
        fs.chmodSync(dir, 0o755);
        fs.chmodSync(f, 0o644);
        const r = await configtest(`${BASE}OAuth2Secret file:${f} env:OAUTH2_TEST_SECRET\n`, {
            withModule: true,
            env: { OAUTH2_TEST_SECRET: 'env-secret-0123456789abcdefghijklmnopqrstuvwxyz' },
        });
        fs.rmSync(dir, { recursive: true });
        assert.equal(r.code, 0, r.output);
    });
});
