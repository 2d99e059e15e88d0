//! The site CA, site certificates and what a certificate says about its holder.
//!
//! A site certificate names its site three ways: the subject CN, a DNS name (so TLS clients can
//! check the upstream by its site id whatever its address) and a `urn:govbox:site:` URI that
//! also carries the tier and parent. The URI is what the receiver trusts: it is how the
//! province knows, from a township's certificate relayed by a county, that the township
//! really is that county's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use super::ReplicationError;
use crate::site::{valid_site_id, Tier};

const URN_PREFIX: &str = "urn:govbox:site:";
/// Site certificates last two years and a bit; `replication status` warns 30 days ahead.
pub const DEFAULT_DAYS: u32 = 825;
const CA_DAYS: u32 = 20 * 366;

/// Who a certificate says its holder is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteIdentity {
    pub site: String,
    pub tier: Tier,
    /// Empty for the province.
    pub parent: String,
}

/// The files of a site's TLS identity, under `storage.pki_dir`.
#[derive(Debug, Clone)]
pub struct PkiFiles {
    pub dir: PathBuf,
}

impl PkiFiles {
    pub fn new(dir: &Path) -> PkiFiles {
        PkiFiles {
            dir: dir.to_path_buf(),
        }
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("site.key")
    }
    pub fn csr(&self) -> PathBuf {
        self.dir.join("site.csr")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("site.crt")
    }
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    /// The key and CSR of a rotation in progress; installing their certificate promotes them.
    pub fn next_key(&self) -> PathBuf {
        self.dir.join("site.next.key")
    }
    pub fn next_csr(&self) -> PathBuf {
        self.dir.join("site.next.csr")
    }
}

/// A CSR naming the site (CN = site id, OU = tier). Only the public key is taken from it when
/// the CA signs: the CA decides what the certificate says.
pub fn csr_pem(key: &KeyPair, site_id: &str, tier: Tier) -> Result<String, ReplicationError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err("证书请求"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, site_id.to_string());
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, tier.as_str());
    params
        .serialize_request(key)
        .and_then(|c| c.pem())
        .map_err(tls_err("证书请求"))
}

/// Creates the CA key and self-signed certificate in `dir`; refuses to overwrite one.
pub fn ca_init(dir: &Path, name: &str) -> Result<PathBuf, ReplicationError> {
    let key_path = dir.join("ca.key");
    let cert_path = dir.join("ca.crt");
    if key_path.exists() || cert_path.exists() {
        return Err(ReplicationError::Refused(format!(
            "{} 已经有 CA，不会覆盖（覆盖会让所有已签发的站点证书失效）",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let key = KeyPair::generate().map_err(tls_err("CA 密钥"))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err("CA"))?;
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "govbox");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(CA_DAYS.into());
    params.serial_number = Some(random_serial());
    let cert = params.self_signed(&key).map_err(tls_err("CA"))?;
    write_new(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_new(&cert_path, cert.pem().as_bytes(), 0o644)?;
    Ok(cert_path)
}

/// What the CA puts into a site certificate.
pub struct IssueRequest<'a> {
    pub csr_pem: &'a str,
    pub identity: SiteIdentity,
    pub days: u32,
}

/// Signs a site certificate from its CSR and returns it as PEM. The CSR's CN must name the
/// site being issued for, so a CSR sent with the wrong file name is caught here.
pub fn ca_issue(ca_dir: &Path, req: IssueRequest<'_>) -> Result<String, ReplicationError> {
    let id = &req.identity;
    check_identity(id)?;
    if !(1..=3650).contains(&req.days) {
        return Err(ReplicationError::Refused(
            "有效期须在 1 到 3650 天之间".into(),
        ));
    }
    let (ca_cert, ca_key) = load_ca(ca_dir)?;
    let mut csr = CertificateSigningRequestParams::from_pem(req.csr_pem)
        .map_err(|e| ReplicationError::Refused(format!("证书请求无法解析或签名不对: {e}")))?;
    let cn = csr
        .params
        .distinguished_name
        .get(&DnType::CommonName)
        .and_then(dn_text);
    if cn.as_deref() != Some(id.site.as_str()) {
        return Err(ReplicationError::Refused(format!(
            "证书请求是站点 {:?} 的，不是 {:?} 的：检查是不是拿错了文件",
            cn.unwrap_or_default(),
            id.site
        )));
    }
    let now = time::OffsetDateTime::now_utc();
    let p = &mut csr.params;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, id.site.clone());
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, id.tier.as_str());
    p.subject_alt_names = vec![
        SanType::DnsName(ia5(&id.site)?),
        SanType::URI(ia5(&identity_urn(id))?),
    ];
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.not_before = now - time::Duration::hours(1);
    p.not_after = now + time::Duration::days(req.days.into());
    p.serial_number = Some(random_serial());
    p.use_authority_key_identifier_extension = true;
    let cert = csr
        .signed_by(&ca_cert, &ca_key)
        .map_err(tls_err("签发证书"))?;
    let pem = cert.pem();
    let issued = ca_dir.join("issued");
    std::fs::create_dir_all(&issued).map_err(io_err(&issued))?;
    let record = issued.join(format!("{}-{}.crt", id.site, now.unix_timestamp()));
    write_new(&record, pem.as_bytes(), 0o644)?;
    Ok(pem)
}

