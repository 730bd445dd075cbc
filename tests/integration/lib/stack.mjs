// stack.mjs: the usual test set-up around the module: a provider with one
// client for this Apache, an echo backend behind mod_proxy, and Apache with
// mod_auth_oauth2 configured for that provider.
//
//   const s = await startStack({
//       provider: {},        // startProvider options (clients are filled in)
//       client: {},          // extra client metadata (id 'app')
//       apache: {},          // createApache options (config is composed)
//       oauth2: '',          // extra server-scope OAuth2... lines
//       locations: (s) => '',// extra config text (Locations, ...), given the stack
//       backend: {},         // startBackend options (render)
//   });
//   s.op, s.backend, s.apache, s.clientId, s.clientSecret, s.secret
//   s.url(path), s.config() -> the module's config text
//   await s.stop()
//
// The default protected place is /app (proxied to the backend) and the
// public one /public (proxied too, no AuthType).
import { startProvider } from './provider.mjs';
import { createApache } from './apache.mjs';
import { startBackend } from './backend.mjs';
import { freePort } from './ports.mjs';

export const SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz';

export function moduleConfig(s, extra = '') {
    return `
OAuth2Provider ${s.op.issuer}
OAuth2ClientID ${s.clientId}
OAuth2ClientSecret ${s.clientSecret}
OAuth2Secret ${s.secret}
${extra}
`;
}

export async function startStack(opts = {}) {
    const s = { clientId: 'app', clientSecret: 'app-secret', secret: SECRET };
    const port = opts.apache?.port || (await freePort());
    s.backend = await startBackend(opts.backend);
    s.op = await startProvider({
        ...opts.provider,
        clients: [
            {
                client_id: s.clientId,
                client_secret: s.clientSecret,
                redirect_uris: [`http://127.0.0.1:${port}/oauth2/callback`],
                post_logout_redirect_uris: [`http://127.0.0.1:${port}/`, `http://127.0.0.1:${port}/public/bye`,
                    `http://127.0.0.1:${port}/oauth2/signed-out`],
                ...opts.client,
            },
            ...(opts.provider?.clients ?? []),
        ],
    });
    const locations = opts.locations ?? (() => '');
    s.apache = await createApache({
        withModule: true,
        logLevel: 'info auth_oauth2:debug',
        ...opts.apache,
        port,
        config: () => `
${moduleConfig(s, typeof opts.oauth2 === 'function' ? opts.oauth2(s) : (opts.oauth2 ?? ''))}
<Location /app>
    AuthType oauth2
    Require valid-user
    ProxyPass ${s.backend.url}/app
</Location>
<Location /public>
    ProxyPass ${s.backend.url}/public
</Location>
${locations(s)}
`,
    });
    await s.apache.start();
    s.url = (p) => s.apache.href(p);
    s.stop = async () => {
        await s.apache.stop();
        await s.op.stop();
        await s.backend.stop();
    };
    return s;
}
