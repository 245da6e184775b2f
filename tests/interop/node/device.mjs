// A device (kiosk, TV) on the openid-client library: OAuth 2.0 Device Authorization Grant (RFC 8628).
//
// Settings come from the environment:
//   RP_ISSUER         issuer identifier of the identity server (everything else comes from discovery)
//   RP_CLIENT_ID      client_id
//   RP_CLIENT_SECRET  client secret; when empty the client is public (token_endpoint_auth_method none)
//   RP_SCOPE          requested scope (default "openid profile")
//
// Conversation, one JSON object per line on stdout:
//   -> {"step":"device",...}   the user code and verification URIs to show; then it polls
//   -> {"step":"tokens",...}   once the person allowed it, and exits 0
// Any failure (the person denied, the code expired) prints {"step":"error",...} and exits 1.
import * as client from 'openid-client'

const env = process.env

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function describe(err) {
  const out = { name: err?.name, message: err?.message, code: err?.code }
  if (err?.error) out.error = err.error
  if (err?.error_description) out.error_description = err.error_description
  if (err?.status) out.status = err.status
  return out
}

async function main() {
  for (const name of ['RP_ISSUER', 'RP_CLIENT_ID']) {
    if (!env[name]) throw new Error(`${name} is not set`)
  }
  const secret = env.RP_CLIENT_SECRET || ''
  const clientAuth = secret ? client.ClientSecretBasic(secret) : client.None()
  const metadata = secret ? { client_secret: secret } : {}
  // Plain http is accepted only because the server listens on loopback in the tests.
  const config = await client.discovery(new URL(env.RP_ISSUER), env.RP_CLIENT_ID, metadata, clientAuth, {
    execute: [client.allowInsecureRequests],
  })

  const started = await client.initiateDeviceAuthorization(config, { scope: env.RP_SCOPE || 'openid profile' })
  say({
    step: 'device',
    device_authorization_endpoint: config.serverMetadata().device_authorization_endpoint,
    user_code: started.user_code,
    verification_uri: started.verification_uri,
    verification_uri_complete: started.verification_uri_complete,
    expires_in: started.expires_in,
    interval: started.interval,
  })

  // Polls at the interval, slowing down on slow_down; validates the ID token (signature, iss, aud, exp).
  const tokens = await client.pollDeviceAuthorizationGrant(config, started)
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  say({
    step: 'tokens',
    id_token_claims: claims,
    token_type: tokens.token_type,
    scope: tokens.scope,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token || null,
    userinfo,
  })
}

main().then(
  () => process.exit(0),
  (err) => {
    say({ step: 'error', error: describe(err) })
    process.exit(1)
  },
)