/// Loads the CA for signing. The issuer is rebuilt from the CA certificate's own parameters so
/// the certificates it signs name it exactly.
fn load_ca(ca_dir: &Path) -> Result<(rcgen::Certificate, KeyPair), ReplicationError> {
    let key_path = ca_dir.join("ca.key");
    let cert_path = ca_dir.join("ca.crt");
    let key_pem = std::fs::read_to_string(&key_path).map_err(|e| {
        ReplicationError::Refused(format!(
            "读不到 CA 密钥 {} ({e})：先在省数据中心运行 govbox ca init",
            key_path.display()
        ))
    })?;
    let cert_pem = std::fs::read_to_string(&cert_path).map_err(io_err(&cert_path))?;
    let key = KeyPair::from_pem(&key_pem).map_err(tls_err("CA 密钥"))?;
    let params = CertificateParams::from_ca_cert_pem(&cert_pem).map_err(tls_err("CA 证书"))?;
    let cert = params.self_signed(&key).map_err(tls_err("CA"))?;
    Ok((cert, key))
}

/// Reads the identity a certificate claims, without checking who signed it.
pub fn identity_of(der: &[u8]) -> Result<SiteIdentity, ReplicationError> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| ReplicationError::BadCertificate(format!("证书无法解析: {e}")))?;
    let san = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .ok_or_else(|| ReplicationError::BadCertificate("证书没有站点标识 (SAN)".into()))?;
    for name in &san.value.general_names {
        if let GeneralName::URI(uri) = name {
            if let Some(rest) = uri.strip_prefix(URN_PREFIX) {
                return parse_urn(rest);
            }
        }
    }
    Err(ReplicationError::BadCertificate(
        "证书不是 govbox 站点证书（没有 urn:govbox:site 标识）".into(),
    ))
}

/// Checks that `cert` was issued by our CA, is valid now, and may be used as a client; returns
/// the identity it names. Used for certificates that arrive inside a relayed batch.
pub fn verify_site_cert(
    ca: &CertificateDer<'static>,
    cert: &CertificateDer<'_>,
) -> Result<SiteIdentity, ReplicationError> {
    let anchor = webpki::anchor_from_trusted_cert(ca)
        .map_err(|e| ReplicationError::BadCertificate(format!("CA 证书无效: {e}")))?;
    let ee = webpki::EndEntityCert::try_from(cert)
        .map_err(|e| ReplicationError::BadCertificate(format!("证书无法解析: {e}")))?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        UnixTime::now(),
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map_err(|e| ReplicationError::BadCertificate(format!("证书不是本 CA 签发的或已过期: {e}")))?;
    identity_of(cert)
}

/// The identity and TLS material of this site, loaded once at start.
pub struct SiteTls {
    pub identity: SiteIdentity,
    pub ca: CertificateDer<'static>,
    pub chain: Vec<CertificateDer<'static>>,
    pub cert_pem: String,
    key: PrivateKeyDer<'static>,
}

