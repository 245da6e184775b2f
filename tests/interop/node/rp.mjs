// A relying party built on the openid-client library, driven step by step over stdin/stdout.
//
// Settings come from the environment:
//   RP_ISSUER         issuer identifier of the identity server (discovery starts there)
//   RP_CLIENT_ID      client_id
//   RP_CLIENT_SECRET  client secret; when empty the client is public (token_endpoint_auth_method none)
//   RP_REDIRECT_URI   redirect_uri registered for the client
//   RP_SCOPE          requested scope (default "openid profile")
//
// Conversation, one JSON object per line on stdout:
//   -> {"step":"authorize","url":...}         then reads the callback URL (one line) from stdin
//   -> {"step":"tokens",...}                  then reads one line ("revoke") from stdin
//   -> {"step":"revoked",...}                 and exits 0
// Any failure prints {"step":"error",...} and exits 1.
import * as client from 'openid-client'
import * as readline from 'node:readline'

const env = process.env
const lines = readline.createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]()

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

async function nextLine(what) {
  const { value, done } = await lines.next()
  if (done) throw new Error(`stdin closed while waiting for ${what}`)
  return value.trim()
}

function describe(err) {
  const out = { name: err?.name, message: err?.message, code: err?.code }
  if (err?.error) out.error = err.error
  if (err?.error_description) out.error_description = err.error_description
  if (err?.status) out.status = err.status
  if (err?.cause && typeof err.cause === 'object') {
    try { out.cause = JSON.parse(JSON.stringify(err.cause)) } catch { out.cause = String(err.cause) }
  }
  return out
}

async function main() {
  for (const name of ['RP_ISSUER', 'RP_CLIENT_ID', 'RP_REDIRECT_URI']) {
    if (!env[name]) throw new Error(`${name} is not set`)
  }
  const secret = env.RP_CLIENT_SECRET || ''
  const clientAuth = secret ? client.ClientSecretBasic(secret) : client.None()
  const metadata = secret ? { client_secret: secret } : {}

  // Plain http is accepted only because the server listens on loopback in the tests.
  const config = await client.discovery(new URL(env.RP_ISSUER), env.RP_CLIENT_ID, metadata, clientAuth, {
    execute: [client.allowInsecureRequests],
  })
  const server = config.serverMetadata()

  const codeVerifier = client.randomPKCECodeVerifier()
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: env.RP_REDIRECT_URI,
    scope: env.RP_SCOPE || 'openid profile',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  say({ step: 'authorize', url: url.href, state, nonce, issuer: server.issuer })

  const callback = new URL(await nextLine('the callback URL'))
  // Validates state, the RFC 9207 iss parameter, the token response and the ID token
  // (signature against jwks_uri, iss, aud, azp, exp, iat, nonce).
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  })
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)

  if (!tokens.refresh_token) throw new Error('the token response carried no refresh_token')
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  const refreshedClaims = refreshed.id_token ? refreshed.claims() : null
  say({
    step: 'tokens',
    id_token_claims: claims,
    token_type: tokens.token_type,
    expires_in: tokens.expiresIn(),
    scope: tokens.scope,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    userinfo,
    refreshed: {
      access_token: refreshed.access_token,
      refresh_token: refreshed.refresh_token || null,
      id_token_claims: refreshedClaims,
    },
  })

  const command = await nextLine('the revoke command')
  if (command !== 'revoke') throw new Error(`unexpected command ${JSON.stringify(command)}`)
  const target = refreshed.refresh_token || tokens.refresh_token
  await client.tokenRevocation(config, target, { token_type_hint: 'refresh_token' })
  say({ step: 'revoked', token: target, token_type_hint: 'refresh_token' })
}

main().then(
  () => process.exit(0),
  (err) => {
    say({ step: 'error', error: describe(err) })
    process.exit(1)
  },
)
