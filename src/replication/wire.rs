//! What travels on the replication link: JSON, zstd-compressed, with hard size limits on both
//! the compressed body and what it inflates to.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::ReplicationError;

/// Most changes one batch may carry, whatever the sender's settings.
pub const MAX_CHANGES: usize = 10_000;
/// What a body may inflate to: a zip bomb stops here.
pub const MAX_INFLATED: u64 = 64 << 20;

/// `POST /replication/v1/hello`: the sender says who it is and how far its log goes; the
/// receiver answers what it holds of every origin the sender may send.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The sender's own change-log high-water seq.
    pub high_water: i64,
    /// What the sender knows of the sites below it, so the top sees them even when idle.
    #[serde(default)]
    pub reported: BTreeMap<String, Reported>,
}

/// A relayed site's own high-water seq and when it last contacted the relay.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reported {
    pub seq: i64,
    pub last_contact: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Acked {
    /// The receiver's last applied seq for each origin it knows from this sender.
    pub acked: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Certificates of relayed origins that the receiver may not know yet (PEM), so it can check
    /// from our CA's signature that each really sits below the sender.
    #[serde(default)]
    pub certs: BTreeMap<String, String>,
    /// What the sender knows of the sites below it, for lag and silence alarms at the top.
    #[serde(default)]
    pub reported: BTreeMap<String, Reported>,
    pub origins: Vec<OriginChanges>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginChanges {
    pub origin: String,
    /// The sender's view of the receiver's acknowledged seq for this origin; the first change
    /// continues it.
    pub after: i64,
    /// Set when the origin lost seqs `after+1 ..= skip_to` (restored from an older backup):
    /// the first change is then `skip_to + 1`, and the receiver records the gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_to: Option<i64>,
    pub changes: Vec<Change>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub seq: i64,
    pub entity: String,
    pub key: String,
    pub op: String,
    pub payload: Box<RawValue>,
    pub at: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blobs: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobQuery {
    pub hashes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobAnswer {
    pub missing: Vec<String>,
}

/// An error answer: a stable code for programs and a Chinese message for people.
#[derive(Debug, Serialize, Deserialize)]
pub struct Refusal {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<BTreeMap<String, i64>>,
}

pub fn encode<T: Serialize>(value: &T, level: i32) -> Result<(Vec<u8>, usize), ReplicationError> {
    let json =
        serde_json::to_vec(value).map_err(|e| ReplicationError::Protocol(format!("编码: {e}")))?;
    let packed = zstd::bulk::compress(&json, level)
        .map_err(|e| ReplicationError::Protocol(format!("压缩: {e}")))?;
    Ok((packed, json.len()))
}

/// Inflates (if `zstd`) and parses a body, refusing anything that grows past
/// [`MAX_INFLATED`] or is not exactly the expected JSON.
pub fn decode<T: for<'de> Deserialize<'de>>(
    body: &[u8],
    zstd: bool,
) -> Result<T, ReplicationError> {
    let json = if zstd {
        let mut out = Vec::new();
        zstd::stream::Decoder::new(body)
            .map_err(|e| ReplicationError::Protocol(format!("解压失败: {e}")))?
            .take(MAX_INFLATED + 1)
            .read_to_end(&mut out)
            .map_err(|e| ReplicationError::Protocol(format!("解压失败: {e}")))?;
        if out.len() as u64 > MAX_INFLATED {
            return Err(ReplicationError::TooLarge(format!(
                "解压后超过 {} MiB",
                MAX_INFLATED >> 20
            )));
        }
        out
    } else {
        body.to_vec()
    };
    serde_json::from_slice(&json)
        .map_err(|e| ReplicationError::Protocol(format!("JSON 格式不对: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let b = Batch {
            certs: BTreeMap::new(),
            reported: BTreeMap::new(),
            origins: vec![OriginChanges {
                origin: "t1".into(),
                after: 0,
                skip_to: None,
                changes: vec![Change {
                    seq: 1,
                    entity: "user".into(),
                    key: "1".into(),
                    op: "insert".into(),
                    payload: RawValue::from_string(r#"{"a":1}"#.into()).unwrap(),
                    at: "2026-01-01T00:00:00Z".into(),
                    blobs: vec![],
                }],
            }],
        };
        let (packed, raw) = encode(&b, 3).unwrap();
        assert!(raw > 0);
        let back: Batch = decode(&packed, true).unwrap();
        assert_eq!(back.origins[0].changes[0].payload.get(), r#"{"a":1}"#);

        let bomb = zstd::bulk::compress(&vec![b' '; (MAX_INFLATED + 10) as usize], 3).unwrap();
        assert!(matches!(
            decode::<Batch>(&bomb, true),
            Err(ReplicationError::TooLarge(_))
        ));
        assert!(decode::<Batch>(b"not zstd", true).is_err());
        assert!(decode::<Batch>(br#"{"origins":[], "extra":1}"#, false).is_err());
    }
}
