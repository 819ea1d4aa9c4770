//! Credentials as people set them up: Docker's `config.json` (`$DOCKER_CONFIG`, `auths`, `credsStore`,
//! `credHelpers`, identity tokens), then Podman's `auth.json` (`$REGISTRY_AUTH_FILE`). The
//! `docker_credential` crate reads both and runs `docker-credential-*` helpers.
//!
//! Secrets live only inside [`RegistryAuth`]; nothing here formats them.

use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

/// The credentials for `registry` (`host[:port]`, `index.docker.io` for Docker Hub), and, when there
/// are none, why (for the message of a later authorization failure).
pub(crate) fn credentials_for(registry: &str) -> (RegistryAuth, Option<String>) {
    let docker_error = match docker_credential::get_credential(registry) {
        Ok(credential) => return (to_auth(credential), None),
        Err(error) => error,
    };
    let podman_error = match docker_credential::get_podman_credential(registry) {
        Ok(credential) => return (to_auth(credential), None),
        Err(error) => error,
    };
    // The Docker config's problem (a failing helper, say) is the more telling one, unless it
    // simply has nothing for this registry.
    let error = match docker_error {
        CredentialRetrievalError::NoCredentialConfigured
        | CredentialRetrievalError::ConfigNotFound
        | CredentialRetrievalError::ConfigReadError => podman_error,
        helper_or_decoding => helper_or_decoding,
    };
    (RegistryAuth::Anonymous, Some(why_none(registry, &error)))
}

/// An identity token (what `docker login` stores for some registries) is sent as a Bearer token:
/// oci-client has no OAuth refresh-token exchange.
fn to_auth(credential: DockerCredential) -> RegistryAuth {
    match credential {
        DockerCredential::UsernamePassword(user, password) => RegistryAuth::Basic(user, password),
        DockerCredential::IdentityToken(token) => RegistryAuth::Bearer(token),
    }
}

/// Says why no credential was found, without the helper's output (it could hold secrets).
fn why_none(registry: &str, error: &CredentialRetrievalError) -> String {
    match error {
        CredentialRetrievalError::HelperFailure { helper, .. } => {
            format!("the credential helper {helper} failed for {registry}")
        }
        CredentialRetrievalError::HelperCommunicationError
        | CredentialRetrievalError::MalformedHelperResponse => {
            format!("the credential helper for {registry} could not be used")
        }
        CredentialRetrievalError::CredentialDecodingError
        | CredentialRetrievalError::CredentialMismatchError => {
            format!("the stored credentials for {registry} cannot be decoded")
        }
        _ => format!(
            "no credentials for {registry} in the Docker config ($DOCKER_CONFIG) or auth.json ($REGISTRY_AUTH_FILE)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(config: &str, registry: &str) -> Option<RegistryAuth> {
        docker_credential::get_credential_from_reader(config.as_bytes(), registry)
            .ok()
            .map(to_auth)
    }

    fn is_basic(auth: Option<RegistryAuth>, user: &str, password: &str) -> bool {
        matches!(auth, Some(RegistryAuth::Basic(u, p)) if u == user && p == password)
    }

    #[test]
    fn auths_entries_are_found_by_registry() {
        // "dTpw" is base64("u:p").
        let config = r#"{"auths": {"127.0.0.1:5000": {"auth": "dTpw"},
            "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
            "tok.example": {"identitytoken": "refresh-me"}}}"#;
        assert!(is_basic(lookup(config, "127.0.0.1:5000"), "u", "p"));
        assert!(is_basic(lookup(config, "index.docker.io"), "hub", "secret"));
        assert!(matches!(
            lookup(config, "tok.example"),
            Some(RegistryAuth::Bearer(t)) if t == "refresh-me"
        ));
        assert!(lookup(config, "127.0.0.1:5001").is_none());
    }

    #[test]
    fn failures_never_show_helper_output() {
        let error = CredentialRetrievalError::HelperFailure {
            helper: "docker-credential-x".into(),
            stdout: "s3cr3t".into(),
            stderr: "s3cr3t".into(),
        };
        let why = why_none("r", &error);
        assert!(!why.contains("s3cr3t"), "{why}");
    }
}
