// Passkeys (WebAuthn): log in with one (form.passkey-login) and add one on the account page
// (form.passkey-register). The server's options are JSON with base64url strings; the browser's API
// takes and returns ArrayBuffers, so both directions are converted here.
(function () {
  'use strict';

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    while (base64.length % 4) { base64 += '='; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = '';
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: fromBase64url(item.id) });
    });
  }

  function creationOptions(options) {
    return Object.assign({}, options, {
      challenge: fromBase64url(options.challenge),
      user: Object.assign({}, options.user, { id: fromBase64url(options.user.id) }),
      excludeCredentials: descriptors(options.excludeCredentials)
    });
  }

  function requestOptions(options) {
    return Object.assign({}, options, {
      challenge: fromBase64url(options.challenge),
      allowCredentials: descriptors(options.allowCredentials)
    });
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      out.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : null;
    }
    return out;
  }

  function postJSON(url, body, csrfToken) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken },
      body: JSON.stringify(body)
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (data) {
        if (!answer.ok) { throw new Error(data.error_description || answer.statusText); }
        return data;
      });
    });
  }

  function show(form, message) {
    var status = form.querySelector('.passkey-status');
    status.textContent = message;
    status.hidden = false;
  }

  function supported(form) {
    if (window.PublicKeyCredential && navigator.credentials) { return true; }
    show(form, form.dataset.unsupported);
    return false;
  }

  function failure(form, error) {
    // The person closed the dialog or the authenticator refused: DOMException NotAllowedError.
    show(form, error && error.name === 'NotAllowedError' ? form.dataset.cancelled : (error.message || String(error)));
  }

  function setUpLogin(form) {
    var button = form.querySelector('.passkey-start');
    button.addEventListener('click', function () {
      if (!supported(form)) { return; }
      var csrf = form.elements.csrf_token.value;
      var tx = form.elements.tx ? form.elements.tx.value : null;
      button.disabled = true;
      postJSON(form.dataset.optionsUrl, { tx: tx }, csrf).then(function (data) {
        form.elements.ceremony.value = data.ceremony;
        return navigator.credentials.get({ publicKey: requestOptions(data.publicKey) });
      }).then(function (credential) {
        form.elements.credential.value = JSON.stringify(credentialJSON(credential));
        form.submit();
      }).catch(function (error) {
        button.disabled = false;
        failure(form, error);
      });
    });
  }

  function setUpRegistration(form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (!supported(form)) { return; }
      var csrf = form.elements.csrf_token.value;
      var button = form.querySelector('button[type=submit]');
      var ceremony;
      button.disabled = true;
      postJSON(form.dataset.optionsUrl, {}, csrf).then(function (data) {
        ceremony = data.ceremony;
        return navigator.credentials.create({ publicKey: creationOptions(data.publicKey) });
      }).then(function (credential) {
        return postJSON(form.dataset.registerUrl, {
          ceremony: ceremony, credential: credentialJSON(credential), name: form.elements.name.value
        }, csrf);
      }).then(function (data) {
        window.location.assign(data.redirect_to);
      }).catch(function (error) {
        button.disabled = false;
        failure(form, error);
      });
    });
  }

  function start() {
    document.querySelectorAll('form.passkey-login').forEach(setUpLogin);
    document.querySelectorAll('form.passkey-register').forEach(setUpRegistration);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