impl SiteTls {
    pub fn load(files: &PkiFiles) -> Result<SiteTls, ReplicationError> {
        let read = |p: PathBuf| {
            std::fs::read(&p).map_err(|e| {
                ReplicationError::Refused(format!(
                    "读不到 {} ({e})：先运行 govbox enrol 申请并安装站点证书",
                    p.display()
                ))
            })
        };
        let cert_pem = String::from_utf8_lossy(&read(files.cert())?).into_owned();
        let ca_pem = read(files.ca())?;
        let key_pem = read(files.key())?;
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReplicationError::BadCertificate(format!("site.crt: {e}")))?;
        let ca = CertificateDer::from_pem_slice(&ca_pem)
            .map_err(|e| ReplicationError::BadCertificate(format!("ca.crt: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| ReplicationError::BadCertificate(format!("site.key: {e}")))?;
        let first = chain
            .first()
            .ok_or_else(|| ReplicationError::BadCertificate("site.crt 是空的".into()))?;
        let identity = verify_site_cert(&ca, first)?;
        Ok(SiteTls {
            identity,
            ca,
            chain,
            cert_pem,
            key,
        })
    }

    fn roots(&self) -> Result<rustls::RootCertStore, ReplicationError> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.ca.clone())
            .map_err(|e| ReplicationError::BadCertificate(format!("ca.crt: {e}")))?;
        Ok(roots)
    }

    /// Server side of the replication listener: client certificates from our CA only.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, ReplicationError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(self.roots()?),
            provider.clone(),
        )
        .build()
        .map_err(|e| ReplicationError::BadCertificate(format!("客户端证书校验: {e}")))?;
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_err_r)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(tls_err_r)?;
        Ok(Arc::new(cfg))
    }

    /// Client side: the upstream must present a certificate of our CA naming its site id.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, ReplicationError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_err_r)?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(tls_err_r)
    }

    /// Days until this site's certificate expires (negative once expired).
    pub fn days_left(&self) -> i64 {
        days_left(&self.chain[0]).unwrap_or(0)
    }
}

pub fn days_left_file(path: &Path) -> Option<i64> {
    let pem = std::fs::read(path).ok()?;
    let der = CertificateDer::from_pem_slice(&pem).ok()?;
    days_left(&der)
}

/// The raw public key a certificate carries, to match it with a site key.
pub fn public_key_of(der: &[u8]) -> Result<Vec<u8>, ReplicationError> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| ReplicationError::BadCertificate(format!("证书无法解析: {e}")))?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

pub fn days_left(der: &[u8]) -> Option<i64> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let end = cert.validity().not_after.timestamp();
    Some((end - jiff::Timestamp::now().as_second()).div_euclid(86_400))
}

pub fn identity_urn(id: &SiteIdentity) -> String {
    let parent = if id.parent.is_empty() {
        "-"
    } else {
        &id.parent
    };
    format!("{URN_PREFIX}{}:{}:{parent}", id.site, id.tier.as_str())
}

