//! The certificate files of `rediss://` URLs (`--tls-ca`, `--tls-cert`, `--tls-key`): read and
//! checked when a TLS URL is parsed, so that a file rlock cannot use is named before any
//! connection, then handed to redis-rs.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use redis::{ClientTlsConfig, TlsCertificates};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Certificate files for `rediss://` URLs (paths; read when a TLS URL is parsed).
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// CA certificates to trust instead of the system's.
    pub ca: Option<PathBuf>,
    /// A client certificate and its key, for servers that require one.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

const CA: &str = "the TLS CA file (--tls-ca, RLOCK_TLS_CA)";
const CERT: &str = "the TLS client certificate (--tls-cert, RLOCK_TLS_CERT)";
const KEY: &str = "the TLS client key (--tls-key, RLOCK_TLS_KEY)";

impl TlsFiles {
    /// The certificates as redis-rs takes them, once checked: CA certificates rustls accepts as
    /// trust anchors, and a client certificate with the key that belongs to it.
    pub(crate) fn load(&self) -> Result<TlsCertificates> {
        let root_cert = match &self.ca {
            Some(path) => {
                let pem = read_pem(path, CA)?;
                check_ca(&pem, path)?;
                Some(pem)
            }
            None => None,
        };
        let client_tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let client_cert = read_pem(cert, CERT)?;
                let client_key = read_pem(key, KEY)?;
                check_pair(&client_cert, cert, &client_key, key)?;
                Some(ClientTlsConfig { client_cert, client_key })
            }
            (None, None) => None,
            _ => bail!(
                "--tls-cert and --tls-key (RLOCK_TLS_CERT, RLOCK_TLS_KEY) go together: give both"
            ),
        };
        Ok(TlsCertificates { client_tls, root_cert })
    }
}

/// The contents of a PEM file.
fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>> {
    let pem = std::fs::read(path).map_err(|err| {
        anyhow!("cannot read {what} '{}' ({err}): give a readable PEM file", path.display())
    })?;
    if !pem.windows(11).any(|window| window == b"-----BEGIN ") {
        bail!(
            "{what} '{}' is not in PEM format (-----BEGIN ...): give the PEM file, or convert a \
             DER one with openssl x509 -inform der -outform pem",
            path.display()
        );
    }
    Ok(pem)
}

/// The certificates of a PEM file: at least one.
fn certificates(pem: &[u8], path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs =
        CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|err| {
            anyhow!(
                "{what} '{}' has a certificate rlock cannot read ({err}): give PEM certificates",
                path.display()
            )
        })?;
    if certs.is_empty() {
        bail!(
            "{what} '{}' holds no certificate (-----BEGIN CERTIFICATE-----): give the \
             certificate's PEM file",
            path.display()
        );
    }
    Ok(certs)
}

/// Checks that every certificate of the CA file can be a trust anchor.
fn check_ca(pem: &[u8], path: &Path) -> Result<()> {
    let mut store = rustls::RootCertStore::empty();
    for cert in certificates(pem, path, CA)? {
        store.add(cert).map_err(|err| {
            anyhow!(
                "{CA} '{}' holds a certificate that cannot be a CA ({err}): give X.509 v3 CA \
                 certificates in PEM",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Checks that the client key is one rustls can sign with, and belongs to the certificate.
fn check_pair(cert_pem: &[u8], cert: &Path, key_pem: &[u8], key: &Path) -> Result<()> {
    let chain = certificates(cert_pem, cert, CERT)?;
    let private = PrivateKeyDer::from_pem_slice(key_pem).map_err(|err| {
        anyhow!(
            "{KEY} '{}' holds no private key rlock can read ({err}): give the key in PEM \
             (-----BEGIN PRIVATE KEY-----, or RSA or EC PRIVATE KEY)",
            key.display()
        )
    })?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain, private, &provider).map_err(|err| {
        anyhow!(
            "the TLS client certificate '{}' and key '{}' cannot be used together ({err}): give \
             the key that belongs to the certificate, with --tls-cert and --tls-key",
            cert.display(),
            key.display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate and its key, in PEM.
    fn self_signed() -> (String, String) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (made.cert.pem(), made.signing_key.serialize_pem())
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> Result<()> {
        let files = TlsFiles {
            ca: ca.map(Path::to_owned),
            cert: cert.map(Path::to_owned),
            key: key.map(Path::to_owned),
        };
        files.load().map(|_| ())
    }

    #[test]
    fn loads_good_files_and_names_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed();
        let (_, other_key) = self_signed();
        let ca = write(&dir, "ca.pem", &cert);
        let cert = write(&dir, "cert.pem", &cert);
        let key_file = write(&dir, "key.pem", &key);
        let other_key = write(&dir, "other.key", &other_key);
        let garbage = write(&dir, "garbage.pem", "not a certificate\n");
        let only_key = write(&dir, "only-key.pem", &key);

        assert!(load(None, None, None).is_ok());
        assert!(load(Some(&ca), Some(&cert), Some(&key_file)).is_ok());
        let message = |result: Result<()>| format!("{:#}", result.unwrap_err());
        let err = message(load(Some(&dir.path().join("none.pem")), None, None));
        assert!(err.contains("cannot read") && err.contains("none.pem"), "{err}");
        let err = message(load(Some(&garbage), None, None));
        assert!(err.contains("not in PEM format") && err.contains("--tls-ca"), "{err}");
        let err = message(load(Some(&only_key), None, None));
        assert!(err.contains("holds no certificate"), "{err}");
        let err = message(load(None, Some(&cert), Some(&other_key)));
        assert!(err.contains("cannot be used together") && err.contains("--tls-key"), "{err}");
        let err = message(load(None, Some(&cert), Some(&cert)));
        assert!(err.contains("holds no private key") && err.contains("--tls-key"), "{err}");
        let err = message(load(None, Some(&cert), None));
        assert!(err.contains("go together"), "{err}");
    }
}
