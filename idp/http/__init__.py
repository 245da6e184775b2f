"""HTTP plumbing every front end shares (protocol endpoints, pages, the admin console): response
headers and the Content-Security-Policy, the client's address behind trusted proxies. Nothing here
knows a protocol or a page."""