fn parse_urn(rest: &str) -> Result<SiteIdentity, ReplicationError> {
    let bad = || ReplicationError::BadCertificate(format!("证书的站点标识无法解析: {rest}"));
    let mut parts = rest.split(':');
    let (Some(site), Some(tier), Some(parent), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let tier = match tier {
        "township" => Tier::Township,
        "county" => Tier::County,
        "province" => Tier::Province,
        _ => return Err(bad()),
    };
    let id = SiteIdentity {
        site: site.to_string(),
        tier,
        parent: if parent == "-" {
            String::new()
        } else {
            parent.to_string()
        },
    };
    check_identity(&id).map_err(|_| bad())?;
    Ok(id)
}

fn check_identity(id: &SiteIdentity) -> Result<(), ReplicationError> {
    if !valid_site_id(&id.site) {
        return Err(ReplicationError::Refused(format!(
            "站点标识 {:?} 不合法：2–32 个小写字母、数字或连字符",
            id.site
        )));
    }
    match (id.tier, id.parent.is_empty()) {
        (Tier::Province, false) => Err(ReplicationError::Refused(
            "省级站点没有上级：不要给 --parent".into(),
        )),
        (Tier::Township | Tier::County, true) => Err(ReplicationError::Refused(
            "乡镇和县级站点必须有上级：用 --parent 写上级站点标识".into(),
        )),
        (_, false) if !valid_site_id(&id.parent) => Err(ReplicationError::Refused(format!(
            "上级站点标识 {:?} 不合法",
            id.parent
        ))),
        _ => Ok(()),
    }
}

fn dn_text(v: &rcgen::DnValue) -> Option<String> {
    match v {
        rcgen::DnValue::Utf8String(s) => Some(s.clone()),
        rcgen::DnValue::PrintableString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

fn ia5(s: &str) -> Result<rcgen::Ia5String, ReplicationError> {
    rcgen::Ia5String::try_from(s.to_string()).map_err(tls_err("证书"))
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// Writes a file that must not exist yet, with its mode set before any content lands.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ReplicationError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Replaces a file atomically (temporary name, fsync, rename). The file takes the group of its
/// directory, so a key written by root in `/etc/govbox/pki` (root:govbox) stays readable by
/// the service.
pub fn replace_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ReplicationError> {
    use std::os::unix::fs::MetadataExt;
    let tmp = path.with_extension("tmp-install");
    let _ = std::fs::remove_file(&tmp);
    write_new(&tmp, bytes, mode)?;
    if let Some(dir) = path.parent().and_then(|d| std::fs::metadata(d).ok()) {
        std::os::unix::fs::chown(&tmp, None, Some(dir.gid())).map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ReplicationError + '_ {
    move |e| ReplicationError::Io(path.display().to_string(), e)
}

fn tls_err(what: &'static str) -> impl Fn(rcgen::Error) -> ReplicationError {
    move |e| ReplicationError::BadCertificate(format!("{what}: {e}"))
}

fn tls_err_r(e: rustls::Error) -> ReplicationError {
    ReplicationError::BadCertificate(format!("TLS 配置: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(site: &str, tier: Tier, parent: &str) -> SiteIdentity {
        SiteIdentity {
            site: site.into(),
            tier,
            parent: parent.into(),
        }
    }

    #[test]
    fn issued_certificate_names_the_site_and_verifies_against_the_ca_only() {
        let ca = tempfile::tempdir().unwrap();
        ca_init(ca.path(), "测试 CA").unwrap();
        assert!(
            ca_init(ca.path(), "again").is_err(),
            "never overwrites a CA"
        );
        let key = KeyPair::generate().unwrap();
        let csr = csr_pem(&key, "t1", Tier::Township).unwrap();
        let id = identity("t1", Tier::Township, "c1");
        let pem = ca_issue(
            ca.path(),
            IssueRequest {
                csr_pem: &csr,
                identity: id.clone(),
                days: 30,
            },
        )
        .unwrap();
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        let ca_der =
            CertificateDer::from_pem_slice(&std::fs::read(ca.path().join("ca.crt")).unwrap())
                .unwrap();
        assert_eq!(verify_site_cert(&ca_der, &der).unwrap(), id);

        let other = tempfile::tempdir().unwrap();
        ca_init(other.path(), "另一个 CA").unwrap();
        let other_der =
            CertificateDer::from_pem_slice(&std::fs::read(other.path().join("ca.crt")).unwrap())
                .unwrap();
        assert!(verify_site_cert(&other_der, &der).is_err());
    }

    #[test]
    fn csr_for_another_site_and_bad_identities_are_refused() {
        let ca = tempfile::tempdir().unwrap();
        ca_init(ca.path(), "CA").unwrap();
        let key = KeyPair::generate().unwrap();
        let csr = csr_pem(&key, "t1", Tier::Township).unwrap();
        let issue = |id: SiteIdentity| {
            ca_issue(
                ca.path(),
                IssueRequest {
                    csr_pem: &csr,
                    identity: id,
                    days: 30,
                },
            )
        };
        assert!(issue(identity("t2", Tier::Township, "c1")).is_err());
        assert!(issue(identity("t1", Tier::Township, "")).is_err());
        assert!(issue(identity("t1", Tier::Province, "c1")).is_err());
        assert!(issue(identity("T 1", Tier::Township, "c1")).is_err());
        assert!(ca_issue(
            ca.path(),
            IssueRequest {
                csr_pem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                identity: identity("t1", Tier::Township, "c1"),
                days: 30,
            }
        )
        .is_err());
    }

    #[test]
    fn urn_round_trips_and_rejects_junk() {
        let id = identity("gx-province", Tier::Province, "");
        let urn = identity_urn(&id);
        assert_eq!(
            parse_urn(urn.strip_prefix(URN_PREFIX).unwrap()).unwrap(),
            id
        );
        for junk in ["a:township", "a:city:b", "a:township:b:c", "A:township:b"] {
            assert!(parse_urn(junk).is_err(), "{junk}");
        }
    }
}
