// A department site built on express-openid-connect (Auth0's Express middleware), logging people in
// with the authorization code flow and response_mode=form_post: the identity server posts the code
// to /callback from the browser.
//
// Settings come from the environment:
//   RP_ISSUER          issuer identifier of the identity server (discovery starts there)
//   RP_BASE_URL        this site's URL, http://127.0.0.1:RP_PORT (the redirect URI is RP_BASE_URL/callback)
//   RP_PORT            the loopback port to listen on
//   RP_CLIENT_ID       client_id
//   RP_CLIENT_SECRET   client secret (client_secret_basic)
//   RP_SESSION_SECRET  a long random value the middleware encrypts its cookies with
//
// Prints {"step":"listening"} once it accepts connections. Every page needs a login; "/" shows the
// person as the validated ID token names them: <span id="sub">, <span id="name">.
import express from 'express'
import eoc from 'express-openid-connect'

const env = process.env
const { auth } = eoc
const escape = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const app = express()
app.use(auth({
  issuerBaseURL: env.RP_ISSUER,
  baseURL: env.RP_BASE_URL,
  clientID: env.RP_CLIENT_ID,
  clientSecret: env.RP_CLIENT_SECRET,
  secret: env.RP_SESSION_SECRET,
  authRequired: true,
  idpLogout: false,
  authorizationParams: { response_type: 'code', response_mode: 'form_post', scope: 'openid profile' },
}))

app.get('/', (req, res) => {
  const user = req.oidc.user
  res.type('html').send(`<!doctype html><meta charset="utf-8"><title>express-openid-connect</title>
<p>已登录：<span id="name">${escape(user.name)}</span> (<span id="sub">${escape(user.sub)}</span>)</p>`)
})

app.use((err, req, res, next) => {
  process.stderr.write(`error: ${err?.stack || err}\n`)
  res.status(err.status || 500).type('text').send(`error: ${err?.message || err}`)
})

const server = app.listen(Number(env.RP_PORT), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ step: 'listening' }) + '\n')
})
process.stdin.on('end', () => server.close(() => process.exit(0)))
process.stdin.resume()
